/**
 * Child processes of the benchmark: `wrangler dev` servers and one-shot `wrangler` CLI calls.
 *
 * Every child is spawned detached (its own process group), so stopping it with kill(-pid) also
 * stops the workerd processes wrangler starts. Every child is registered until it exits, and
 * `stopAll()` / `killAllNow()` end whatever is left on normal exit, on failure and on Ctrl-C.
 */
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { createWriteStream, readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
export const WRANGLER_JS = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

/** pid → { child, name } of children still running. */
const live = new Map();

/** Environment for every wrangler we start: no telemetry, no Request.cf fetch from workers.cloudflare.com. */
function childEnv(extra = {}) {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    NO_COLOR: "1",
    FORCE_COLOR: "0",
    ...extra,
  };
}

function register(child, name) {
  live.set(child.pid, { child, name });
  child.once("exit", () => live.delete(child.pid));
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** Synchronous last resort (process 'exit' handler): SIGKILL every process group still registered. */
export function killAllNow() {
  for (const pid of live.keys()) killGroup(pid, "SIGKILL");
  live.clear();
}

/** SIGTERM a child's group, wait up to `graceMs` for it to exit, then SIGKILL the group. */
export async function stopChild(child, graceMs = 4000) {
  if (!child || child.pid === undefined) return;
  const exited = child.exitCode !== null || child.signalCode !== null;
  if (!exited) {
    const done = new Promise((resolve) => child.once("exit", resolve));
    killGroup(child.pid, "SIGTERM");
    await Promise.race([done, sleep(graceMs)]);
  }
  // wrangler may exit before its workerd children: always sweep the group.
  killGroup(child.pid, "SIGKILL");
  live.delete(child.pid);
}

export async function stopAll() {
  await Promise.all([...live.values()].map(({ child }) => stopChild(child)));
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A free TCP port on 127.0.0.1 (bound and released; wrangler binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `wrangler <args>` to completion. Resolves { stdout, stderr, ms }; rejects with the output's
 * tail when it exits non-zero.
 */
export function wrangler(args, { cwd = ROOT, name = `wrangler ${args.slice(0, 3).join(" ")}` } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [WRANGLER_JS, ...args], {
      cwd,
      env: childEnv(),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    register(child, name);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      killGroup(child.pid, "SIGKILL"); // stray workerd, if any
      const ms = performance.now() - started;
      if (code === 0) resolve({ stdout, stderr, ms });
      else reject(new Error(`${name} failed (${signal ?? `exit ${code}`}):\n${tail(stderr || stdout, 25)}`));
    });
  });
}

export function tail(text, lines) {
  return String(text).trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Starts `wrangler dev` on 127.0.0.1:`port` with local state in `persistTo`, output to `logPath`.
 * Returns { url, child, logPath, stop() }. Does not wait for readiness (see waitForHttp).
 */
export function startDev({ name, config, port, inspectorPort, persistTo, vars = {}, logPath, cwd = ROOT }) {
  const args = [
    WRANGLER_JS,
    "dev",
    ...(config ? ["--config", config] : []),
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistTo,
    "--local",
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
    ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
  ];
  const log = createWriteStream(logPath);
  const child = spawn(process.execPath, args, { cwd, env: childEnv(), detached: true, stdio: ["ignore", "pipe", "pipe"] });
  register(child, name);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    logPath,
    stop: () => stopChild(child),
    logTail: async (lines = 30) => tail(await readFile(logPath, "utf8").catch(() => ""), lines),
  };
}

/**
 * Polls `url` until `check(response)` is true. Fails early if the server process exits, and after
 * `timeoutMs`.
 */
export async function waitForHttp(server, url, { headers = {}, check = (r) => r.ok, timeoutMs = 90_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`wrangler dev exited (${server.child.signalCode ?? server.child.exitCode}) before ${url} answered:\n${await server.logTail()}`);
    }
    try {
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (check(res)) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await sleep(250);
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000}s (last: ${last}):\n${await server.logTail()}`);
}

let ticksPerSecond = null;

/**
 * CPU time (user + system, ms) used so far by the processes of one process group: a `wrangler dev`
 * child and the workerd it runs (spawned detached, each is its own group), plus children they have
 * reaped. Read from /proc; null where there is none (not Linux). A process that exits unreaped takes
 * its time with it, so this is a floor, but wrangler and workerd live for the whole run.
 */
export function groupCpuMs(pgid) {
  if (pgid === undefined) return null;
  try {
    ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    let ticks = 0;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      let stat;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      } catch {
        continue; // exited meanwhile
      }
      // Fields after "(comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) !== pgid) continue;
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    }
    return (ticks * 1000) / ticksPerSecond;
  } catch {
    return null;
  }
}

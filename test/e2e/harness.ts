/// <reference types="node" />
// The e2e files' shared setup: a real `wrangler dev` (local D1, Durable Objects and Queues in a
// temporary persist dir, its own ADMIN_TOKEN) and Debian Chromium through playwright-core, its
// traffic limited to 127.0.0.1. Each file starts its own server on its own port, so files may run
// in parallel. Screenshots go to test-results/screenshots/.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = join(import.meta.dirname, "..", "..");
const SHOTS = join(ROOT, "test-results", "screenshots");
const BINDINGS = ["CONTROL_DB", "TENANT_DEFAULT", "TENANT_DEMO"];
const START_TIMEOUT_MS = 150_000;

export interface E2e {
  /** http://127.0.0.1:<port> of the wrangler dev server. */
  origin: string;
  adminToken: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** CSP violations and uncaught page errors seen by `page`, for a test to assert empty. */
  pageProblems: string[];
  /** An admin API request (`/admin/v1…`) with the server's ADMIN_TOKEN. */
  adminApi(method: string, path: string, body?: unknown): Promise<Response>;
  /** Signs `page` in to the console with the admin token; it lands on the tenant list. */
  signIn(): Promise<void>;
  /** Runs SQL on the server's own local CONTROL_DB (wrangler d1 execute on its persist dir). */
  controlSql(sql: string): void;
  /** Closes the browser, stops the server and removes its persist dir. */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * Migrates a fresh local D1, starts `wrangler dev` on `port` (a free one if not given) with
 * ADMIN_TOKEN and `vars`, waits for /healthz, then opens a Chromium page. Call from beforeAll with
 * a timeout above 150 s and `stop()` from afterAll; when this throws, it has cleaned up already.
 */
export async function startE2e(options: { persistPrefix: string; port?: number; vars?: Record<string, string>; clipboard?: boolean }): Promise<E2e> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The e2e project needs Debian Chromium at ${CHROMIUM}, which is missing. Install it with ` +
        "`apt-get update && apt-get install -y --no-install-recommends chromium` (.ci/run does this), or run the other projects only: `npx vitest run --project unit --project workers`.",
    );
  }
  mkdirSync(SHOTS, { recursive: true });
  const adminToken = `tsadmin_e2e_${randomBytes(18).toString("base64url")}`;
  const persistDir = mkdtempSync(join(tmpdir(), options.persistPrefix));
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;

  const stop = async () => {
    await browser?.close().catch(() => {});
    await stopServer(server);
    rmSync(persistDir, { recursive: true, force: true });
  };

  try {
    const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" };
    for (const binding of BINDINGS) {
      const applied = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", binding, "--local", "--persist-to", persistDir], { cwd: ROOT, env, encoding: "utf8" });
      if (applied.status !== 0) throw new Error(`migrations for ${binding} failed:\n${applied.stdout}\n${applied.stderr}`);
    }
    const port = options.port ?? (await freePort());
    const origin = `http://127.0.0.1:${port}`;
    const vars = Object.entries({ ADMIN_TOKEN: adminToken, ...options.vars }).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
    server = spawn(
      "npx",
      ["wrangler", "dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()), "--persist-to", persistDir, ...vars, "--show-interactive-dev-session=false"],
      { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    // wrangler prints --var values in its bindings table: keep the admin token out of any failure message.
    let serverLog = "";
    const keep = (chunk: unknown) => (serverLog += String(chunk).split(adminToken).join("<ADMIN_TOKEN>"));
    server.stdout!.on("data", keep);
    server.stderr!.on("data", keep);
    await waitForHealth(server, origin, () => serverLog, Date.now() + START_TIMEOUT_MS);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    // A fresh profile: nobody has signed in to the console yet.
    const context = await browser.newContext({ ...(options.clipboard ? { permissions: ["clipboard-read", "clipboard-write"] } : {}), viewport: { width: 1280, height: 860 } });
    // Only the local server: anything else (an avatar host, a font CDN) is aborted.
    await context.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());
    const page = await context.newPage();
    const pageProblems: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy|Refused to (execute|apply|load)/i.test(message.text())) pageProblems.push(message.text());
    });
    page.on("pageerror", (error) => pageProblems.push(`page error: ${error.message}`));

    return {
      origin,
      adminToken,
      browser,
      context,
      page,
      pageProblems,
      adminApi: (method, path, body) =>
        fetch(`${origin}/admin/v1${path}`, { method, headers: { Authorization: `Bearer ${adminToken}`, ...(body ? { "Content-Type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined }),
      signIn: async () => {
        await page.goto(`${origin}/admin/sign-in`);
        await page.fill("#f-token", adminToken);
        await Promise.all([page.waitForURL(`${origin}/admin/tenants`), page.click("button[type=submit]")]);
      },
      controlSql: (sql) => {
        const ran = spawnSync("npx", ["wrangler", "d1", "execute", "CONTROL_DB", "--local", "--persist-to", persistDir, "--command", sql], { cwd: ROOT, env, encoding: "utf8" });
        if (ran.status !== 0) throw new Error(`wrangler d1 execute failed:\n${ran.stdout}\n${ran.stderr}`);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForHealth(server: ChildProcess, origin: string, log: () => string, deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs) {
    if (server.exitCode !== null) throw new Error(`wrangler dev exited with ${server.exitCode}:\n${log().slice(-4000)}`);
    try {
      if ((await fetch(`${origin}/healthz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`wrangler dev did not answer ${origin}/healthz in time:\n${log().slice(-4000)}`);
}

/** SIGTERM to wrangler's process group (npx, wrangler, workerd), SIGKILL after 5 s. */
async function stopServer(server: ChildProcess | undefined): Promise<void> {
  if (!server?.pid || server.exitCode !== null) return;
  const pid = server.pid;
  const exited = new Promise((resolve) => server.once("exit", resolve));
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

#!/usr/bin/env node
// `npm start`: install if needed, apply every local D1 migration, make sure an admin token exists,
// start `wrangler dev` on $PORT (default 8787), wait until /healthz answers, print next steps.
// Node built-ins only, so it can run on a fresh clone before `npm ci`.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT || 8787);
const host = "127.0.0.1";
const origin = `http://${host}:${port}`;
const devVars = join(root, ".dev.vars");
const npx = process.platform === "win32" ? "npx.cmd" : "npx";
const say = (line = "") => process.stdout.write(`${line}\n`);

/** Runs a step quietly: one line when it works, its whole output when it fails. */
function run(command, args, label) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" } });
  if (result.status !== 0) {
    console.error(`✗ ${label} failed (exit ${result.status}):\n${result.stdout ?? ""}${result.stderr ?? ""}`);
    process.exit(result.status ?? 1);
  }
  return result.stdout ?? "";
}

// 1. Dependencies: a fresh clone (or a changed lock file) installs exactly what the lock file pins.
const installed = join(root, "node_modules", ".package-lock.json");
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(join(root, "package-lock.json")).mtimeMs) {
  say("› Installing dependencies (npm ci)…");
  run(process.platform === "win32" ? "npm.cmd" : "npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], "npm ci");
}

// 2. Local D1: the control database and every tenant database binding in wrangler.toml.
const bindings = [...readFileSync(join(root, "wrangler.toml"), "utf8").matchAll(/^\s*binding\s*=\s*"((?:CONTROL_DB)|(?:TENANT_[A-Z0-9_]+))"/gm)].map((m) => m[1]);
const migrated = bindings.map((binding) => {
  const output = run(npx, ["wrangler", "d1", "migrations", "apply", binding, "--local"], `Applying local D1 migrations to ${binding}`);
  const applied = /About to apply (\d+) migration/.exec(output)?.[1];
  return `${binding} ${applied ? `+${applied}` : "up to date"}`;
});
say(`› Local D1 migrations: ${migrated.join(", ")}`);

// 3. The operator token: $ADMIN_TOKEN wins; otherwise keep the one in .dev.vars, or create one there.
const vars = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
const existing = vars.match(/^ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?\s*$/m)?.[1];
const adminToken = process.env.ADMIN_TOKEN || existing || `tsadmin_${randomBytes(24).toString("base64url")}`;
if (adminToken !== existing) {
  const line = `ADMIN_TOKEN="${adminToken}"`;
  writeFileSync(devVars, existing ? vars.replace(/^ADMIN_TOKEN\s*=.*$/m, line) : `${vars}${vars && !vars.endsWith("\n") ? "\n" : ""}${line}\n`, { mode: 0o600 });
  say(`› Admin token ${process.env.ADMIN_TOKEN ? "taken from $ADMIN_TOKEN" : "generated"} and written to .dev.vars (git-ignored).`);
}

// 3b. Webhooks on a local run: a key for secrets at rest (generated once, then kept: changing it
// makes stored webhook secrets undecryptable), local receivers allowed (http://127.0.0.1), and a
// short retry base so a failed delivery's first retry comes within 10 s.
{
  let text = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
  const wanted = [
    ["WEBHOOK_SECRET_KEY", () => randomBytes(32).toString("base64")],
    ["WEBHOOK_ALLOW_LOOPBACK", () => "true"],
    ["WEBHOOK_RETRY_BASE_SECONDS", () => "5"],
  ];
  let changed = false;
  for (const [name, value] of wanted) {
    if (new RegExp(`^${name}\\s*=`, "m").test(text)) continue; // an existing value is kept
    text = `${text}${text && !text.endsWith("\n") ? "\n" : ""}${name}="${value()}"\n`;
    changed = true;
  }
  if (changed) {
    writeFileSync(devVars, text, { mode: 0o600 });
  }
}

// 4. wrangler dev, in the foreground of this process; Ctrl-C stops both. Its start-up chatter (banner,
// bindings table, the Request.cf lookup that fails offline, the cron notice) is held back and shown
// only if it fails to start; once it is up, its request and error lines pass through, minus that noise.
say(`› Starting wrangler dev on ${origin}…`);
const dev = spawn(npx, ["wrangler", "dev", "--port", String(port), "--ip", host, "--local", "--show-interactive-dev-session=false"], {
  cwd: root,
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  // Its own process group, so stopping it stops wrangler and workerd too, not just npx.
  detached: true,
});
const stopDev = (signal) => {
  try {
    process.kill(-dev.pid, signal);
  } catch {
    // already gone
  }
};
let ready = false;
let startupLog = "";
let skippingTrace = false;
const NOISE = [/Unable to fetch the `Request\.cf` object/, /getaddrinfo ENOTFOUND workers\.cloudflare\.com/, /GET \/healthz /];
function relay(chunk, stream) {
  const text = String(chunk);
  if (!ready) {
    startupLog += text;
    return;
  }
  for (const line of text.split(/(?<=\n)/)) {
    if (NOISE.some((pattern) => pattern.test(line))) {
      skippingTrace = true;
      continue;
    }
    if (skippingTrace && /^\s+at /.test(line)) continue;
    skippingTrace = false;
    stream.write(line);
  }
}
dev.stdout.on("data", (chunk) => relay(chunk, process.stdout));
dev.stderr.on("data", (chunk) => relay(chunk, process.stderr));
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stopDev(signal));
// `npm run admin` reads the origin from here, so it finds a server started on another $PORT.
const originFile = join(root, ".wrangler", "dev-origin");
dev.on("exit", (code) => {
  rmSync(originFile, { force: true });
  if (!ready) process.stderr.write(`✗ wrangler dev exited (${code}) before it answered:\n${startupLog}`);
  process.exit(code ?? 0);
});

// 5. Wait for /healthz (which also checks the admin API can work), then print the next steps.
const deadline = Date.now() + 120_000;
async function healthy() {
  try {
    return (await fetch(`${origin}/healthz`)).status === 200;
  } catch {
    return false;
  }
}
while (!(await healthy())) {
  if (Date.now() > deadline) {
    console.error(`✗ ${origin}/healthz did not answer 200 within 120 s. wrangler dev said:\n${startupLog}`);
    stopDev("SIGTERM");
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 500));
}

mkdirSync(dirname(originFile), { recursive: true });
writeFileSync(originFile, `${origin}\n`);
ready = true;

say(`
──────────────────────────────────────────────────────────────────────────────
 TheStorage SCIM is running at ${origin}   (Ctrl-C stops it)
 Admin console:  ${origin}/admin   (sign in with ADMIN_TOKEN from .dev.vars)

 In another terminal, in this folder:
   npm run admin -- setup acme       # tenant "acme" with SCIM on: prints Base URL and API token once
   npm run admin -- help             # every command

 Or with curl (first put the admin token in your shell):
   export ADMIN_TOKEN="$(npm run -s admin -- token)"
   curl -s -X POST ${origin}/admin/v1/tenants -H "Authorization: Bearer $ADMIN_TOKEN" \\
        -H "Content-Type: application/json" -d '{"slug":"acme","name":"Acme"}'
   curl -s -X POST ${origin}/admin/v1/tenants/acme/scim -H "Authorization: Bearer $ADMIN_TOKEN"

 Then in your IdP's SCIM app (README › Connect Okta):
   Base URL   ${origin}/api/acme/scim/v2   (through a public tunnel for a real IdP)
   API token  the tsscim_… token from above
──────────────────────────────────────────────────────────────────────────────
`);

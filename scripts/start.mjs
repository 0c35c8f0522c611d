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

function run(command, args, label) {
  say(`› ${label}`);
  const result = spawnSync(command, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
  if (result.status !== 0) {
    console.error(`✗ ${label} failed (exit ${result.status}).`);
    process.exit(result.status ?? 1);
  }
}

// 1. Dependencies: a fresh clone (or a changed lock file) installs exactly what the lock file pins.
const installed = join(root, "node_modules", ".package-lock.json");
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(join(root, "package-lock.json")).mtimeMs) {
  run(process.platform === "win32" ? "npm.cmd" : "npm", ["ci", "--no-audit", "--no-fund"], "Installing dependencies (npm ci)");
}

// 2. Local D1: the control database and every tenant database binding in wrangler.toml.
const bindings = [...readFileSync(join(root, "wrangler.toml"), "utf8").matchAll(/^\s*binding\s*=\s*"((?:CONTROL_DB)|(?:TENANT_[A-Z0-9_]+))"/gm)].map((m) => m[1]);
for (const binding of bindings) {
  run(npx, ["wrangler", "d1", "migrations", "apply", binding, "--local"], `Applying local D1 migrations to ${binding}`);
}

// 3. The operator token: $ADMIN_TOKEN wins; otherwise keep the one in .dev.vars, or create one there.
const vars = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
const existing = vars.match(/^ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?\s*$/m)?.[1];
const adminToken = process.env.ADMIN_TOKEN || existing || `tsadmin_${randomBytes(24).toString("base64url")}`;
if (adminToken !== existing) {
  const line = `ADMIN_TOKEN="${adminToken}"`;
  writeFileSync(devVars, existing ? vars.replace(/^ADMIN_TOKEN\s*=.*$/m, line) : `${vars}${vars && !vars.endsWith("\n") ? "\n" : ""}${line}\n`, { mode: 0o600 });
  say(`› Admin token ${process.env.ADMIN_TOKEN ? "taken from $ADMIN_TOKEN" : "generated"} and written to .dev.vars (git-ignored).`);
} else {
  say("› Admin token: kept from .dev.vars.");
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
    say("› Webhook settings written to .dev.vars (secret key generated once and kept; loopback receivers allowed; retries from 5 s).");
  }
}

// 4. wrangler dev, in the foreground of this process; Ctrl-C stops both.
say(`› Starting wrangler dev on ${origin}`);
const dev = spawn(npx, ["wrangler", "dev", "--port", String(port), "--ip", host, "--local"], {
  cwd: root,
  stdio: ["inherit", "inherit", "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
// `npm run admin` reads the origin from here, so it finds a server started on another $PORT.
const originFile = join(root, ".wrangler", "dev-origin");
dev.on("exit", (code) => {
  rmSync(originFile, { force: true });
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
    console.error(`✗ ${origin}/healthz did not answer 200 within 120 s.`);
    dev.kill("SIGTERM");
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 500));
}

mkdirSync(dirname(originFile), { recursive: true });
writeFileSync(originFile, `${origin}\n`);

say(`
──────────────────────────────────────────────────────────────────────────────
 TheStorage SCIM is running at ${origin}
 Operator token: in .dev.vars (ADMIN_TOKEN)${process.env.ADMIN_TOKEN ? " — the one you passed in $ADMIN_TOKEN" : ""}
 Admin console:  ${origin}/admin

 Next steps
 1. Create a tenant and switch SCIM on (prints the Base URL and the API Token, once):
      npm run admin -- setup acme
    or with curl:
      curl -s -X POST ${origin}/admin/v1/tenants -H "Authorization: Bearer $ADMIN_TOKEN" \\
           -H "Content-Type: application/json" -d '{"slug":"acme","name":"Acme"}'
      curl -s -X POST ${origin}/admin/v1/tenants/acme/scim -H "Authorization: Bearer $ADMIN_TOKEN"
 2. In Okta: Applications › Browse App Catalog › "SCIM 2.0 Test App (Header Auth)" › Provisioning:
      Base URL   ${origin}/api/acme/scim/v2   (through a public tunnel for a real Okta org)
      API Token  the tsscim_… token from step 1
    Test API Credentials, then To App: Create Users, Update User Attributes and Deactivate Users on,
    Sync Password off.
──────────────────────────────────────────────────────────────────────────────
`);

/// <reference types="node" />
// A customer's IT admin end to end: the operator creates a setup link over the admin API; a fresh
// Chromium opens it, lands on its organisation's User Provisioning page, switches SCIM on, copies the
// token and sees Users; the same browser is refused everywhere else and on a second opening.
// A real `wrangler dev` on port 8793 (E2E_SETUP_LINK_PORT overrides) with local D1 in a temp dir.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = join(import.meta.dirname, "..", "..");
const SHOTS = join(ROOT, "test-results", "screenshots");
const BINDINGS = ["CONTROL_DB", "TENANT_DEFAULT", "TENANT_DEMO"];
const ADMIN_TOKEN = `tsadmin_e2e_${randomBytes(18).toString("base64url")}`;
const PORT = Number(process.env.E2E_SETUP_LINK_PORT || 8793);
const SLUG = "acme-it";
const OTHER = "globex-it";
const TOKEN_PATTERN = /tsscim_[A-Za-z0-9_-]{43}/;
const RETURN_URL = "https://app.thestorage.example/settings/sso";

let server: ChildProcess | undefined;
let serverLog = "";
let persistDir = "";
const origin = `http://127.0.0.1:${PORT}`;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let linkUrl = "";
const pageProblems: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForHealth(deadlineMs: number): Promise<void> {
  while (Date.now() < deadlineMs) {
    if (server?.exitCode !== null && server?.exitCode !== undefined) throw new Error(`wrangler dev exited with ${server.exitCode}:\n${serverLog.slice(-4000)}`);
    try {
      if ((await fetch(`${origin}/healthz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`wrangler dev did not answer ${origin}/healthz in time:\n${serverLog.slice(-4000)}`);
}

async function adminApi(method: string, path: string, body?: unknown) {
  const response = await fetch(`${origin}/admin/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, json: (await response.json().catch(() => null)) as any };
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`The e2e project needs Debian Chromium at ${CHROMIUM}.`);
  mkdirSync(SHOTS, { recursive: true });
  persistDir = mkdtempSync(join(tmpdir(), "thestorage-e2e-link-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" };
  for (const binding of BINDINGS) {
    const applied = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", binding, "--local", "--persist-to", persistDir], { cwd: ROOT, env, encoding: "utf8" });
    if (applied.status !== 0) throw new Error(`migrations for ${binding} failed:\n${applied.stdout}\n${applied.stderr}`);
  }
  server = spawn(
    "npx",
    ["wrangler", "dev", "--local", "--ip", "127.0.0.1", "--port", String(PORT), "--inspector-port", String(await freePort()), "--persist-to", persistDir, "--var", `ADMIN_TOKEN:${ADMIN_TOKEN}`, "--show-interactive-dev-session=false"],
    { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  const keep = (chunk: unknown) => (serverLog += String(chunk).split(ADMIN_TOKEN).join("<ADMIN_TOKEN>"));
  server.stdout!.on("data", keep);
  server.stderr!.on("data", keep);
  await waitForHealth(Date.now() + 150_000);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  // A fresh profile: the IT admin has never signed in to the console.
  context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"], viewport: { width: 1280, height: 860 } });
  await context.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());
  page = await context.newPage();
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to (execute|apply|load)/i.test(message.text())) pageProblems.push(message.text());
  });
  page.on("pageerror", (error) => pageProblems.push(`page error: ${error.message}`));
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  if (server?.pid && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once("exit", resolve));
    try {
      process.kill(-server.pid, "SIGTERM");
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-server!.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  }
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

describe("setup link in Chromium", () => {
  it("the operator creates two tenants and a setup link over the admin API", async () => {
    expect((await adminApi("POST", "/tenants", { slug: SLUG, name: "Acme Corp" })).status).toBe(201);
    expect((await adminApi("POST", "/tenants", { slug: OTHER, name: "Globex" })).status).toBe(201);
    const link = await adminApi("POST", `/tenants/${SLUG}/setup-links`, { expiresInMinutes: 10, returnUrl: RETURN_URL });
    expect(link.status).toBe(201);
    linkUrl = link.json.url;
    expect(linkUrl).toMatch(new RegExp(`^${origin}/admin/setup/[A-Za-z0-9_-]{43}$`));
  });

  it("opens the link into the organisation's User Provisioning page, scoped and labelled", async () => {
    await page.goto(linkUrl);
    expect(page.url()).toBe(`${origin}/admin/tenants/${SLUG}/provisioning`);
    const body = (await page.textContent("body"))!;
    expect(body).toContain("Acme Corp · IT admin");
    expect(body).toContain("SCIM is off");
    expect(body).not.toContain("Create setup link");
    expect(await page.getAttribute("text=Back to TheStorage", "href")).toBe(RETURN_URL);
    expect(await page.locator(`a[href="/admin/tenants"]`).count()).toBe(0);
    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: "__Secure-ts_console", path: "/admin", httpOnly: true, secure: true, sameSite: "Lax" });
    await shot("link-01-provisioning");
  });

  it("switches SCIM on, copies the token, and sees the users it provisions", async () => {
    await Promise.all([page.waitForLoadState("load"), page.click("button[role=switch]")]);
    await expect.poll(() => page.locator("#token-dialog").isVisible()).toBe(true);
    const token = (await page.textContent("#token-value"))!.trim();
    expect(token).toMatch(TOKEN_PATTERN);
    await page.click("#token-dialog button[data-copy=token-value]");
    await expect.poll(() => page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(token);
    await shot("link-02-token");
    await Promise.all([page.waitForURL(`${origin}/admin/tenants/${SLUG}/provisioning`), page.click("#token-done")]);

    const created = await fetch(`${origin}/api/${SLUG}/scim/v2/Users`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "grace.hopper@acme.example", name: { givenName: "Grace", familyName: "Hopper" }, active: true }),
    });
    expect(created.status).toBe(201);
    await Promise.all([page.waitForURL(`${origin}/admin/tenants/${SLUG}/users`), page.click("nav.tabs >> text=Users")]);
    expect(await page.textContent("body")).toContain("grace.hopper@acme.example");
    await shot("link-03-users");
    const audit = await adminApi("GET", `/tenants/${SLUG}/events?limit=50`);
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.json.events)).toContain("setup_link.use");
  });

  it("is refused on another tenant's pages, the tenant list and the admin API", async () => {
    for (const path of [`/admin/tenants/${OTHER}/provisioning`, `/admin/tenants/${OTHER}/users`, "/admin/tenants"]) {
      const response = await page.goto(`${origin}${path}`);
      expect(response!.status(), path).toBe(403);
      expect(await page.textContent("body")).toContain("Outside this session's organisation");
    }
    await shot("link-04-refused");
    const api = await page.goto(`${origin}/admin/v1/tenants`);
    expect(api!.status()).toBe(401);
    expect((await adminApi("GET", `/tenants/${OTHER}`)).json.scim.enabled).toBe(false);
  });

  it("refuses the link when it is opened a second time", async () => {
    const response = await page.goto(linkUrl);
    expect(response!.status()).toBe(410);
    const body = (await page.textContent("body"))!;
    expect(body).toContain("already been used");
    expect(body).toContain("Ask your TheStorage administrator for a new link");
    await shot("link-05-used");
    expect(pageProblems).toEqual([]);
  });
});

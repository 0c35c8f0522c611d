/// <reference types="node" />
// Settings › Webhooks end to end: a real `wrangler dev` (local D1, Queue and consumer), a local
// receiver verifying Standard Webhooks signatures, and Debian Chromium adding the endpoint. Shows the
// secret once, then a SCIM write's delivery in the receiver and in the console's deliveries list.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = join(import.meta.dirname, "..", "..");
const SHOTS = join(ROOT, "test-results", "screenshots");
const BINDINGS = ["CONTROL_DB", "TENANT_DEFAULT", "TENANT_DEMO"];
const ADMIN_TOKEN = `tsadmin_e2e_${randomBytes(18).toString("base64url")}`;
const SLUG = "hooks-e2e";

let server: ChildProcess | undefined;
let serverLog = "";
let persistDir = "";
let origin = "";
let browser: Browser | undefined;
let page: Page;
let receiver: Server | undefined;
let receiverUrl = "";
const received: Array<{ headers: Record<string, string>; body: string }> = [];

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

function adminApi(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${origin}/admin/v1${path}`, { method, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { "Content-Type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`The e2e project needs Debian Chromium at ${CHROMIUM}.`);
  mkdirSync(SHOTS, { recursive: true });
  persistDir = mkdtempSync(join(tmpdir(), "thestorage-e2e-hooks-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" };
  for (const binding of BINDINGS) {
    const applied = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", binding, "--local", "--persist-to", persistDir], { cwd: ROOT, env, encoding: "utf8" });
    if (applied.status !== 0) throw new Error(`migrations for ${binding} failed:\n${applied.stdout}\n${applied.stderr}`);
  }

  const receiverPort = await freePort();
  receiverUrl = `http://127.0.0.1:${receiverPort}/scim-events`;
  receiver = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(receiverPort, "127.0.0.1", resolve));

  const [port, inspectorPort] = [await freePort(), await freePort()];
  origin = `http://127.0.0.1:${port}`;
  const vars = [`ADMIN_TOKEN:${ADMIN_TOKEN}`, `WEBHOOK_SECRET_KEY:${randomBytes(32).toString("base64")}`, "WEBHOOK_ALLOW_LOOPBACK:true", "WEBHOOK_RETRY_BASE_SECONDS:5"].flatMap((v) => ["--var", v]);
  server = spawn("npx", ["wrangler", "dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persistDir, ...vars, "--show-interactive-dev-session=false"], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (chunk: unknown) => (serverLog += String(chunk).split(ADMIN_TOKEN).join("<ADMIN_TOKEN>"));
  server.stdout!.on("data", keep);
  server.stderr!.on("data", keep);
  await waitForHealth(Date.now() + 150_000);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());
  page = await context.newPage();
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  receiver?.close();
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

describe("Settings › Webhooks in Chromium", () => {
  it("adds a webhook, shows its secret once, and lists the delivery of a SCIM write that the receiver verified", async () => {
    expect((await adminApi("POST", "/tenants", { slug: SLUG, name: "Hooks Inc" })).status).toBe(201);
    const enabled = await adminApi("POST", `/tenants/${SLUG}/scim`);
    const { token } = (await enabled.json()) as { token: string };

    await page.goto(`${origin}/admin/sign-in`);
    await page.fill("#f-token", ADMIN_TOKEN);
    await Promise.all([page.waitForURL(`${origin}/admin/tenants`), page.click("button[type=submit]")]);
    await page.goto(`${origin}/admin/tenants/${SLUG}/users`);
    await Promise.all([page.waitForURL(`${origin}/admin/tenants/${SLUG}/webhooks`), page.click("text=Settings › Webhooks")]);
    expect(await page.textContent("body")).toContain("No webhooks yet");

    await page.fill("#f-url", receiverUrl);
    await page.check('input[name=events][value="user.created"]');
    await Promise.all([page.waitForLoadState("load"), page.click("text=Add endpoint")]);
    const dialog = page.locator("#secret-dialog");
    await expect.poll(() => dialog.isVisible()).toBe(true);
    // Rendered open, made modal by the deferred console script.
    await expect.poll(() => page.evaluate(() => (globalThis as any).document.querySelector("#secret-dialog").matches(":modal"))).toBe(true);
    const secret = (await page.textContent("#secret-value"))!.trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await page.screenshot({ path: join(SHOTS, "webhooks-01-secret-dialog.png"), fullPage: true });
    await Promise.all([page.waitForURL(`${origin}/admin/tenants/${SLUG}/webhooks`), page.click("#secret-done")]);
    expect(await page.content()).not.toContain(secret.slice(6));
    expect(await page.textContent("body")).toContain(receiverUrl);

    const created = await fetch(`${origin}/api/${SLUG}/scim/v2/Users`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "margaret@hooks.example", name: { givenName: "Margaret", familyName: "Hamilton" }, active: true }),
    });
    expect(created.status).toBe(201);
    await expect.poll(() => received.length, { timeout: 30_000, interval: 250 }).toBe(1);
    const event = new Webhook(secret).verify(received[0]!.body, received[0]!.headers) as any;
    expect(event).toMatchObject({ type: "user.created", data: { tenant: SLUG, user: { userName: "margaret@hooks.example" } } });

    await page.click(`text=${receiverUrl}`);
    await expect
      .poll(
        async () => {
          await page.reload();
          return page.textContent("body");
        },
        { timeout: 30_000, interval: 500 },
      )
      .toContain("✓ Delivered");
    expect(await page.textContent("body")).toContain(received[0]!.headers["webhook-id"]);
    await page.screenshot({ path: join(SHOTS, "webhooks-02-deliveries.png"), fullPage: true });
  });
});

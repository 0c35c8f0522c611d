/// <reference types="node" />
// Settings › Webhooks end to end: a real `wrangler dev` (local D1, Queue and consumer), a local
// receiver verifying Standard Webhooks signatures, and Debian Chromium adding the endpoint. Shows the
// secret once, then a SCIM write's delivery in the receiver and in the console's deliveries list.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, screenshot, startE2e, type E2e } from "./harness";

const SLUG = "hooks-e2e";

let e2e: E2e | undefined;
let origin = "";
let page: Page;
let receiver: Server | undefined;
let receiverUrl = "";
const received: Array<{ headers: Record<string, string>; body: string }> = [];

function adminApi(method: string, path: string, body?: unknown): Promise<Response> {
  return e2e!.adminApi(method, path, body);
}

beforeAll(async () => {
  const receiverPort = await freePort();
  receiverUrl = `http://127.0.0.1:${receiverPort}/scim-events`;
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(receiverPort, "127.0.0.1", resolve));

  e2e = await startE2e({
    persistPrefix: "thestorage-e2e-hooks-",
    vars: { WEBHOOK_SECRET_KEY: randomBytes(32).toString("base64"), WEBHOOK_ALLOW_LOOPBACK: "true", WEBHOOK_RETRY_BASE_SECONDS: "5" },
  });
  ({ origin, page } = e2e);
}, 180_000);

afterAll(async () => {
  await e2e?.stop();
  receiver?.close();
});

describe("Settings › Webhooks in Chromium", () => {
  it("adds a webhook, shows its secret once, and lists the delivery of a SCIM write that the receiver verified", async () => {
    expect((await adminApi("POST", "/tenants", { slug: SLUG, name: "Hooks Inc" })).status).toBe(201);
    const enabled = await adminApi("POST", `/tenants/${SLUG}/scim`);
    const { token } = (await enabled.json()) as { token: string };

    await e2e!.signIn();
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
    await screenshot(page, "webhooks-01-secret-dialog");
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
    await screenshot(page, "webhooks-02-deliveries");
  });
});

/// <reference types="node" />
// Sign-in through the customer's IdP in Chromium (design.md §4e): `npm run idp` (scripts/sso-idp.mjs,
// a real OpenID Provider: panva's oidc-provider) runs beside a real `wrangler dev`; its accounts are
// the tenant's provisioned users. A provisioned user signs in and lands on the stand-in app, which
// redeems the ticket; a deactivated user is refused by TheStorage; the console's Test sign-in shows
// the claims and the matched user in a new tab.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, screenshot, startE2e, type E2e } from "./harness";

const SLUG = "initech";
const ALICE = "alice@initech.example";
const BOB = "bob@initech.example";

let e2e: E2e | undefined;
let idp: ChildProcess | undefined;
let idpLog = "";
let openUrl = "";

async function scim(token: string, method: string, path: string, body: unknown) {
  const response = await fetch(`${e2e!.origin}/api/${SLUG}/scim/v2${path}`, { method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" }, body: JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return (await response.json()) as any;
}

beforeAll(async () => {
  e2e = await startE2e({ persistPrefix: "thestorage-e2e-sso-", clipboard: true, vars: { WEBHOOK_SECRET_KEY: randomBytes(32).toString("base64"), WEBHOOK_ALLOW_LOOPBACK: "true" } });
  expect((await e2e.adminApi("POST", "/tenants", { slug: SLUG, name: "Initech" })).status).toBe(201);
  const enabled = (await (await e2e.adminApi("POST", `/tenants/${SLUG}/scim`, { provider: "okta" })).json()) as any;
  const alice = await scim(enabled.token, "POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: ALICE, displayName: "Alice Anders", emails: [{ value: ALICE, primary: true }], active: true });
  await scim(enabled.token, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering", members: [{ value: alice.id }] });
  await scim(enabled.token, "POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: BOB, displayName: "Bob Bauer", active: false });

  // One command: the local OpenID Provider connects the tenant to itself and prints the URL to open.
  const port = await freePort();
  idp = spawn(process.execPath, [join(import.meta.dirname, "..", "..", "scripts", "sso-idp.mjs"), SLUG], {
    env: { ...process.env, THESTORAGE_URL: e2e.origin, ADMIN_TOKEN: e2e.adminToken, IDP_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  idp.stdout!.on("data", (chunk) => (idpLog += String(chunk)));
  idp.stderr!.on("data", (chunk) => (idpLog += String(chunk)));
  const deadline = Date.now() + 30_000;
  while (!/^Open:\s+(\S+)/m.test(idpLog)) {
    if (idp.exitCode !== null || Date.now() > deadline) throw new Error(`npm run idp did not start:\n${idpLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  openUrl = /^Open:\s+(\S+)/m.exec(idpLog)![1]!;
}, 180_000);

afterAll(async () => {
  if (idp && idp.exitCode === null) {
    const exited = new Promise((resolve) => idp!.once("exit", resolve));
    idp.kill("SIGTERM");
    await exited;
  }
  await e2e?.stop();
});

describe("sign-in through the IdP in Chromium", () => {
  it("a provisioned user signs in at the IdP and lands on the app, which redeems the one-time ticket", async () => {
    const { page, origin } = e2e!;
    expect(openUrl.startsWith(`${origin}/api/${SLUG}/sso/start?return_to=`)).toBe(true);
    await page.goto(openUrl);
    expect(page.url()).not.toContain(origin); // at the IdP's login page
    await page.fill("input[name=login]", ALICE);
    await page.fill("input[name=password]", "anything");
    await Promise.all([page.waitForURL(/\/app\/signed-in\?ticket=tssi_/), page.click("button[type=submit]")]);
    expect(await page.textContent("#who")).toContain(`Signed in as ${ALICE}`);
    expect(await page.textContent("#groups")).toBe("Engineering");
    await screenshot(page, "sso-01-signed-in");

    // The ticket was used once: reloading the landing page redeems it again and is refused.
    await page.reload();
    expect(await page.textContent("#refused")).toMatch(/used, expired .* or unknown/);

    const log = (await (await e2e!.adminApi("GET", `/tenants/${SLUG}/events?limit=20`)).json()) as any;
    expect(log.events.find((e: any) => e.action === "sso.sign_in")).toMatchObject({ outcome: "success", userName: ALICE });
  });

  it("a user the IdP deactivated is refused by TheStorage with a page that says so", async () => {
    const context = await e2e!.browser.newContext();
    await context.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());
    const page = await context.newPage();
    await page.goto(openUrl);
    await page.fill("input[name=login]", BOB);
    await page.fill("input[name=password]", "anything");
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes("/sso/oidc/callback")), page.click("button[type=submit]")]);
    expect(response.status()).toBe(403);
    expect(await page.textContent("h1")).toBe("Your TheStorage account is deactivated");
    expect(await page.textContent("body")).toContain("What to do");
    await screenshot(page, "sso-02-deactivated");
    await context.close();
  });

  it("the console's Test sign-in runs the flow in a new tab and shows the claims and the matched user", async () => {
    const { page, origin, context, pageProblems } = e2e!;
    await e2e!.signIn();
    await page.goto(`${origin}/admin/tenants/${SLUG}/sso`);
    expect(await page.textContent("#sso-status")).toContain("On, through http://127.0.0.1:");
    expect(await page.textContent("#sso-redirect-uri")).toBe(`${origin}/api/${SLUG}/sso/oidc/callback`);
    // The values the IdP admin pastes: Copy puts them on the clipboard.
    await page.click("button[data-copy=sso-redirect-uri]");
    await expect.poll(() => page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(`${origin}/api/${SLUG}/sso/oidc/callback`);
    await page.click("button[data-copy=sso-initiate-uri]");
    await expect.poll(() => page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(`${origin}/api/${SLUG}/sso/oidc/initiate`);
    await screenshot(page, "sso-03-settings");
    const [popup] = await Promise.all([context.waitForEvent("page"), page.click("#sso-test")]);
    await popup.waitForLoadState("load");
    if (await popup.locator("input[name=login]").count()) {
      await popup.fill("input[name=login]", ALICE);
      await popup.fill("input[name=password]", "anything");
      await Promise.all([popup.waitForURL(/\/sso\/oidc\/callback/), popup.click("button[type=submit]")]);
    }
    await expect.poll(() => popup.locator("#verdict").count(), { timeout: 15_000 }).toBe(1);
    expect(await popup.textContent("#verdict")).toContain("A real sign-in would succeed");
    expect(await popup.textContent("#matched-user")).toContain(ALICE);
    expect(await popup.textContent("#claims")).toContain("preferred_username");
    await screenshot(popup, "sso-04-test-sign-in");
    await popup.close();

    // The Users page marks Alice, who signed in through the IdP.
    await page.goto(`${origin}/admin/tenants/${SLUG}/users`);
    expect(await page.locator(".badge.sso").count()).toBe(1);
    expect(pageProblems).toEqual([]);
  });
});

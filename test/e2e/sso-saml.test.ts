/// <reference types="node" />
// SAML 2.0 sign-in in Chromium (design.md §4e, issue 22): `npm run idp -- <tenant> --saml` (a small
// SAML IdP signing with the tests' xml-crypto stand-in) beside a real `wrangler dev`. A provisioned
// user signs in SP-initiated (Redirect-binding AuthnRequest, HTTP-POST response to the ACS, the
// SameSite=None attempt cookie coming back on the cross-site POST) and lands on the stand-in app,
// which redeems the ticket; a deactivated user is refused; IdP-initiated lands on the default return
// URL; the console shows the SAML values and Test sign-in shows the match.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, screenshot, startE2e, type E2e } from "./harness";

const SLUG = "initrode";
const ALICE = "alice@initrode.example";
const BOB = "bob@initrode.example";

let e2e: E2e | undefined;
let idp: ChildProcess | undefined;
let idpLog = "";
let openUrl = "";
let idpInitiatedUrl = "";

async function scim(token: string, method: string, path: string, body: unknown) {
  const response = await fetch(`${e2e!.origin}/api/${SLUG}/scim/v2${path}`, { method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" }, body: JSON.stringify(body) });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return (await response.json()) as any;
}

beforeAll(async () => {
  e2e = await startE2e({ persistPrefix: "thestorage-e2e-saml-", clipboard: true, vars: { WEBHOOK_SECRET_KEY: randomBytes(32).toString("base64"), WEBHOOK_ALLOW_LOOPBACK: "true" } });
  expect((await e2e.adminApi("POST", "/tenants", { slug: SLUG, name: "Initrode" })).status).toBe(201);
  const enabled = (await (await e2e.adminApi("POST", `/tenants/${SLUG}/scim`, { provider: "okta" })).json()) as any;
  await scim(enabled.token, "POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: ALICE, displayName: "Alice Anders", emails: [{ value: ALICE, primary: true }], active: true });
  await scim(enabled.token, "POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: BOB, displayName: "Bob Bauer", active: false });

  const port = await freePort();
  idp = spawn(process.execPath, [join(import.meta.dirname, "..", "..", "scripts", "sso-idp.mjs"), SLUG, "--saml"], {
    env: { ...process.env, THESTORAGE_URL: e2e.origin, ADMIN_TOKEN: e2e.adminToken, IDP_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  idp.stdout!.on("data", (chunk) => (idpLog += String(chunk)));
  idp.stderr!.on("data", (chunk) => (idpLog += String(chunk)));
  const deadline = Date.now() + 60_000;
  while (!/^Open:\s+(\S+)/m.test(idpLog)) {
    if (idp.exitCode !== null || Date.now() > deadline) throw new Error(`npm run idp -- --saml did not start:\n${idpLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  openUrl = /^Open:\s+(\S+)/m.exec(idpLog)![1]!;
  idpInitiatedUrl = /IdP-initiated: (\S+)/.exec(idpLog)![1]!;
}, 180_000);

afterAll(async () => {
  if (idp && idp.exitCode === null) {
    const exited = new Promise((resolve) => idp!.once("exit", resolve));
    idp.kill("SIGTERM");
    await exited;
  }
  await e2e?.stop();
});

describe("SAML 2.0 sign-in in Chromium", () => {
  it("a provisioned user signs in SP-initiated and lands on the app, which redeems the ticket", async () => {
    const { page, origin } = e2e!;
    await page.goto(openUrl);
    expect(page.url()).not.toContain(origin); // at the IdP's login page
    await page.fill("input[name=login]", ALICE);
    await page.fill("input[name=password]", "anything");
    await Promise.all([page.waitForURL(/\/app\/signed-in\?ticket=tssi_/), page.click("button[type=submit]")]);
    expect(await page.textContent("#who")).toContain(`Signed in as ${ALICE}`);
    const redeemed = JSON.parse((await page.textContent("#redeemed"))!);
    expect(redeemed.signIn.protocol).toBe("saml");
    await screenshot(page, "saml-01-signed-in");
  });

  it("a deactivated user is refused by TheStorage with a page that says so", async () => {
    const context = await e2e!.browser.newContext();
    const page = await context.newPage();
    await page.goto(openUrl);
    await page.fill("input[name=login]", BOB);
    await page.fill("input[name=password]", "anything");
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes("/sso/saml/acs")), page.click("button[type=submit]")]);
    expect(response.status()).toBe(403);
    await page.waitForLoadState("load");
    expect(await page.textContent("h1")).toBe("Your TheStorage account is deactivated");
    await screenshot(page, "saml-02-deactivated");
    await context.close();
  });

  it("IdP-initiated (allowed for this tenant) lands on the default return URL", async () => {
    const context = await e2e!.browser.newContext();
    const page = await context.newPage();
    await page.goto(idpInitiatedUrl);
    await page.fill("input[name=login]", ALICE);
    await page.fill("input[name=password]", "anything");
    await Promise.all([page.waitForURL(/\/app\/signed-in\?ticket=tssi_/), page.click("button[type=submit]")]);
    expect(await page.textContent("#who")).toContain(`Signed in as ${ALICE}`);
    await context.close();
  });

  it("the console shows the SAML values to copy, and Test sign-in shows the match in a new tab", async () => {
    const { page, origin, context, pageProblems } = e2e!;
    await e2e!.signIn();
    await page.goto(`${origin}/admin/tenants/${SLUG}/sso`);
    expect(await page.textContent("#sso-status")).toContain("(SAML 2.0)");
    await page.click("button[data-copy=sso-acs-url]");
    await expect.poll(() => page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(`${origin}/api/${SLUG}/sso/saml/acs`);
    await page.click("button[data-copy=sso-sp-entity-id]");
    await expect.poll(() => page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(`${origin}/api/${SLUG}/sso/saml/metadata`);
    await screenshot(page, "saml-03-settings");
    const [popup] = await Promise.all([context.waitForEvent("page"), page.click("#sso-test")]);
    await popup.waitForLoadState("load");
    await popup.fill("input[name=login]", ALICE);
    await popup.fill("input[name=password]", "anything");
    await Promise.all([popup.waitForURL(/\/sso\/saml\/acs/), popup.click("button[type=submit]")]);
    await expect.poll(() => popup.locator("#verdict").count(), { timeout: 15_000 }).toBe(1);
    expect(await popup.textContent("#verdict")).toContain("A real sign-in would succeed");
    expect(await popup.textContent("#matched-user")).toContain(ALICE);
    await screenshot(popup, "saml-04-test-sign-in");
    await popup.close();
    expect(pageProblems).toEqual([]);
  });
});

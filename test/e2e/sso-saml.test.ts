/// <reference types="node" />
// SAML 2.0 sign-in in Chromium (design.md §4e, issue 22): `npm run idp -- <tenant> --saml` (a small
// SAML IdP signing with the tests' xml-crypto stand-in) beside a real `wrangler dev`. A provisioned
// user signs in SP-initiated (Redirect-binding AuthnRequest, HTTP-POST response to the ACS, the
// SameSite=None attempt cookie coming back on the cross-site POST) and lands on the stand-in app,
// which redeems the ticket; a deactivated user is refused; IdP-initiated lands on the default return
// URL; the console shows the SAML values and Test sign-in shows the match.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot } from "./harness";
import { signInAtIdp, startSsoE2e, type SsoE2e } from "./sso-harness";

const SLUG = "initrode";
let sso: SsoE2e;
let idpInitiatedUrl = "";

beforeAll(async () => {
  sso = await startSsoE2e({ slug: SLUG, name: "Initrode", persistPrefix: "thestorage-e2e-saml-", idpArgs: ["--saml"] });
  idpInitiatedUrl = /IdP-initiated: (\S+)/.exec(sso.idpLog())![1]!;
}, 180_000);

afterAll(async () => {
  await sso?.stop();
});

describe("SAML 2.0 sign-in in Chromium", () => {
  it("a provisioned user signs in SP-initiated and lands on the app, which redeems the ticket", async () => {
    const { page, origin } = sso.e2e;
    await page.goto(sso.openUrl);
    expect(page.url()).not.toContain(origin); // at the IdP's login page
    await signInAtIdp(page, sso.alice, () => page.waitForURL(/\/app\/signed-in\?ticket=tssi_/));
    expect(await page.textContent("#who")).toContain(`Signed in as ${sso.alice}`);
    const redeemed = JSON.parse((await page.textContent("#redeemed"))!);
    expect(redeemed.signIn.protocol).toBe("saml");
    await screenshot(page, "saml-01-signed-in");
  });

  it("a deactivated user is refused by TheStorage with a page that says so", async () => {
    const context = await sso.e2e.browser.newContext();
    const page = await context.newPage();
    await page.goto(sso.openUrl);
    const response = await signInAtIdp(page, sso.bob, () => page.waitForResponse((r) => r.url().includes("/sso/saml/acs")));
    expect(response.status()).toBe(403);
    await page.waitForLoadState("load");
    expect(await page.textContent("h1")).toBe("Your TheStorage account is deactivated");
    await screenshot(page, "saml-02-deactivated");
    await context.close();
  });

  it("IdP-initiated (allowed for this tenant) lands on the default return URL", async () => {
    const context = await sso.e2e.browser.newContext();
    const page = await context.newPage();
    await page.goto(idpInitiatedUrl);
    await signInAtIdp(page, sso.alice, () => page.waitForURL(/\/app\/signed-in\?ticket=tssi_/));
    expect(await page.textContent("#who")).toContain(`Signed in as ${sso.alice}`);
    await context.close();
  });

  it("the console shows the SAML values to copy, and Test sign-in shows the match in a new tab", async () => {
    const { page, origin, context, pageProblems } = sso.e2e;
    await sso.e2e.signIn();
    await page.goto(`${origin}/admin/tenants/${SLUG}/sso`);
    expect(await page.textContent("#sso-status")).toContain("(SAML 2.0)");
    await page.click("button[data-copy=sso-acs-url]");
    await expect.poll(() => page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(`${origin}/api/${SLUG}/sso/saml/acs`);
    await page.click("button[data-copy=sso-sp-entity-id]");
    await expect.poll(() => page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(`${origin}/api/${SLUG}/sso/saml/metadata`);
    await screenshot(page, "saml-03-settings");
    const [popup] = await Promise.all([context.waitForEvent("page"), page.click("#sso-test")]);
    await popup.waitForLoadState("load");
    await signInAtIdp(popup, sso.alice, () => popup.waitForURL(/\/sso\/saml\/acs/));
    await expect.poll(() => popup.locator("#verdict").count(), { timeout: 15_000 }).toBe(1);
    expect(await popup.textContent("#verdict")).toContain("A real sign-in would succeed");
    expect(await popup.textContent("#matched-user")).toContain(sso.alice);
    await screenshot(popup, "saml-04-test-sign-in");
    await popup.close();
    expect(pageProblems).toEqual([]);
  });
});

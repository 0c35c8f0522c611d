/// <reference types="node" />
// Sign-in through the customer's IdP in Chromium (design.md §4e): `npm run idp` (scripts/sso-idp.mjs,
// a real OpenID Provider: panva's oidc-provider) runs beside a real `wrangler dev`; its accounts are
// the tenant's provisioned users. A provisioned user signs in and lands on the stand-in app, which
// redeems the ticket; a deactivated user is refused by TheStorage; the console's Test sign-in shows
// the claims and the matched user in a new tab.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot } from "./harness";
import { signInAtIdp, startSsoE2e, type SsoE2e } from "./sso-harness";

const SLUG = "initech";
let sso: SsoE2e;

beforeAll(async () => {
  sso = await startSsoE2e({ slug: SLUG, name: "Initech", persistPrefix: "thestorage-e2e-sso-" });
  await sso.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering", members: [{ value: sso.aliceId }] });
}, 180_000);

afterAll(async () => {
  await sso?.stop();
});

describe("sign-in through the IdP in Chromium", () => {
  it("a provisioned user signs in at the IdP and lands on the app, which redeems the one-time ticket", async () => {
    const { page, origin } = sso.e2e;
    expect(sso.openUrl.startsWith(`${origin}/api/${SLUG}/sso/start?return_to=`)).toBe(true);
    await page.goto(sso.openUrl);
    expect(page.url()).not.toContain(origin); // at the IdP's login page
    await signInAtIdp(page, sso.alice, () => page.waitForURL(/\/app\/signed-in\?ticket=tssi_/));
    expect(await page.textContent("#who")).toContain(`Signed in as ${sso.alice}`);
    expect(await page.textContent("#groups")).toBe("Engineering");
    await screenshot(page, "sso-01-signed-in");

    // The ticket was used once: reloading the landing page redeems it again and is refused.
    await page.reload();
    expect(await page.textContent("#refused")).toMatch(/used, expired .* or unknown/);

    const log = (await (await sso.e2e.adminApi("GET", `/tenants/${SLUG}/events?limit=20`)).json()) as any;
    expect(log.events.find((e: any) => e.action === "sso.sign_in")).toMatchObject({ outcome: "success", userName: sso.alice });
  });

  it("a user the IdP deactivated is refused by TheStorage with a page that says so", async () => {
    const context = await sso.e2e.browser.newContext();
    await context.route(/^(?!http:\/\/127\.0\.0\.1[:/])/, (route) => route.abort());
    const page = await context.newPage();
    await page.goto(sso.openUrl);
    const response = await signInAtIdp(page, sso.bob, () => page.waitForResponse((r) => r.url().includes("/sso/oidc/callback")));
    expect(response.status()).toBe(403);
    expect(await page.textContent("h1")).toBe("Your TheStorage account is deactivated");
    expect(await page.textContent("body")).toContain("What to do");
    await screenshot(page, "sso-02-deactivated");
    await context.close();
  });

  it("the console's Test sign-in runs the flow in a new tab and shows the claims and the matched user", async () => {
    const { page, origin, context, pageProblems } = sso.e2e;
    await sso.e2e.signIn();
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
      await signInAtIdp(popup, sso.alice, () => popup.waitForURL(/\/sso\/oidc\/callback/));
    }
    await expect.poll(() => popup.locator("#verdict").count(), { timeout: 15_000 }).toBe(1);
    expect(await popup.textContent("#verdict")).toContain("A real sign-in would succeed");
    expect(await popup.textContent("#matched-user")).toContain(sso.alice);
    expect(await popup.textContent("#claims")).toContain("preferred_username");
    await screenshot(popup, "sso-04-test-sign-in");
    await popup.close();

    // The Users page marks Alice, who signed in through the IdP.
    await page.goto(`${origin}/admin/tenants/${SLUG}/users`);
    expect(await page.locator(".badge.sso").count()).toBe(1);
    expect(pageProblems).toEqual([]);
  });
});

/// <reference types="node" />
// The admin console end to end: a real `wrangler dev` (local D1 and Durable Objects in a temporary
// persist dir, its own ADMIN_TOKEN) driven by Debian Chromium through playwright-core (./harness.ts).
// Browser traffic is limited to 127.0.0.1. Screenshots of every screen go to test-results/screenshots/.
import { randomBytes } from "node:crypto";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot, startE2e, type E2e } from "./harness";

const SLUG = "acme-e2e";
const TOKEN_PATTERN = /tsscim_[A-Za-z0-9_-]{43}/;

let e2e: E2e | undefined;
let origin = "";
let adminToken = "";
let context: BrowserContext;
let page: Page;
let cspViolations: string[] = [];

function shot(name: string, target: Page = page): Promise<void> {
  return screenshot(target, name);
}

function scim(token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${origin}/api/${SLUG}/scim/v2${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, Accept: "application/scim+json", ...(body ? { "Content-Type": "application/scim+json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

beforeAll(async () => {
  e2e = await startE2e({ persistPrefix: "thestorage-e2e-", clipboard: true });
  ({ origin, adminToken, context, page, pageProblems: cspViolations } = e2e);
}, 180_000);

afterAll(() => e2e?.stop());

describe("admin console in Chromium", () => {
  let firstToken = "";
  let userId = "";

  it("signs in with the admin token and gets a locked-down session cookie", async () => {
    await page.goto(`${origin}/admin`);
    expect(new URL(page.url()).pathname).toBe("/admin/sign-in");
    await shot("01-sign-in");
    await page.fill("#f-token", "not-the-token");
    await page.click("button[type=submit]");
    await expect.poll(() => page.textContent("body")).toContain("not the admin token");
    expect(await context.cookies()).toEqual([]);
    await page.fill("#f-token", adminToken);
    await Promise.all([page.waitForURL(`${origin}/admin/tenants`), page.click("button[type=submit]")]);
    const [cookie, ...others] = await context.cookies();
    expect(others).toEqual([]);
    expect(cookie).toMatchObject({ name: "__Secure-ts_console", path: "/admin", httpOnly: true, secure: true, sameSite: "Strict" });
    expect(cookie!.value).not.toContain(adminToken);
    expect(await page.textContent("body")).toContain("No tenants yet");
    expect(await page.content()).not.toContain(adminToken);
    await shot("02-tenants-empty");
  });

  it("creates a tenant, with inline validation first", async () => {
    await page.fill("#f-slug", "Acme_Corp");
    await page.fill("#f-name", "Acme Corporation");
    await page.click("text=Create tenant");
    await expect.poll(() => page.locator(".field-error").first().textContent()).toContain("lower-case letters");
    await shot("03-tenant-validation");
    await page.fill("#f-slug", SLUG);
    await page.selectOption("#f-database", "TENANT_DEMO");
    await Promise.all([page.waitForURL(`${origin}/admin/tenants/${SLUG}/provisioning?created=1`), page.click("text=Create tenant")]);
    expect(await page.textContent("body")).toContain("SCIM is off");
    await shot("04-provisioning-off");
  });

  it("switches SCIM on and shows the token once in a modal dialog with working Copy buttons", async () => {
    await Promise.all([page.waitForLoadState("load"), page.click("button[role=switch]")]);
    const dialog = page.locator("#token-dialog");
    await expect.poll(() => dialog.isVisible()).toBe(true);
    // Modal (showModal), and focus starts on the Copy button.
    expect(await page.evaluate(() => (globalThis as any).document.querySelector("#token-dialog").matches(":modal"))).toBe(true);
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.getAttribute("data-copy"))).toBe("token-value");
    firstToken = (await page.textContent("#token-value"))!.trim();
    expect(firstToken).toMatch(TOKEN_PATTERN);
    expect(await dialog.textContent()).toContain("shown once");
    expect(await page.textContent("#endpoint-value")).toBe(`${origin}/api/${SLUG}/scim/v2`);
    expect(page.url()).not.toContain(firstToken);
    await page.keyboard.press("Enter"); // activates the focused Copy button
    await expect.poll(() => page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(firstToken);
    await expect.poll(() => page.textContent("#copy-status")).toContain("Copied");
    await shot("05-token-dialog");
    await page.click("text=Copy URL");
    await expect.poll(() => page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(`${origin}/api/${SLUG}/scim/v2`);
    await page.evaluate((token) => (globalThis as any).navigator.clipboard.writeText(token), firstToken);

    await Promise.all([page.waitForURL(`${origin}/admin/tenants/${SLUG}/provisioning`), page.click("#token-done")]);
    const html = await page.content();
    expect(html).not.toContain(firstToken);
    expect(html).not.toMatch(TOKEN_PATTERN);
    expect(html).toContain(`${firstToken.slice(0, 12)}…`);
    expect(await page.textContent("body")).toContain("SCIM is on");
    await shot("06-provisioning-on");
  });

  it("accepts the token over SCIM: an Okta user is created and deactivated", async () => {
    const n = randomBytes(3).toString("hex");
    const body = {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: `ada.lovelace.${n}@example.com`,
      name: { givenName: "Ada", familyName: "Lovelace" },
      emails: [{ primary: true, value: `ada.lovelace.${n}@example.com`, type: "work" }],
      displayName: "Ada Lovelace",
      locale: "en-US",
      externalId: `00u${n}`,
      groups: [],
      password: "1mz050nq",
      active: true,
    };
    const created = await scim(firstToken, "POST", "/Users", body);
    expect(created.status).toBe(201);
    userId = ((await created.json()) as { id: string }).id;
    const other = await scim(firstToken, "POST", "/Users", { ...body, userName: `grace.hopper.${n}@example.com`, displayName: "Grace Hopper", externalId: `00v${n}`, name: { givenName: "Grace", familyName: "Hopper" }, emails: [{ primary: true, value: `grace.hopper.${n}@example.com` }] });
    expect(other.status).toBe(201);
    const deactivated = await scim(firstToken, "PATCH", `/Users/${userId}`, { Operations: [{ op: "replace", value: { active: false } }] });
    expect(deactivated.status).toBe(200);
    expect(((await deactivated.json()) as { active: boolean }).active).toBe(false);
    // A refused write, so the log has one to highlight.
    expect((await scim(firstToken, "POST", "/Users", body)).status).toBe(409);
    const group = await scim(firstToken, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering", members: [{ value: userId }] });
    expect(group.status).toBe(201);
  });

  it("shows the users with their Okta badge and status, and a user's page", async () => {
    await page.click("nav.tabs >> text=Users");
    await page.waitForURL(`${origin}/admin/tenants/${SLUG}/users`);
    const row = page.locator("tr", { hasText: "Ada Lovelace" });
    expect(await row.locator(".badge.origin").textContent()).toBe("Okta");
    expect(await row.locator(".badge.origin").getAttribute("title")).toBe("Provisioned by Okta over SCIM.");
    expect(await row.textContent()).toContain("Deactivated");
    expect(await page.locator("tr", { hasText: "Grace Hopper" }).textContent()).toContain("Active");
    await shot("07-users");
    await page.fill("#f-q", "hopper");
    await Promise.all([page.waitForURL(/q=hopper/), page.click("form[role=search] button[type=submit]")]);
    expect(await page.locator("tbody tr").count()).toBe(1);
    await page.goto(`${origin}/admin/tenants/${SLUG}/users`);
    await Promise.all([page.waitForURL(`${origin}/admin/tenants/${SLUG}/users/${userId}`), page.click("text=Ada Lovelace")]);
    const text = await page.textContent("body");
    expect(text).toContain("Engineering");
    expect(text).toContain("user.deactivate");
    await shot("08-user");
  });

  it("shows the provisioning log, with the refused write marked", async () => {
    await page.goto(`${origin}/admin/tenants/${SLUG}/log`);
    const text = await page.textContent("body");
    for (const action of ["user.create", "user.deactivate", "group.create"]) expect(text).toContain(action);
    const refused = page.locator("tr.failure");
    expect(await refused.count()).toBe(1);
    expect(await refused.textContent()).toContain("✕ Refused");
    expect(await refused.textContent()).toContain("409");
    expect(text).toContain(`${firstToken.slice(0, 12)}…`);
    await shot("09-log");
    await page.selectOption("#f-outcome", "failure");
    await Promise.all([page.waitForURL(/outcome=failure/), page.click("text=Filter")]);
    expect(await page.locator("tbody tr").count()).toBe(1);
  });

  it("shows groups with member counts and a group's members", async () => {
    await page.goto(`${origin}/admin/tenants/${SLUG}/groups`);
    const row = page.locator("tr", { hasText: "Engineering" });
    expect(await row.locator("td").nth(1).textContent()).toBe("1");
    await shot("10-groups");
    await Promise.all([page.waitForURL(/\/groups\/[^/]+$/), page.click("text=Engineering")]);
    expect(await page.textContent("body")).toContain("Ada Lovelace");
  });

  it("regenerates after a confirmation: the old token is refused at once, the new one works", async () => {
    await page.goto(`${origin}/admin/tenants/${SLUG}/provisioning`);
    await page.click("text=Regenerate token");
    const confirm = page.locator("#confirm-regenerate");
    await expect.poll(() => confirm.isVisible()).toBe(true);
    expect(await confirm.textContent()).toContain("stops working at once");
    await shot("11-regenerate-confirm");
    // Cancel keeps the token.
    await confirm.locator("text=Cancel").click();
    await expect.poll(() => confirm.isVisible()).toBe(false);
    expect((await scim(firstToken, "GET", "/Users?count=1")).status).toBe(200);

    await page.click("text=Regenerate token");
    await Promise.all([page.waitForLoadState("load"), confirm.locator("button[type=submit]").click()]);
    await expect.poll(() => page.locator("#token-dialog").isVisible()).toBe(true);
    const secondToken = (await page.textContent("#token-value"))!.trim();
    expect(secondToken).toMatch(TOKEN_PATTERN);
    expect(secondToken).not.toBe(firstToken);
    expect(await page.textContent("#token-dialog")).toContain("previous token has stopped working");
    await shot("12-new-token-dialog");
    // Esc does not throw the token away (test/e2e/layout.test.ts); Done leaves the page, so the token does not linger.
    await Promise.all([page.waitForURL(`${origin}/admin/tenants/${SLUG}/provisioning`), page.click("#token-done")]);
    expect(await page.content()).not.toContain(secondToken);

    expect((await scim(firstToken, "GET", "/Users?count=1")).status).toBe(401);
    expect((await scim(secondToken, "GET", "/Users?count=1")).status).toBe(200);
  });

  it("reads well on a phone", async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${origin}/admin/tenants/${SLUG}/users`);
    const overflow = await phone.evaluate(() => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot("13-users-phone", phone);
    await phone.goto(`${origin}/admin/tenants/${SLUG}/provisioning`);
    await shot("14-provisioning-phone", phone);
    await phone.close();
  });

  it("signs out, and no CSP violation happened along the way", async () => {
    await Promise.all([page.waitForURL(/\/admin\/sign-in\?signed-out=1$/), page.click("text=Sign out")]);
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${origin}/admin/tenants`);
    expect(new URL(page.url()).pathname).toBe("/admin/sign-in");
    expect(cspViolations).toEqual([]);
  });
});

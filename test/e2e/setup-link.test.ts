/// <reference types="node" />
// A customer's IT admin end to end: the operator creates a setup link over the admin API; a fresh
// Chromium opens it, lands on its organisation's User Provisioning page, switches SCIM on, copies the
// token and sees Users; the same browser is refused everywhere else and on a second opening; an
// expired link is refused in a fresh browser.
// A real `wrangler dev` on port 8793 (E2E_SETUP_LINK_PORT overrides) with local D1 in a temp dir.
import { createHash } from "node:crypto";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot, startE2e, type E2e } from "./harness";

const PORT = Number(process.env.E2E_SETUP_LINK_PORT || 8793);
const SLUG = "acme-it";
const OTHER = "globex-it";
const TOKEN_PATTERN = /tsscim_[A-Za-z0-9_-]{43}/;
const RETURN_URL = "https://app.thestorage.example/settings/sso";

let e2e: E2e | undefined;
const origin = `http://127.0.0.1:${PORT}`;
let context: BrowserContext;
let page: Page;
let linkUrl = "";
let pageProblems: string[] = [];

async function adminApi(method: string, path: string, body?: unknown) {
  const response = await e2e!.adminApi(method, path, body);
  return { status: response.status, json: (await response.json().catch(() => null)) as any };
}

function shot(name: string): Promise<void> {
  return screenshot(page, name);
}

beforeAll(async () => {
  e2e = await startE2e({ persistPrefix: "thestorage-e2e-link-", port: PORT, clipboard: true });
  ({ context, page, pageProblems } = e2e);
}, 180_000);

afterAll(() => e2e?.stop());

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

  it("refuses an expired link in a fresh browser", async () => {
    const link = await adminApi("POST", `/tenants/${SLUG}/setup-links`, { expiresInMinutes: 1 });
    expect(link.status).toBe(201);
    // Age the link past its expiry in the server's own D1 (a browser test cannot move the Worker's clock).
    const digest = createHash("sha256").update(String(link.json.url).split("/").pop()!).digest("hex");
    e2e!.controlSql(`UPDATE setup_links SET expires_at = '2000-01-01T00:00:00.000Z' WHERE digest = '${digest}'`);
    const fresh = await e2e!.browser.newContext();
    try {
      const freshPage = await fresh.newPage();
      const response = await freshPage.goto(link.json.url);
      expect(response!.status()).toBe(410);
      const body = (await freshPage.textContent("body"))!;
      expect(body).toContain("has expired");
      expect(body).toContain("Ask your TheStorage administrator for a new link");
      expect((await fresh.cookies()).filter((c) => c.name.includes("ts_console"))).toEqual([]);
      expect((await freshPage.goto(`${origin}/admin/tenants/${SLUG}/provisioning`))!.url()).toContain("/admin/sign-in");
    } finally {
      await fresh.close();
    }
  });
});

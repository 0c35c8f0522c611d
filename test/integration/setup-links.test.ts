// Setup links (design.md §4c): created over the admin API or the console, redeemed once in a browser
// into a console session scoped to one tenant, which sees that tenant's pages and nothing else.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { csrfOf, send, type Page } from "../support/console-session";
import { admin, ADMIN_TOKEN, ORIGIN, randomIp, uniqueSlug } from "../support/harness";

async function tenant(name?: string): Promise<string> {
  const slug = uniqueSlug("sl");
  const res = await admin("POST", "/tenants", { slug, ...(name ? { name } : {}) });
  expect(res.status).toBe(201);
  return slug;
}

async function createLink(slug: string, body?: Record<string, unknown>, ip = randomIp()) {
  const res = await admin("POST", `/tenants/${slug}/setup-links`, body, { "CF-Connecting-IP": ip });
  expect(res.status, res.text).toBe(201);
  return res.body as { url: string; expiresAt: string };
}

/** The path of a link URL (the Worker answers on ORIGIN in tests). */
function pathOf(url: string): string {
  return new URL(url).pathname;
}

async function redeem(url: string, ip: string): Promise<{ res: Page; cookie: string }> {
  const res = await send("GET", pathOf(url), { ip });
  const setCookie = res.headers.get("Set-Cookie") ?? "";
  return { res, cookie: setCookie.split(";")[0]! };
}

async function auditRows(slug: string) {
  const { results } = await env.CONTROL_DB.prepare("SELECT action, actor, outcome, ip FROM audit_events WHERE tenant_slug = ? ORDER BY id").bind(slug).all<{ action: string; actor: string; outcome: string; ip: string }>();
  return results.map((r) => ({ ...r, actor: JSON.parse(r.actor) }));
}

describe("setup links: creating", () => {
  it("answers 201 with a single-use URL on this origin and an expiry 5 minutes out by default; stores only the secret's digest", async () => {
    const slug = await tenant();
    const before = Date.now();
    const link = await createLink(slug);
    expect(link.url).toMatch(new RegExp(`^${ORIGIN}/admin/setup/[A-Za-z0-9_-]{43}$`));
    const minutes = (Date.parse(link.expiresAt) - before) / 60_000;
    expect(minutes).toBeGreaterThan(4.9);
    expect(minutes).toBeLessThan(5.1);
    const secret = link.url.split("/").pop()!;
    const { results } = await env.CONTROL_DB.prepare("SELECT digest, created_by FROM setup_links WHERE expires_at = ?").bind(link.expiresAt).all<{ digest: string; created_by: string }>();
    expect(results).toHaveLength(1);
    expect(results[0]!.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(results[0]!.digest).not.toContain(secret);
    expect(JSON.parse(results[0]!.created_by)).toEqual({ type: "admin-token" });
    const custom = await createLink(slug, { expiresInMinutes: 60, returnUrl: "http://localhost:3000/settings" });
    expect((Date.parse(custom.expiresAt) - Date.now()) / 60_000).toBeGreaterThan(59);
  });

  it("refuses bad input with 400 problem details naming the field, unknown tenants with 404, and no bearer with 401", async () => {
    const slug = await tenant();
    const bad: Array<[unknown, string]> = [
      [{ expiresInMinutes: 0 }, "expiresInMinutes"],
      [{ expiresInMinutes: 61 }, "expiresInMinutes"],
      [{ expiresInMinutes: 1.5 }, "expiresInMinutes"],
      [{ expiresInMinutes: "5" }, "expiresInMinutes"],
      [{ returnUrl: "javascript:alert(1)" }, "returnUrl"],
      [{ returnUrl: "http://example.com/back" }, "returnUrl"],
      [{ returnUrl: "/relative" }, "returnUrl"],
      [{ returnUrl: "https://user:pw@example.com/" }, "returnUrl"],
    ];
    for (const [body, field] of bad) {
      const res = await admin("POST", `/tenants/${slug}/setup-links`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("Content-Type")).toBe("application/problem+json");
      expect(res.body.detail).toContain(field);
    }
    expect((await admin("POST", "/tenants/no-such-tenant-xyz/setup-links", {})).status).toBe(404);
    const anonymous = await send("POST", `/admin/v1/tenants/${slug}/setup-links`, { ip: randomIp() });
    expect(anonymous.status).toBe(401);
  });
});

describe("setup links: redeeming", () => {
  it("opens a session scoped to the tenant: its pages and SCIM switch work, everything else is refused", async () => {
    const ip = randomIp();
    const slug = await tenant("Acme Corp");
    const other = await tenant("Other Org");
    const link = await createLink(slug, { returnUrl: "https://app.thestorage.example/settings" });

    const { res, cookie } = await redeem(link.url, ip);
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe(`/admin/tenants/${slug}/provisioning`);
    const setCookie = res.headers.get("Set-Cookie")!;
    expect(setCookie).toMatch(/^__Secure-ts_console=/);
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
    expect(setCookie).toMatch(/;\s*Secure/i);
    expect(setCookie).toMatch(/;\s*Max-Age=3600/);
    expect(setCookie).toMatch(/;\s*Path=\/admin(;|$)/);

    const provisioning = await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie, ip });
    expect(provisioning.status).toBe(200);
    expect(provisioning.text).toContain("Acme Corp · IT admin");
    expect(provisioning.text).toContain('href="https://app.thestorage.example/settings"');
    expect(provisioning.text).toContain("Back to TheStorage");
    expect(provisioning.text).not.toContain('href="/admin/tenants"'); // no tenant list link, no switcher
    expect(provisioning.text).not.toContain("Create setup link"); // operator only
    for (const page of ["users", "groups", "log"]) {
      const res = await send("GET", `/admin/tenants/${slug}/${page}`, { cookie, ip });
      expect(res.status, page).toBe(200);
    }

    const enabled = await send("POST", `/admin/tenants/${slug}/provisioning/enable`, { cookie, ip, form: { _csrf: csrfOf(provisioning.text), provider: "okta" } });
    expect(enabled.status).toBe(200);
    expect(enabled.text).toMatch(/tsscim_[A-Za-z0-9_-]{43}/);
    expect((await admin("GET", `/tenants/${slug}`)).body.scim.enabled).toBe(true);

    // Outside the tenant: another tenant (by editing the URL), the tenant list, tenant create,
    // operator-only actions, an unknown console page.
    for (const path of [`/admin/tenants/${other}/provisioning`, `/admin/tenants/${other}/users`, "/admin/tenants", "/admin/audit", `/admin/tenants/${slug}x/users`]) {
      const refused = await send("GET", path, { cookie, ip });
      expect(refused.status, path).toBe(403);
      expect(refused.text).toContain("outside it");
    }
    const csrf = csrfOf(provisioning.text);
    const create = await send("POST", "/admin/tenants", { cookie, ip, form: { _csrf: csrf, slug: uniqueSlug("no"), database: "TENANT_DEFAULT" } });
    expect(create.status).toBe(403);
    const newLink = await send("POST", `/admin/tenants/${slug}/setup-links`, { cookie, ip, form: { _csrf: csrf, minutes: "60" } });
    expect(newLink.status).toBe(403);
    const otherEnable = await send("POST", `/admin/tenants/${other}/provisioning/enable`, { cookie, ip, form: { _csrf: csrf, provider: "okta" } });
    expect(otherEnable.status).toBe(403);
    expect((await admin("GET", `/tenants/${other}`)).body.scim.enabled).toBe(false);

    // The admin API never takes a console cookie.
    const api = await send("GET", `/admin/v1/tenants/${slug}`, { cookie, ip });
    expect(api.status).toBe(401);
    expect(api.headers.get("Content-Type")).toBe("application/problem+json");

    const audit = await auditRows(slug);
    expect(audit).toContainEqual(expect.objectContaining({ action: "setup_link.create", outcome: "success", actor: { type: "admin-token" } }));
    const used = audit.find((r) => r.action === "setup_link.use")!;
    expect(used).toMatchObject({ outcome: "success", ip, actor: { type: "setup-link" } });
    expect(used.actor.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("works once: a second opening, even racing, is refused with a page that says what to do", async () => {
    const slug = await tenant();
    const link = await createLink(slug, { returnUrl: "https://app.thestorage.example/back" });
    const ip = randomIp();
    const [a, b] = await Promise.all([redeem(link.url, ip), redeem(link.url, ip)]);
    expect([a.res.status, b.res.status].sort()).toEqual([303, 410]);
    const again = await redeem(link.url, ip);
    expect(again.res.status).toBe(410);
    expect(again.res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(again.res.headers.get("Set-Cookie")).toBeNull();
    expect(again.res.text).toContain("already been used");
    expect(again.res.text).toContain("Ask your TheStorage administrator for a new link");
    expect(again.res.text).toContain('href="https://app.thestorage.example/back"');
    const audit = await auditRows(slug);
    expect(audit.filter((r) => r.action === "setup_link.use").map((r) => r.outcome).sort()).toEqual(["failure", "failure", "success"]);
  });

  it("keeps a long return URL through the session cookie", async () => {
    const ip = randomIp();
    const slug = await tenant();
    const returnUrl = `https://app.thestorage.example/back?state=${"é".repeat(10)}${"x".repeat(900)}`;
    expect((await admin("POST", `/tenants/${slug}/setup-links`, { returnUrl: returnUrl + "y".repeat(200) })).status).toBe(400);
    const { cookie } = await redeem((await createLink(slug, { returnUrl })).url, ip);
    const page = await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie, ip });
    expect(page.status).toBe(200);
    expect(page.text).toContain(`href="${new URL(returnUrl).href}"`);
  });

  it("refuses an expired link and an unknown one", async () => {
    const slug = await tenant();
    const link = await createLink(slug, { expiresInMinutes: 1 });
    // Move the link's clock: it expired a second ago.
    await env.CONTROL_DB.prepare("UPDATE setup_links SET expires_at = ? WHERE expires_at = ?").bind(new Date(Date.now() - 1000).toISOString(), link.expiresAt).run();
    const ip = randomIp();
    const expired = await redeem(link.url, ip);
    expect(expired.res.status).toBe(410);
    expect(expired.res.text).toContain("has expired");
    expect(expired.res.text).toContain("Ask your TheStorage administrator for a new link");
    expect(expired.res.headers.get("Set-Cookie")).toBeNull();
    const unknown = await send("GET", `/admin/setup/${"A".repeat(43)}`, { ip });
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain("Ask your TheStorage administrator for a new link");
    const garbage = await send("GET", "/admin/setup/not-a-secret", { ip });
    expect(garbage.status).toBe(404);
  });

  it("lets the operator create a link from the tenant's provisioning page, shown once with a Copy button", async () => {
    const ip = randomIp();
    const slug = await tenant();
    const signIn = await send("POST", "/admin/sign-in", { ip, form: { token: ADMIN_TOKEN } });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get("Set-Cookie")!.split(";")[0]!;
    const page = await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie, ip });
    expect(page.text).toContain("Create setup link");
    // The panel's words match design.md §4c: default 5 minutes, at most 60; the session lasts an hour.
    expect(page.text).toContain("5 minutes by default, at most 60");
    expect(page.text).toMatch(/<option value="5" selected="">5 minutes \(default\)<\/option>/);
    expect(page.text).toContain('name="returnUrl"');
    // POST-redirect-GET: the POST answers 303; the page it leads to shows the link once.
    const created = await send("POST", `/admin/tenants/${slug}/setup-links`, { cookie, ip, form: { _csrf: csrfOf(page.text), minutes: "15", returnUrl: "https://app.thestorage.example/sso" } });
    expect(created.status).toBe(303);
    expect(created.headers.get("Location")).toBe(`/admin/tenants/${slug}/provisioning#setup-link-heading`);
    expect(created.text).not.toMatch(/admin\/setup\//);
    const flash = created.headers.get("Set-Cookie")!.split(";")[0]!;
    const shown = await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie: `${cookie}; ${flash}`, ip });
    const url = /<code id="setup-link-url">([^<]+)<\/code>/.exec(shown.text)?.[1];
    expect(url).toMatch(/\/admin\/setup\/[A-Za-z0-9_-]{43}$/);
    expect(shown.text).toContain('data-copy="setup-link-url"');
    expect(shown.headers.get("Set-Cookie")).toMatch(/Max-Age=0/); // read once, then dropped
    const again = await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie, ip });
    expect(again.text).not.toContain(url!);
    const { res, cookie: scoped } = await redeem(url!, ip);
    expect(res.status).toBe(303);
    // The return URL from the form is the IT admin's way back.
    expect((await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie: scoped, ip })).text).toContain('href="https://app.thestorage.example/sso"');
    const audit = await auditRows(slug);
    expect(audit.filter((r) => r.action === "setup_link.create")).toEqual([expect.objectContaining({ actor: { type: "console" } })]);
    const bad = await send("POST", `/admin/tenants/${slug}/setup-links`, { cookie, ip, form: { _csrf: csrfOf(page.text), minutes: "600" } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("Choose an expiry from 1 to 60 minutes.");
    const badReturn = await send("POST", `/admin/tenants/${slug}/setup-links`, { cookie, ip, form: { _csrf: csrfOf(page.text), minutes: "5", returnUrl: "javascript:alert(1)" } });
    expect(badReturn.status).toBe(400);
    expect(badReturn.text).toContain("The return URL must be an absolute https:// URL");
    expect(badReturn.text).toContain('value="javascript:alert(1)"');
    expect((await auditRows(slug)).filter((r) => r.action === "setup_link.create")).toHaveLength(1);
  });

  it("signs a scoped session out with directions back instead of the operator token form", async () => {
    const ip = randomIp();
    const slug = await tenant("Initech");
    const { cookie } = await redeem((await createLink(slug, { returnUrl: "https://app.thestorage.example/x" })).url, ip);
    const page = await send("GET", `/admin/tenants/${slug}/users`, { cookie, ip });
    const out = await send("POST", "/admin/sign-out", { cookie, ip, form: { _csrf: csrfOf(page.text) } });
    expect(out.status).toBe(200);
    expect(out.headers.get("Set-Cookie")).toMatch(/Max-Age=0/);
    expect(out.text).toContain("Your session for Initech has ended");
    expect(out.text).toContain('href="https://app.thestorage.example/x"');
    expect(out.text).not.toContain("Admin token");
  });

  it("ends the scoped session when its tenant is gone, even if the slug comes back", async () => {
    const ip = randomIp();
    const slug = await tenant();
    const { cookie } = await redeem((await createLink(slug)).url, ip);
    expect((await send("GET", `/admin/tenants/${slug}/users`, { cookie, ip })).status).toBe(200);
    // Same slug, another organisation (as after a delete and re-create).
    await env.CONTROL_DB.prepare("UPDATE tenants SET id = ? WHERE slug = ?").bind(crypto.randomUUID(), slug).run();
    const res = await send("GET", `/admin/tenants/${slug}/users`, { cookie, ip });
    expect(res.status).toBe(403);
    expect(res.text).toContain("no longer exists");
  });
});

describe("favicon", () => {
  it("answers /favicon.ico publicly with a long cache header", async () => {
    const res = await send("GET", "/favicon.ico", { ip: randomIp() });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("image/svg+xml");
    expect(res.headers.get("Cache-Control")).toMatch(/max-age=\d{6,}/);
    expect(res.text).toContain("<svg");
  });
});

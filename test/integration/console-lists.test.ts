// The console's lists as testers asked for them (issue 17): Users by status and in four orders,
// tenant cards with their user count (a maintained counter, not a count of rows) and last sync, the
// audit trail's filters; and the small things: GET / for a person, the user's title, https avatars.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { send, signIn, post } from "../support/console-session";
import { admin, oktaUser, request, scimTenant, uniqueSlug } from "../support/harness";

const namesIn = (html: string) => [...html.matchAll(/<a href="\/admin\/tenants\/[^/]+\/users\/[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]);

describe("console: Users list filters and sorting", () => {
  it("filters by status and sorts by creation or userName, keeping both across pages", async () => {
    const t = await scimTenant();
    const ids: Record<string, string> = {};
    for (const name of ["carol", "alice", "bob", "dave"]) {
      const res = await t.scim("POST", "/Users", oktaUser({ userName: `${name}@example.com`, displayName: name }));
      expect(res.status).toBe(201);
      ids[name] = res.body.id;
    }
    for (const name of ["bob", "dave"]) {
      expect((await t.scim("PATCH", `/Users/${ids[name]}`, { Operations: [{ op: "replace", value: { active: false } }] })).status).toBe(200);
    }
    const { cookie } = await signIn();
    const users = `/admin/tenants/${t.slug}/users`;
    const page = async (query: string) => {
      const res = await send("GET", `${users}${query}`, { cookie });
      expect(res.status, query).toBe(200);
      return res.text;
    };
    expect(namesIn(await page(""))).toEqual(["carol", "alice", "bob", "dave"]);
    expect(namesIn(await page("?sort=-created"))).toEqual(["dave", "bob", "alice", "carol"]);
    expect(namesIn(await page("?sort=userName"))).toEqual(["alice", "bob", "carol", "dave"]);
    expect(namesIn(await page("?sort=-userName"))).toEqual(["dave", "carol", "bob", "alice"]);
    expect(namesIn(await page("?status=active"))).toEqual(["carol", "alice"]);
    const inactive = await page("?status=deactivated&sort=userName");
    expect(namesIn(inactive)).toEqual(["bob", "dave"]);
    expect(inactive).toContain("1–2 of 2");
    expect(inactive).toMatch(/<option value="deactivated" selected="">Deactivated<\/option>/);
    expect(inactive).toMatch(/<option value="userName" selected="">/);
    // Unknown values fall back to the defaults instead of failing.
    expect(namesIn(await page("?status=nope&sort=DROP%20TABLE"))).toEqual(["carol", "alice", "bob", "dave"]);
    const none = await page("?status=deactivated&q=alice");
    expect(none).toContain("No matching users");
    expect(none).toContain("among deactivated users");
  });

  it("pages a filtered, sorted list with the filter and sort kept in the pager links", async () => {
    const t = await scimTenant();
    for (let i = 0; i < 27; i++) expect((await t.scim("POST", "/Users", oktaUser({ userName: `u${String(i).padStart(2, "0")}@example.com` }))).status).toBe(201);
    const { cookie } = await signIn();
    const first = await send("GET", `/admin/tenants/${t.slug}/users?status=active&sort=-userName`, { cookie });
    expect(first.text).toContain("1–25 of 27");
    expect(first.text).toContain(`href="/admin/tenants/${t.slug}/users?status=active&amp;sort=-userName&amp;start=26"`);
  });

  it("uses indexes for the status filter and the orders (no scan of the tenant's table, no temporary sort)", async () => {
    const plan = async (query: string) =>
      JSON.stringify((await env.TENANT_DEFAULT.prepare(`EXPLAIN QUERY PLAN ${query}`).bind("t").all()).results.map((r) => (r as { detail: string }).detail));
    const byStatus = await plan("SELECT * FROM users WHERE tenant_id = ? AND active = 0 ORDER BY created_at LIMIT 25");
    expect(byStatus).toContain("users_tenant_active_created");
    expect(byStatus).not.toContain("TEMP B-TREE");
    expect(await plan("SELECT count(*) FROM users WHERE tenant_id = ? AND active = 0")).toContain("COVERING INDEX users_tenant_active_created");
    const byName = await plan("SELECT * FROM users WHERE tenant_id = ? ORDER BY user_name_norm DESC LIMIT 25");
    expect(byName).toContain("users_tenant_user_name_norm");
    expect(byName).not.toContain("TEMP B-TREE");
    expect(await plan("SELECT * FROM resource_counts WHERE tenant_id IN (?) AND resource = 'users'")).toMatch(/SEARCH resource_counts USING INDEX sqlite_autoindex_resource_counts_1 \(tenant_id=\? AND resource=\?\)/);
  });
});

describe("console: tenant cards", () => {
  it("show each tenant's user count, kept with every create and delete, and its last sync", async () => {
    const t = await scimTenant();
    const { cookie } = await signIn();
    const card = async () => {
      const html = (await send("GET", "/admin/tenants", { cookie })).text;
      const start = html.indexOf(`<div class="mono small muted">${t.slug}</div>`);
      expect(start).toBeGreaterThan(-1);
      return html.slice(start, html.indexOf("</div></div>", start) + 1000);
    };
    expect(await card()).toContain("<strong>0 users</strong>");
    expect(await card()).toContain("Last sync: <span class=\"muted\">never</span>");
    const a = await t.scim("POST", "/Users", oktaUser());
    expect((await t.scim("POST", "/Users", oktaUser())).status).toBe(201);
    expect((await t.scim("POST", "/Users", { ...oktaUser(), userName: a.body.userName })).status).toBe(409); // refused: not counted
    expect(await card()).toContain("<strong>2 users</strong>");
    expect(await card()).toMatch(/Last sync: <time datetime="\d{4}-/);
    expect((await t.scim("DELETE", `/Users/${a.body.id}`)).status).toBe(204);
    expect(await card()).toContain("<strong>1 user</strong>");
    // The count is a row per tenant, not a count of users; a deleted tenant's row goes with it.
    const tenantId = (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(t.slug).first<{ id: string }>())!.id;
    expect(await env.TENANT_DEFAULT.prepare("SELECT n AS users FROM resource_counts WHERE tenant_id = ? AND resource = 'users'").bind(tenantId).first()).toEqual({ users: 1 });
    expect((await admin("DELETE", `/tenants/${t.slug}`)).status).toBe(204);
    expect(await env.TENANT_DEFAULT.prepare("SELECT n AS users FROM resource_counts WHERE tenant_id = ? AND resource = 'users'").bind(tenantId).first()).toBeNull();
  });
});

describe("console: audit trail filters", () => {
  it("filters by tenant, action family and outcome, and pages within the filter", async () => {
    const slug = uniqueSlug("aud");
    expect((await admin("POST", "/tenants", { slug })).status).toBe(201);
    expect((await admin("POST", `/tenants/${slug}/scim`)).status).toBe(201);
    expect((await admin("POST", `/tenants/${slug}/scim/token`)).status).toBe(201);
    expect((await send("POST", "/admin/sign-in", { form: { token: "wrong" } })).status).toBe(401);
    const { cookie } = await signIn();
    const rowsOf = (html: string) => [...html.matchAll(/<td class="mono">([a-z_.]+)<\/td>/g)].map((m) => m[1]);
    const byTenant = await send("GET", `/admin/audit?tenant=${slug}`, { cookie });
    expect(byTenant.status).toBe(200);
    expect(rowsOf(byTenant.text)).toEqual(["scim.regenerate", "scim.enable", "tenant.create"]);
    expect(byTenant.text).toContain(`value="${slug}"`);
    const scimOnly = await send("GET", `/admin/audit?tenant=${slug}&action=scim.`, { cookie });
    expect(rowsOf(scimOnly.text)).toEqual(["scim.regenerate", "scim.enable"]);
    const failures = await send("GET", "/admin/audit?action=console.sign_in&outcome=failure", { cookie });
    expect(rowsOf(failures.text).length).toBeGreaterThan(0);
    expect(new Set(rowsOf(failures.text))).toEqual(new Set(["console.sign_in"]));
    expect(failures.text).not.toContain("Signed in with the admin token.");
    const nothing = await send("GET", `/admin/audit?tenant=${slug}&outcome=failure`, { cookie });
    expect(nothing.text).toContain("No actions match these filters");
    // An unknown action value is ignored rather than failing.
    expect((await send("GET", `/admin/audit?action=%25&tenant=${slug}`, { cookie })).status).toBe(200);
  });
});

describe("small things testers tripped on", () => {
  it("sends a person who opens / to the console, and keeps API clients on the JSON 404", async () => {
    const browser = await send("GET", "/", { headers: { Accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
    expect(browser.status).toBe(303);
    expect(browser.headers.get("Location")).toBe("/admin");
    const api = await request("GET", "/");
    expect(api.status).toBe(404);
    expect(api.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    const scimClient = await send("GET", "/", { headers: { Accept: "application/scim+json" } });
    expect(scimClient.status).toBe(404);
  });

  it("shows the user's title, and the admin API refuses an http:// avatar as the console does", async () => {
    const t = await scimTenant();
    const user = await t.scim("POST", "/Users", oktaUser({ title: "Chief Engineer" }));
    const { cookie } = await signIn();
    const page = await send("GET", `/admin/tenants/${t.slug}/users/${user.body.id}`, { cookie });
    expect(page.text).toMatch(/<dt>Title<\/dt><dd>Chief Engineer<\/dd>/);
    const http = await admin("PATCH", `/tenants/${t.slug}/users/${user.body.id}`, { avatarUrl: "http://img.example/a.png" });
    expect(http.status).toBe(400);
    expect(http.body.detail).toContain("must use https://");
    const ok = await admin("PATCH", `/tenants/${t.slug}/users/${user.body.id}`, { avatarUrl: "https://img.example/a.png" });
    expect(ok.status).toBe(200);
    // The image carries the initials the console script falls back to when it fails to load.
    const list = await send("GET", `/admin/tenants/${t.slug}/users`, { cookie });
    expect(list.text).toMatch(/<img class="avatar" src="https:\/\/img.example\/a.png" alt="" data-initials="TU"/);
  });

  it("does not show 'HTTP 200' on the signed-out page of a setup-link session; errors keep their status", async () => {
    const t = await scimTenant();
    const link = await admin("POST", `/tenants/${t.slug}/setup-links`, {});
    const redeemed = await send("GET", new URL(link.body.url).pathname);
    const cookie = redeemed.headers.get("Set-Cookie")!.split(";")[0]!;
    const page = await send("GET", `/admin/tenants/${t.slug}/users`, { cookie });
    const out = await post({ cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1]! }, "/admin/sign-out");
    expect(out.status).toBe(200);
    expect(out.text).toContain("You are signed out");
    expect(out.text).not.toContain("HTTP 200");
    const { cookie: operator } = await signIn();
    const missing = await send("GET", "/admin/nowhere", { cookie: operator });
    expect(missing.text).toContain("HTTP 404");
  });
});

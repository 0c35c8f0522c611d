// Deleting a tenant (token refused at once, every row erased, other tenants untouched, 204 or 202
// with the rest in the background or the hourly job) and exporting its users as CSV.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { WorkBudget } from "../../src/lib/budget";
import { runRetention } from "../../src/jobs/retention";
import { TENANT_TABLES } from "../../src/repo/tenant-erasure";
import { eraseTenant, startTenantDeletion } from "../../src/services/tenant-lifecycle";
import { USER_CSV_COLUMNS } from "../../src/services/user-export";
import { admin, ADMIN_TOKEN, oktaUser, ORIGIN, scimTenant, uniqueSlug, type ScimTenant } from "../support/harness";
import { csrfOf, post, send, signIn } from "../support/console-session";

async function tenantRow(slug: string) {
  return env.CONTROL_DB.prepare("SELECT id, slug, database FROM tenants WHERE slug = ?1").bind(slug).first<{ id: string; slug: string; database: string }>();
}

async function count(db: D1Database, table: string, tenantId: string): Promise<number> {
  return (await db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE tenant_id = ?1`).bind(tenantId).first<{ n: number }>())!.n;
}

async function countsOf(db: D1Database, tenantId: string) {
  return Object.fromEntries(await Promise.all(TENANT_TABLES.map(async (t) => [t, await count(db, t, tenantId)] as const)));
}

async function controlCounts(tenantId: string) {
  const n = async (sql: string) => (await env.CONTROL_DB.prepare(sql).bind(tenantId).first<{ n: number }>())!.n;
  return {
    tenants: await n("SELECT COUNT(*) AS n FROM tenants WHERE id = ?1"),
    scim_tokens: await n("SELECT COUNT(*) AS n FROM scim_tokens WHERE tenant_id = ?1"),
    setup_links: await n("SELECT COUNT(*) AS n FROM setup_links WHERE tenant_id = ?1"),
    sso_connections: await n("SELECT COUNT(*) AS n FROM sso_connections WHERE tenant_id = ?1"),
  };
}

const NONE = Object.fromEntries(TENANT_TABLES.map((t) => [t, 0]));

/** A tenant with a user, a group with that member, its log, and a row in every other table. */
async function populatedTenant(database = "TENANT_DEFAULT"): Promise<{ tenant: ScimTenant; id: string }> {
  const tenant = await scimTenant({ database });
  const user = await tenant.scim("POST", "/Users", oktaUser());
  expect(user.status).toBe(201);
  await tenant.scim("POST", "/Users", oktaUser());
  const group = await tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: `G ${tenant.slug}`, members: [{ value: user.body.id }] });
  expect(group.status).toBe(201);
  // A role mapping (role_settings, role_rules).
  expect((await admin("PUT", `/tenants/${tenant.slug}/role-mappings`, { default: "viewer", rules: [{ group: group.body.id, role: "admin" }] })).status).toBe(200);
  const { id } = (await tenantRow(tenant.slug))!;
  const db = (env as unknown as Record<string, D1Database>)[database]!;
  const at = new Date().toISOString();
  await db.batch([
    db.prepare(`INSERT INTO change_events (id, tenant_id, type, occurred_at, data) VALUES (?1, ?2, 'user.created', ?3, '{}')`).bind(`evt_${crypto.randomUUID().replace(/-/g, "")}`, id, at),
    db.prepare(`INSERT INTO webhooks (id, tenant_id, url, secret_ciphertext, created_at) VALUES (?1, ?2, 'https://hooks.example.com/x', 'v1.x.y', ?3)`).bind(crypto.randomUUID(), id, at),
    db.prepare(`INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, type, attempt, status, at) VALUES (?1, 'wh', 'evt', 'user.created', 1, 'delivered', ?2)`).bind(id, at),
    db.prepare(`INSERT INTO webhook_pending (event_id, webhook_id, tenant_id, queued_at) VALUES (?1, 'wh', ?2, ?3)`).bind(crypto.randomUUID(), id, at),
    db.prepare(`INSERT INTO tenant_tokens (digest, tenant_id, token_id, prefix, provider, created_at) VALUES (?1, ?2, 'tok', 'tsscim_abcde', 'okta', ?3)`).bind(crypto.randomUUID(), id, at),
    db.prepare(`INSERT INTO sso_links (tenant_id, issuer, subject, user_id, created_at) VALUES (?1, 'https://idp.example', 'sub', ?2, ?3)`).bind(id, user.body.id, at),
    db.prepare(`INSERT INTO sso_attempts_used (state, tenant_id, expires_at) VALUES (?1, ?2, ?3)`).bind(crypto.randomUUID(), id, at),
    db.prepare(`INSERT INTO sso_tickets (digest, tenant_id, user_id, issuer, subject, protocol, created_at, expires_at) VALUES (?1, ?2, ?3, 'https://idp.example', 'sub', 'oidc', ?4, ?4)`).bind(crypto.randomUUID(), id, user.body.id, at),
    db.prepare(`INSERT INTO group_pushes (push_id, tenant_id, group_id, started_at) VALUES (?1, ?2, ?3, ?4)`).bind(crypto.randomUUID(), id, group.body.id, at),
    // The deactivation hold's window and held events (its settings row comes with the first user).
    db.prepare(`INSERT INTO deactivation_window (tenant_id, at, user_id) VALUES (?1, ?2, 'u')`).bind(id, at),
    db.prepare(`INSERT INTO held_changes (id, tenant_id, type, occurred_at, data) VALUES (?1, ?2, 'user.deactivated', ?3, '{}')`).bind(`evt_${crypto.randomUUID().replace(/-/g, "")}`, id, at),
    // Connection health (recorded off the response path; here for certain).
    db.prepare(`INSERT OR IGNORE INTO connection_health (tenant_id) VALUES (?1)`).bind(id),
    db.prepare(`INSERT OR IGNORE INTO connection_requests (tenant_id, bucket) VALUES (?1, '2000-01-01T00:00:00.000Z')`).bind(id),
  ]);
  await env.CONTROL_DB.prepare(`INSERT INTO sso_connections (tenant_id, protocol, issuer, client_id, client_secret_ciphertext, metadata, created_at, updated_at) VALUES (?1, 'oidc', 'https://idp.example', 'c', 'v1.x.y', '{}', ?2, ?2)`).bind(id, at).run();
  await env.CONTROL_DB.prepare(`INSERT INTO setup_links (id, tenant_id, digest, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?4)`).bind(crypto.randomUUID(), id, crypto.randomUUID(), at).run();
  for (const table of TENANT_TABLES) expect(await count(db, table, id), table).toBeGreaterThan(0);
  return { tenant, id };
}

async function insertEvents(db: D1Database, tenantId: string, n: number) {
  await db
    .prepare(
      `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?2)
       INSERT INTO events (tenant_id, at, action, resource_type, outcome, status, detail) SELECT ?1, ?3, 'user.create', 'User', 'success', 201, 'bulk' FROM c`,
    )
    .bind(tenantId, n, new Date().toISOString())
    .run();
}

async function deleteAudit(slug: string) {
  const events = (await admin("GET", "/audit?limit=500")).body.events as any[];
  return events.filter((e) => e.tenant === slug && e.action === "tenant.delete");
}

describe("DELETE /admin/v1/tenants/{slug}", () => {
  it("refuses the token at once, erases every row of the tenant, leaves the other tenant on the database as it was, and is audited once", async () => {
    const { tenant, id } = await populatedTenant();
    const other = await populatedTenant();
    const otherUsers = await admin("GET", `/tenants/${other.tenant.slug}/users?count=100`);
    const otherEvents = await admin("GET", `/tenants/${other.tenant.slug}/events?limit=500`);
    const otherCounts = await countsOf(env.TENANT_DEFAULT, other.id);

    const deleted = await admin("DELETE", `/tenants/${tenant.slug}`);
    expect(deleted.status).toBe(204);

    expect(await countsOf(env.TENANT_DEFAULT, id)).toEqual(NONE);
    expect(await controlCounts(id)).toEqual({ tenants: 0, scim_tokens: 0, setup_links: 0, sso_connections: 0 });
    const refused = await tenant.scim("GET", "/Users");
    expect(refused.status).toBe(401);
    expect((await admin("GET", `/tenants/${tenant.slug}`)).status).toBe(404);
    expect(((await admin("GET", "/tenants")).body.tenants as any[]).map((t) => t.slug)).not.toContain(tenant.slug);
    expect((await admin("DELETE", `/tenants/${tenant.slug}`)).status).toBe(404);

    expect(await admin("GET", `/tenants/${other.tenant.slug}/users?count=100`)).toMatchObject({ status: 200, body: otherUsers.body });
    expect((await admin("GET", `/tenants/${other.tenant.slug}/events?limit=500`)).body).toEqual(otherEvents.body);
    expect(await countsOf(env.TENANT_DEFAULT, other.id)).toEqual(otherCounts);
    expect((await other.tenant.scim("GET", "/Users")).status).toBe(200);

    const audit = await deleteAudit(tenant.slug);
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toEqual({ type: "admin-token" });
    expect(audit[0].detail).toMatch(/^erased at \d{4}-\d\d-\d\dT[^:]+:\d\d:\d\d\.\d{3}Z: /);
    expect(audit[0].detail).toContain("users 2");
    expect(audit[0].detail).toContain("groups 1");
    expect(audit[0].detail).toContain("group_members 1");
  });

  it("answers 202 for a large tenant and finishes the erasure off the response path", async () => {
    const { tenant, id } = await populatedTenant("TENANT_DEMO");
    await insertEvents(env.TENANT_DEMO, id, 30_000);
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request(`${ORIGIN}/admin/v1/tenants/${tenant.slug}`, { method: "DELETE", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } }), env, ctx);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ slug: tenant.slug, status: "erasing" });
    // Already gone for every lookup while the rows are still being erased.
    expect((await tenant.scim("GET", "/Users")).status).toBe(401);
    expect((await admin("GET", `/tenants/${tenant.slug}`)).status).toBe(404);
    await waitOnExecutionContext(ctx);
    expect(await countsOf(env.TENANT_DEMO, id)).toEqual(NONE);
    expect(await controlCounts(id)).toEqual({ tenants: 0, scim_tokens: 0, setup_links: 0, sso_connections: 0 });
    const audit = await deleteAudit(tenant.slug);
    expect(audit).toHaveLength(1);
    expect(audit[0].detail).toMatch(/^erased at .*events 300\d\d/);
  });

  it("leaves an unfinished erasure to the hourly job, which finishes it", async () => {
    const { tenant, id } = await populatedTenant();
    await insertEvents(env.TENANT_DEFAULT, id, 3000);
    const ref = (await tenantRow(tenant.slug))!;
    await startTenantDeletion(env, ref, { type: "admin-token" });
    expect((await tenant.scim("GET", "/Users")).status).toBe(401);
    expect(await eraseTenant(env, ref, new WorkBudget(10, Date.now() + 60_000), 1000)).toBe(false);
    const retaken = await admin("POST", "/tenants", { slug: tenant.slug });
    expect(retaken.status).toBe(409);
    expect(retaken.body.detail).toContain("is being deleted");
    expect(await count(env.TENANT_DEFAULT, "events", id)).toBeGreaterThan(0);
    expect((await deleteAudit(tenant.slug))[0].detail).toMatch(/^erasing: /);

    const report = await runRetention(env);
    expect(report.tenantsErased).toContain(tenant.slug);
    expect(await countsOf(env.TENANT_DEFAULT, id)).toEqual(NONE);
    expect(await controlCounts(id)).toEqual({ tenants: 0, scim_tokens: 0, setup_links: 0, sso_connections: 0 });
    expect((await deleteAudit(tenant.slug))[0].detail).toMatch(/^erased at /);
    // The slug is free again once the erasure finished.
    expect((await admin("POST", "/tenants", { slug: tenant.slug })).status).toBe(201);
  });

  it("is an operator action in the console, confirmed by typing the slug", async () => {
    const session = await signIn();
    const { tenant, id } = await populatedTenant();
    const settings = await send("GET", `/admin/tenants/${tenant.slug}/provisioning`, { cookie: session.cookie });
    expect(settings.text).toContain(`href="/admin/tenants/${tenant.slug}/delete"`);
    const confirm = await send("GET", `/admin/tenants/${tenant.slug}/delete`, { cookie: session.cookie });
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('name="confirm"');

    const wrong = await post(session, `/admin/tenants/${tenant.slug}/delete`, { confirm: "not-it" });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain(`Type ${tenant.slug} exactly`);
    expect((await admin("GET", `/tenants/${tenant.slug}`)).status).toBe(200);
    expect((await post(session, `/admin/tenants/${tenant.slug}/delete`, {})).status).toBe(400);
    const noCsrf = await send("POST", `/admin/tenants/${tenant.slug}/delete`, { cookie: session.cookie, form: { confirm: tenant.slug } });
    expect(noCsrf.status).toBe(403);

    const done = await post(session, `/admin/tenants/${tenant.slug}/delete`, { confirm: tenant.slug }, { waitUntil: true });
    expect(done.status).toBe(200);
    expect(done.text).toContain("deleted");
    expect(await countsOf(env.TENANT_DEFAULT, id)).toEqual(NONE);
    expect((await send("GET", `/admin/tenants/${tenant.slug}/users`, { cookie: session.cookie })).status).toBe(404);
    const audit = await deleteAudit(tenant.slug);
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toEqual({ type: "console" });
  });
});

describe("tenant lifecycle in a customer IT admin's (setup-link) session", () => {
  it("cannot export users, delete the tenant or read the audit trail: those are operator-only", async () => {
    const tenant = await scimTenant();
    await tenant.scim("POST", "/Users", oktaUser());
    const link = await admin("POST", `/tenants/${tenant.slug}/setup-links`, {});
    expect(link.status).toBe(201);
    const redeemed = await send("GET", new URL(link.body.url).pathname);
    expect(redeemed.status).toBe(303);
    const cookie = redeemed.headers.get("Set-Cookie")!.split(";")[0]!;

    const settings = await send("GET", `/admin/tenants/${tenant.slug}/provisioning`, { cookie });
    expect(settings.status).toBe(200);
    expect(settings.text).not.toContain(`/admin/tenants/${tenant.slug}/delete`);
    expect(settings.text).not.toContain('href="/admin/audit"');
    expect((await send("GET", `/admin/tenants/${tenant.slug}/delete`, { cookie })).status).toBe(403);
    expect((await send("POST", `/admin/tenants/${tenant.slug}/delete`, { cookie, form: { _csrf: csrfOf(settings.text), confirm: tenant.slug } })).status).toBe(403);
    expect((await send("GET", "/admin/audit", { cookie })).status).toBe(403);
    expect((await admin("GET", `/tenants/${tenant.slug}`)).status).toBe(200);

    // The CSV export is the operator's (the IT admin's panel says so): no button, and 403 by URL.
    const usersPage = await send("GET", `/admin/tenants/${tenant.slug}/users`, { cookie });
    expect(usersPage.status).toBe(200);
    expect(usersPage.text).not.toContain("Export CSV");
    const file = await send("GET", `/admin/tenants/${tenant.slug}/users/export`, { cookie });
    expect(file.status).toBe(403);
    expect(file.text).not.toContain("userName,");
    expect(settings.text).toContain("Only your TheStorage administrator can export users as CSV");
    const exported = ((await admin("GET", "/audit?limit=50")).body.events as any[]).find((e) => e.tenant === tenant.slug && e.action === "users.export");
    expect(exported).toBeUndefined();
  });
});

/** RFC 4180 parser for the test: quoted fields with doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  expect(field).toBe("");
  expect(row).toEqual([]);
  return rows;
}

describe("GET /admin/v1/tenants/{slug}/users/export", () => {
  it("answers CSV: the header row, one row per user, RFC 4180 quoting and the formula-injection guard", async () => {
    const tenant = await scimTenant();
    const tricky = await tenant.scim(
      "POST",
      "/Users",
      oktaUser({
        userName: "=HYPERLINK(\"https://evil.example\")@example.com",
        displayName: 'Doe, Jane "JD"',
        name: { givenName: "+Jane", familyName: "-Doe" },
        title: "@lead\nline two",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "Sales" },
        externalId: "00u-tricky",
      }),
    );
    expect(tricky.status).toBe(201);
    const plain = await tenant.scim("POST", "/Users", oktaUser({ active: false }));
    expect(plain.status).toBe(201);

    const res = await admin("GET", `/tenants/${tenant.slug}/users/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("Content-Disposition")).toBe(`attachment; filename="${tenant.slug}-users.csv"`);
    expect(res.text.split("\r\n")[0]).toBe("id,userName,displayName,email,active,source,role,externalId,givenName,familyName,title,department,avatarUrl,createdAt,updatedAt");
    const rows = parseCsv(res.text);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual([...USER_CSV_COLUMNS]);
    const byId = new Map(rows.slice(1).map((r) => [r[0], Object.fromEntries(USER_CSV_COLUMNS.map((c, i) => [c, r[i]]))]));
    expect(byId.get(tricky.body.id)).toMatchObject({
      userName: "'=HYPERLINK(\"https://evil.example\")@example.com",
      displayName: 'Doe, Jane "JD"',
      givenName: "'+Jane",
      familyName: "'-Doe",
      title: "'@lead\nline two",
      department: "Sales",
      externalId: "00u-tricky",
      active: "true",
      source: "okta",
      role: "member",
      avatarUrl: "",
      createdAt: tricky.body.meta.created,
    });
    expect(byId.get(plain.body.id)).toMatchObject({ userName: plain.body.userName, active: "false", email: plain.body.emails[0].value.toLowerCase() });
    // The quoting is in the raw text, not just the parse.
    expect(res.text).toContain('"Doe, Jane ""JD"""');
  });

  it("pages through every user of a large tenant and is audited", async () => {
    const tenant = await scimTenant({ database: "TENANT_DEMO" });
    const { id } = (await tenantRow(tenant.slug))!;
    const at = new Date().toISOString();
    await env.TENANT_DEMO.prepare(
      `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2100)
       INSERT INTO users (tenant_id, id, user_name, user_name_norm, data, created_at, updated_at)
       SELECT ?1, ?1 || '-' || n, 'bulk' || n, 'bulk' || n, '{}', ?2, ?2 FROM c`,
    )
      .bind(id, at)
      .run();
    const res = await admin("GET", `/tenants/${tenant.slug}/users/export`);
    expect(res.status).toBe(200);
    const rows = parseCsv(res.text).slice(1);
    expect(rows).toHaveLength(2100);
    expect(new Set(rows.map((r) => r[0])).size).toBe(2100);
    const audit = ((await admin("GET", "/audit?limit=50")).body.events as any[]).filter((e) => e.tenant === tenant.slug && e.action === "users.export");
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toEqual({ type: "admin-token" });
  });

  it("answers 404 for an unknown tenant, and the console serves the same file from the Users page", async () => {
    expect((await admin("GET", `/tenants/${uniqueSlug("none")}/users/export`)).status).toBe(404);
    const session = await signIn();
    const tenant = await scimTenant();
    await tenant.scim("POST", "/Users", oktaUser());
    const users = await send("GET", `/admin/tenants/${tenant.slug}/users`, { cookie: session.cookie });
    expect(users.text).toContain(`href="/admin/tenants/${tenant.slug}/users/export"`);
    const file = await send("GET", `/admin/tenants/${tenant.slug}/users/export`, { cookie: session.cookie });
    expect(file.status).toBe(200);
    expect(file.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(parseCsv(file.text)).toHaveLength(2);
    expect((await send("GET", `/admin/tenants/${tenant.slug}/users/export`)).status).toBe(303);
  });
});

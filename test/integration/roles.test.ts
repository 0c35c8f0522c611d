/**
 * Roles (design.md §4f): one effective role per user (mapping rules, then a catalogue role the IdP
 * pushed in `roles`, then the tenant's default), kept through every path that can change it, with
 * exactly one `user.role_changed` event per user whose role actually changed.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, oktaUser, scimTenant, type ScimTenant } from "../support/harness";

const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const patch = (...Operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });

async function tenantIdOf(slug: string): Promise<string> {
  return (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(slug).first<{ id: string }>())!.id;
}

interface RoleEvent {
  seq: number;
  type: string;
  resourceId: string;
  version: number;
  data: { tenant: string; version: number; user: Record<string, unknown>; role: string; previousRole: string };
}

/** The tenant's change events after `seq`, oldest first. */
async function changesAfter(t: ScimTenant, seq: number): Promise<RoleEvent[]> {
  const { results } = await env.TENANT_DEFAULT.prepare("SELECT seq, type, resource_id, version, data FROM change_events WHERE tenant_id = ? AND seq > ? ORDER BY seq")
    .bind(await tenantIdOf(t.slug), seq)
    .all<{ seq: number; type: string; resource_id: string; version: number; data: string }>();
  return results.map((r) => ({ seq: r.seq, type: r.type, resourceId: r.resource_id, version: r.version, data: JSON.parse(r.data) }));
}

async function lastSeq(t: ScimTenant): Promise<number> {
  const row = await env.TENANT_DEFAULT.prepare("SELECT max(seq) AS s FROM change_events WHERE tenant_id = ?").bind(await tenantIdOf(t.slug)).first<{ s: number | null }>();
  return row?.s ?? 0;
}

/** Runs `action` and returns the role changes it produced: `userId: previous→role`. */
async function roleChanges(t: ScimTenant, action: () => Promise<unknown>): Promise<string[]> {
  const from = await lastSeq(t);
  await action();
  return (await changesAfter(t, from)).filter((e) => e.type === "user.role_changed").map((e) => `${e.resourceId}: ${e.data.previousRole}→${e.data.role}`);
}

async function rolesOf(t: ScimTenant): Promise<Record<string, string>> {
  const r = await admin("GET", `/tenants/${t.slug}/users?count=200`);
  expect(r.status).toBe(200);
  return Object.fromEntries(r.body.users.map((u: { id: string; role: string }) => [u.id, u.role]));
}

async function createUser(t: ScimTenant, overrides: Record<string, unknown> = {}): Promise<string> {
  const r = await t.scim("POST", "/Users", oktaUser(overrides));
  expect(r.status).toBe(201);
  return r.body.id;
}

describe("the role catalogue and the pushed role", () => {
  it("a new user gets the default role; a catalogue role pushed in roles wins over it (Entra's primary \"True\" first)", async () => {
    const t = await scimTenant({ provider: "entra" });
    const plain = await createUser(t);
    const entra = await createUser(t, { roles: [{ value: "viewer" }, { value: "Admin", primary: "True", type: "WindowsAzureActiveDirectoryRole" }] });
    const unknown = await createUser(t, { roles: [{ value: "superuser", primary: true }] });
    expect(await rolesOf(t)).toEqual({ [plain]: "member", [entra]: "admin", [unknown]: "member" });

    const events = await changesAfter(t, 0);
    const created = events.find((e) => e.type === "user.created" && e.resourceId === entra)!;
    expect(created.data.user.role).toBe("admin");
    // Creation sets a role; it is not a change of one.
    expect(events.filter((e) => e.type === "user.role_changed")).toEqual([]);
  });

  it("a user's roles change (PATCH and PUT) yields one user.role_changed with previousRole, and none when the role stays", async () => {
    const t = await scimTenant();
    const id = await createUser(t);
    expect(await roleChanges(t, () => t.scim("PATCH", `/Users/${id}`, patch({ op: "add", path: "roles", value: [{ value: "admin", display: "Admin" }] })))).toEqual([`${id}: member→admin`]);
    // Same role again, another attribute changes: no role event.
    expect(await roleChanges(t, () => t.scim("PATCH", `/Users/${id}`, patch({ op: "replace", path: "displayName", value: "Renamed" })))).toEqual([]);

    const from = await lastSeq(t);
    const current = (await t.scim("GET", `/Users/${id}`)).body;
    await t.scim("PUT", `/Users/${id}`, { ...current, roles: [{ value: "viewer" }] });
    const events = await changesAfter(t, from);
    expect(events.map((e) => e.type)).toEqual(["user.updated", "user.role_changed"]);
    const [updated, changed] = events;
    expect(updated!.data.user.role).toBe("viewer");
    expect(changed!.data).toMatchObject({ role: "viewer", previousRole: "admin", tenant: t.slug });
    expect(changed!.data.user).toMatchObject({ id, role: "viewer", displayName: "Renamed", active: true });
    expect(changed!.version).toBe(changed!.data.version);
    // The payload built in SQL is the one built from the row (userPayload), field for field.
    expect(changed!.data.user).toEqual(await env.DIRECTORY.getUser(t.slug, id));
    expect(updated!.data.user).toEqual(await env.DIRECTORY.getUser(t.slug, id));
  });

  it("deactivation keeps the role (no event); a deactivating PUT that drops the pushed role moves it once", async () => {
    const t = await scimTenant();
    const id = await createUser(t, { roles: [{ value: "admin" }] });
    expect(await roleChanges(t, () => t.scim("PATCH", `/Users/${id}`, patch({ op: "replace", value: { active: false } })))).toEqual([]);
    expect((await rolesOf(t))[id]).toBe("admin");
    const current = (await t.scim("GET", `/Users/${id}`)).body;
    const { roles: _dropped, ...rest } = current;
    expect(await roleChanges(t, () => t.scim("PUT", `/Users/${id}`, { ...rest, active: false }))).toEqual([`${id}: admin→member`]);
  });
});

describe("role mappings", () => {
  let t: ScimTenant;
  let a: string; // pushed admin
  let b: string;
  let c: string;
  let group: string;

  beforeAll(async () => {
    t = await scimTenant();
    a = await createUser(t, { roles: [{ value: "admin" }] });
    b = await createUser(t);
    c = await createUser(t);
    group = (await t.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Engineering" })).body.id;
  });

  it("refuses an unknown role, an unknown group and another tenant's group with 400 problem details, writing nothing", async () => {
    const other = await scimTenant();
    const foreign = (await other.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Theirs" })).body.id;
    for (const body of [{ default: "root" }, { rules: [{ group, role: "owner" }] }, { rules: [{ group: "no-such-group", role: "admin" }] }, { rules: [{ group: foreign, role: "admin" }] }, { rules: "x" }]) {
      const r = await admin("PUT", `/tenants/${t.slug}/role-mappings`, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get("Content-Type")).toMatch(/application\/problem\+json/);
      expect(r.body.detail).toBeTruthy();
    }
    expect((await admin("GET", `/tenants/${t.slug}/role-mappings`)).body).toEqual({ roles: ["viewer", "member", "admin"], default: "member", rules: [] });
  });

  it("previews how many users a change moves, then saves it: one event per moved user, audited", async () => {
    const mapping = { default: "viewer", rules: [{ group, role: "admin" }] };
    const preview = await admin("POST", `/tenants/${t.slug}/role-mappings/preview`, mapping);
    expect(preview.status).toBe(200);
    expect(preview.body).toEqual({ changes: 2, moves: [{ from: "member", to: "viewer", users: 2 }] });
    // The preview wrote nothing.
    expect(await rolesOf(t)).toEqual({ [a]: "admin", [b]: "member", [c]: "member" });

    let saved: any;
    const moved = await roleChanges(t, async () => (saved = await admin("PUT", `/tenants/${t.slug}/role-mappings`, mapping)));
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ default: "viewer", rules: [{ group, groupName: "Engineering", role: "admin" }], changed: 2 });
    expect(moved.sort()).toEqual([`${b}: member→viewer`, `${c}: member→viewer`].sort());
    expect(await rolesOf(t)).toEqual({ [a]: "admin", [b]: "viewer", [c]: "viewer" });

    // Saving the same mapping again moves nobody.
    expect(await roleChanges(t, () => admin("PUT", `/tenants/${t.slug}/role-mappings`, mapping))).toEqual([]);
    const log = await admin("GET", `/tenants/${t.slug}/events?limit=5`);
    const entry = log.body.events.find((e: { action: string }) => e.action === "roles.mapping_update");
    expect(entry).toMatchObject({ outcome: "success" });
    expect(entry.detail).toContain("Engineering → admin");
    const audit = await admin("GET", "/audit?limit=20");
    expect(audit.body.events.some((e: { action: string; tenant: string; actor: { type: string } }) => e.action === "roles.mapping_update" && e.tenant === t.slug && e.actor.type === "admin-token")).toBe(true);
  });

  it("a membership change's role event carries the same user payload as the row (enterprise fields, custom values, avatar)", async () => {
    const d = await createUser(t, { title: "Engineer", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "R&D" } });
    const from = await lastSeq(t);
    await t.scim("PATCH", `/Groups/${group}`, patch({ op: "add", path: "members", value: [{ value: d }] }));
    const event = (await changesAfter(t, from)).find((e) => e.type === "user.role_changed")!;
    expect(event.data.user).toEqual(await env.DIRECTORY.getUser(t.slug, d));
    expect(event.data.user).toMatchObject({ title: "Engineer", department: "R&D", role: "admin", attributes: {} });
    await t.scim("PATCH", `/Groups/${group}`, patch({ op: "remove", path: "members", value: [{ value: d }] }));
    await t.scim("DELETE", `/Users/${d}`);
  });

  it("a membership PATCH moves exactly the members whose role changes (Okta add and remove)", async () => {
    // a is already admin (pushed): joining the admin group changes nothing for a.
    expect(await roleChanges(t, () => t.scim("PATCH", `/Groups/${group}`, patch({ op: "add", path: "members", value: [{ value: a }, { value: b }] })))).toEqual([`${b}: viewer→admin`]);
    // Again: nothing changes.
    expect(await roleChanges(t, () => t.scim("PATCH", `/Groups/${group}`, patch({ op: "add", path: "members", value: [{ value: b }] })))).toEqual([]);
    expect(await roleChanges(t, () => t.scim("PATCH", `/Groups/${group}`, patch({ op: "remove", path: `members[value eq "${b}"]` })))).toEqual([`${b}: admin→viewer`]);
  });

  it("a Push Now (PUT with the whole member list) moves each user once", async () => {
    const moved = await roleChanges(t, () => t.scim("PUT", `/Groups/${group}`, { schemas: [GROUP], displayName: "Engineering", members: [{ value: b }, { value: c }] }));
    expect(moved.sort()).toEqual([`${b}: viewer→admin`, `${c}: viewer→admin`].sort());
    // a left the group but keeps its pushed admin role.
    expect(await rolesOf(t)).toEqual({ [a]: "admin", [b]: "admin", [c]: "admin" });
  });

  it("the mapping decides before the pushed role: a roles change of a mapped member moves nothing until it leaves", async () => {
    expect(await roleChanges(t, () => t.scim("PATCH", `/Users/${c}`, patch({ op: "add", path: "roles", value: [{ value: "member" }] })))).toEqual([]);
    expect(await roleChanges(t, () => t.scim("PATCH", `/Groups/${group}`, patch({ op: "remove", path: "members", value: [{ value: c }] })))).toEqual([`${c}: admin→member`]);
  });

  it("a user's role-changed version supersedes its earlier events, and its next write is not refused for it", async () => {
    const before = (await t.scim("GET", `/Users/${b}`)).body;
    await t.scim("PATCH", `/Groups/${group}`, patch({ op: "remove", path: "members", value: [{ value: b }] }));
    const after = (await t.scim("GET", `/Users/${b}`)).body;
    expect(after.meta.version).not.toBe(before.meta.version);
    // The user's writer remembered the older row: its next write still succeeds.
    const r = await t.scim("PATCH", `/Users/${b}`, patch({ op: "replace", path: "title", value: "Lead" }));
    expect(r.status).toBe(200);
    expect(await rolesOf(t)).toMatchObject({ [b]: "viewer" });
    await t.scim("PATCH", `/Groups/${group}`, patch({ op: "add", path: "members", value: [{ value: b }] }));
  });

  it("deleting a mapped group moves its members as if they had left it, and removes its rule", async () => {
    const moved = await roleChanges(t, () => t.scim("DELETE", `/Groups/${group}`));
    expect(moved).toEqual([`${b}: admin→viewer`]);
    expect((await admin("GET", `/tenants/${t.slug}/role-mappings`)).body).toMatchObject({ default: "viewer", rules: [] });
    expect(await rolesOf(t)).toEqual({ [a]: "admin", [b]: "viewer", [c]: "member" });
  });

  it("an unmapped group's membership writes touch no role", async () => {
    const other = (await t.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Unmapped" })).body.id;
    expect(await roleChanges(t, () => t.scim("PATCH", `/Groups/${other}`, patch({ op: "add", path: "members", value: [{ value: b }, { value: c }] })))).toEqual([]);
  });
});

describe("rule order and scale", () => {
  it("the first rule in the admin's order decides; reordering moves the users in both groups", async () => {
    const t = await scimTenant();
    const u = await createUser(t);
    const g1 = (await t.scim("POST", "/Groups", { schemas: [GROUP], displayName: "G1", members: [{ value: u }] })).body.id;
    const g2 = (await t.scim("POST", "/Groups", { schemas: [GROUP], displayName: "G2", members: [{ value: u }] })).body.id;
    expect(await roleChanges(t, () => admin("PUT", `/tenants/${t.slug}/role-mappings`, { rules: [{ group: g1, role: "viewer" }, { group: g2, role: "admin" }] }))).toEqual([`${u}: member→viewer`]);
    expect((await admin("POST", `/tenants/${t.slug}/role-mappings/preview`, { rules: [{ group: g2, role: "admin" }, { group: g1, role: "viewer" }] })).body.changes).toBe(1);
    expect(await roleChanges(t, () => admin("PUT", `/tenants/${t.slug}/role-mappings`, { rules: [{ group: g2, role: "admin" }, { group: g1, role: "viewer" }] }))).toEqual([`${u}: viewer→admin`]);
  });

  it("a Push Now of 3,000 members into a mapped group gives each its role, one event each, in one write", async () => {
    const t = await scimTenant();
    const tenantId = await tenantIdOf(t.slug);
    const group = (await t.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Everyone" })).body.id;
    expect((await admin("PUT", `/tenants/${t.slug}/role-mappings`, { rules: [{ group, role: "admin" }] })).status).toBe(200);
    // 3,000 users straight into D1 (the SCIM path is tested above; here the membership write is what is measured).
    const now = new Date().toISOString();
    const ids = Array.from({ length: 3000 }, () => crypto.randomUUID());
    const statements = ids.map((id, i) =>
      env.TENANT_DEFAULT.prepare(
        "INSERT INTO users (tenant_id, id, user_name, user_name_norm, active, data, version, created_at, updated_at, role) VALUES (?, ?, ?, ?, 1, ?, 1, ?, ?, 'member')",
      ).bind(tenantId, id, `bulk${i}@example.com`, `bulk${i}@example.com`, JSON.stringify({ userName: `bulk${i}@example.com` }), now, now),
    );
    for (let i = 0; i < statements.length; i += 500) await env.TENANT_DEFAULT.batch(statements.slice(i, i + 500));
    const from = await lastSeq(t);
    const r = await t.scim("PUT", `/Groups/${group}`, { schemas: [GROUP], displayName: "Everyone", members: ids.map((value) => ({ value })) });
    expect(r.status).toBe(200);
    const events = (await changesAfter(t, from)).filter((e) => e.type === "user.role_changed");
    expect(events.length).toBe(3000);
    expect(new Set(events.map((e) => e.resourceId)).size).toBe(3000);
    const counts = await env.TENANT_DEFAULT.prepare("SELECT role, count(*) AS n FROM users WHERE tenant_id = ? GROUP BY role").bind(tenantId).all();
    expect(counts.results).toEqual([{ role: "admin", n: 3000 }]);

    // More users than one page (2,000): the preview and the save each walk the tenant in pages.
    const unmapped = { default: "viewer", rules: [] };
    expect((await admin("POST", `/tenants/${t.slug}/role-mappings/preview`, unmapped)).body).toEqual({ changes: 3000, moves: [{ from: "admin", to: "viewer", users: 3000 }] });
    const saved = await admin("PUT", `/tenants/${t.slug}/role-mappings`, unmapped);
    expect(saved.body.changed).toBe(3000);
    const after = await env.TENANT_DEFAULT.prepare("SELECT role, count(*) AS n FROM users WHERE tenant_id = ? GROUP BY role").bind(tenantId).all();
    expect(after.results).toEqual([{ role: "viewer", n: 3000 }]);
  });

  it("the role computation walks the rules by index and probes memberships by key (no scan of the tenant)", async () => {
    const plan = async (sql: string) =>
      (await env.TENANT_DEFAULT.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind("t", "u").all<{ detail: string }>()).results.map((r) => r.detail).join("\n");
    const detail = await plan("SELECT r.role FROM role_rules r JOIN group_members m ON m.group_id = r.group_id AND m.member_id = ?2 AND m.tenant_id = r.tenant_id WHERE r.tenant_id = ?1 ORDER BY r.position LIMIT 1");
    expect(detail).toMatch(/SEARCH r USING (INDEX|PRIMARY KEY).*tenant_id=\?/);
    expect(detail).toMatch(/SEARCH m USING INDEX sqlite_autoindex_group_members_1 \(group_id=\? AND member_id=\?\)/);
    expect(detail).not.toMatch(/TEMP B-TREE/);
    const mapped = await plan("SELECT 1 FROM role_rules WHERE tenant_id = ?1 AND group_id = ?2");
    expect(mapped).toMatch(/USING (COVERING )?INDEX role_rules_tenant_group/);
  });
});

describe("Okta's entitlement discovery: the Role resource type and /Roles", () => {
  it("/ResourceTypes lists Role with Okta's Role schema at /Roles, and /Schemas describes it", async () => {
    const t = await scimTenant();
    const types = await t.scim("GET", "/ResourceTypes");
    expect(types.status).toBe(200);
    const role = types.body.Resources.find((r: { id: string }) => r.id === "Role");
    expect(role).toMatchObject({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], name: "Role", endpoint: "/Roles", schema: "urn:okta:scim:schemas:core:1.0:Role" });
    expect(role.meta.location).toBe(`https://scim.test${t.base}/ResourceTypes/Role`);
    expect((await t.scim("GET", "/ResourceTypes/Role")).body.endpoint).toBe("/Roles");
    const schema = await t.scim("GET", "/Schemas/urn:okta:scim:schemas:core:1.0:Role");
    expect(schema.status).toBe(200);
    expect(schema.body.attributes.map((a: { name: string }) => a.name)).toEqual(["displayName", "description"]);
    expect((await t.scim("GET", "/Schemas")).body.Resources.map((s: { id: string }) => s.id)).toContain("urn:okta:scim:schemas:core:1.0:Role");
  });

  it("/Roles lists the catalogue lowest first as a ListResponse; one role by id; filters and pages; read-only", async () => {
    const t = await scimTenant();
    const list = await t.scim("GET", "/Roles");
    expect(list.status).toBe(200);
    expect(list.headers.get("Content-Type")).toMatch(/application\/scim\+json/);
    expect(list.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 3, startIndex: 1, itemsPerPage: 3 });
    expect(list.body.Resources.map((r: { id: string }) => r.id)).toEqual(["viewer", "member", "admin"]);
    expect(list.body.Resources[2]).toEqual({
      schemas: ["urn:okta:scim:schemas:core:1.0:Role"],
      id: "admin",
      displayName: "admin",
      description: expect.stringContaining("3 of 3"),
      meta: { resourceType: "Role", location: `https://scim.test${t.base}/Roles/admin` },
    });
    const one = await t.scim("GET", "/Roles/Admin");
    expect(one.status).toBe(200);
    expect(one.body.id).toBe("admin");
    expect((await t.scim("GET", "/Roles/root")).status).toBe(404);
    const page = await t.scim("GET", "/Roles?startIndex=2&count=1");
    expect(page.body).toMatchObject({ totalResults: 3, itemsPerPage: 1, startIndex: 2, Resources: [{ id: "member" }] });
    const filtered = await t.scim("GET", `/Roles?filter=${encodeURIComponent('displayName eq "viewer"')}`);
    expect(filtered.body.Resources.map((r: { id: string }) => r.id)).toEqual(["viewer"]);
    expect((await t.scim("POST", "/Roles", { displayName: "x" })).status).toBe(405);
    // Without a token: refused like every SCIM path.
    expect((await t.scim("GET", "/Roles", undefined, { Authorization: "Bearer tsscim_nope" })).status).toBe(401);
  });

  it("Okta assigns a role read from /Roles through roles[].value (PATCH add, then replace), and unassigns it", async () => {
    const t = await scimTenant();
    const id = await createUser(t);
    const [roleId] = (await t.scim("GET", "/Roles?filter=" + encodeURIComponent('id eq "admin"'))).body.Resources.map((r: { id: string }) => r.id);
    expect(await roleChanges(t, () => t.scim("PATCH", `/Users/${id}`, patch({ op: "add", path: "roles", value: [{ value: roleId, display: "admin" }] })))).toEqual([`${id}: member→admin`]);
    expect((await t.scim("GET", `/Users/${id}`)).body.roles).toEqual([{ value: "admin", display: "admin" }]);
    expect(await roleChanges(t, () => t.scim("PATCH", `/Users/${id}`, patch({ op: "replace", path: "roles", value: [{ value: "viewer" }] })))).toEqual([`${id}: admin→viewer`]);
    expect(await roleChanges(t, () => t.scim("PATCH", `/Users/${id}`, patch({ op: "remove", path: "roles" })))).toEqual([`${id}: viewer→member`]);
  });

  it("Entra's app-role shape: roles with primary \"True\" on PATCH (capitalised op, no path)", async () => {
    const t = await scimTenant({ provider: "entra" });
    const id = await createUser(t);
    const body = patch({ op: "Add", path: "roles", value: [{ primary: "True", type: "WindowsAzureActiveDirectoryRole", value: "admin" }] });
    expect(await roleChanges(t, () => t.scim("PATCH", `/Users/${id}`, body))).toEqual([`${id}: member→admin`]);
    const user = (await t.scim("GET", `/Users/${id}`)).body;
    expect(user.roles).toEqual([{ primary: true, type: "WindowsAzureActiveDirectoryRole", value: "admin" }]);
    // SingleAppRoleAssignment mapped to roles[primary eq "True"].value: a filtered-path replace.
    const filtered = await t.scim("PATCH", `/Users/${id}`, patch({ op: "Replace", path: 'roles[primary eq "True"].value', value: "viewer" }));
    expect(filtered.status).toBe(200);
    expect((await rolesOf(t))[id]).toBe("viewer");
  });

  it("Entra's AppRoleAssignmentsComplex (the role as JSON in value) and Entra's group membership PATCH shapes", async () => {
    const t = await scimTenant({ provider: "entra" });
    const id = await createUser(t);
    const complex = JSON.stringify({ id: crypto.randomUUID(), value: "admin", displayName: "Administrator" });
    expect(await roleChanges(t, () => t.scim("PATCH", `/Users/${id}`, patch({ op: "Add", path: "roles", value: [{ value: complex }] })))).toEqual([`${id}: member→admin`]);
    const other = await createUser(t);
    const group = (await t.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Entra Admins", externalId: crypto.randomUUID() })).body.id;
    expect((await admin("PUT", `/tenants/${t.slug}/role-mappings`, { rules: [{ group, role: "admin" }] })).status).toBe(200);
    expect(await roleChanges(t, () => t.scim("PATCH", `/Groups/${group}`, patch({ op: "Add", path: "members", value: [{ value: other }] })))).toEqual([`${other}: member→admin`]);
    expect(await roleChanges(t, () => t.scim("PATCH", `/Groups/${group}`, patch({ op: "Remove", path: "members", value: [{ value: other }] })))).toEqual([`${other}: admin→member`]);
  });
});

describe("query plans of the role statements", () => {
  it("a membership write's recompute and a mapping save's page reach users by key, never by scanning the tenant", async () => {
    const { SQLiteAsyncDialect } = await import("drizzle-orm/sqlite-core");
    const { sql } = await import("drizzle-orm");
    const { refreshMembersRoles, refreshRoles } = await import("../../src/repo/roles");
    const dialect = new SQLiteAsyncDialect();
    const scope = { tenantId: "t", tenantSlug: "s", catalogueDefault: "member", at: "2026-01-01T00:00:00.000Z" };
    const plans = async (statements: unknown[]) => {
      const out: string[] = [];
      for (const statement of statements) {
        const q = dialect.sqlToQuery(statement as Parameters<typeof dialect.sqlToQuery>[0]);
        const rows = await env.TENANT_DEFAULT.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).bind(...q.params).all<{ detail: string }>();
        out.push(rows.results.map((r) => r.detail).join("\n"));
      }
      return out;
    };
    const membership = await plans(refreshMembersRoles(scope, "g", JSON.stringify(["a", "b"]), sql`1`));
    const page = await plans(refreshRoles(scope, sql`u.id IN (SELECT id FROM users WHERE tenant_id = 't' AND id > '' ORDER BY id LIMIT 2000)`));
    for (const plan of [...membership, ...page]) {
      expect(plan).not.toMatch(/SCAN (u|users)\b(?! USING)/);
      expect(plan).toMatch(/SEARCH (u|users) USING (INDEX users_tenant_id|INTEGER PRIMARY KEY|INDEX sqlite_autoindex_users_1|COVERING INDEX users_tenant_id)/);
      expect(plan).toMatch(/SEARCH m USING INDEX sqlite_autoindex_group_members_1 \(group_id=\? AND member_id=\?\)/);
    }
  });
});

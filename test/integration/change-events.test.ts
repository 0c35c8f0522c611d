/**
 * The transactional outbox (design.md §4b): exactly one change event of the right type per
 * committed change, written in the change's own D1 batch; none for refused or no-op writes.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { connectedTenant } from "../support/connection";
import { admin, ORIGIN, oktaUser, scimTenant, type ScimTenant } from "../support/harness";
import { PUSH_CHUNK } from "../../src/repo/group-push";

interface Change {
  seq: number;
  id: string;
  type: string;
  resource_id: string | null;
  version: number | null;
  data: string;
  log_id: number | null;
}

async function tenantIdOf(slug: string): Promise<string> {
  const row = await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(slug).first<{ id: string }>();
  return row!.id;
}

/** Every change event of the tenant, oldest first. */
async function changesOf(t: ScimTenant): Promise<(Change & { payload: Record<string, any> })[]> {
  const { results } = await env.TENANT_DEFAULT.prepare("SELECT * FROM change_events WHERE tenant_id = ? ORDER BY seq").bind(await tenantIdOf(t.slug)).all<Change>();
  return results.map((r) => ({ ...r, payload: JSON.parse(r.data) }));
}

async function typesAfter(t: ScimTenant, seq: number): Promise<string[]> {
  return (await changesOf(t)).filter((c) => c.seq > seq).map((c) => c.type);
}

const lastSeq = async (t: ScimTenant) => (await changesOf(t)).at(-1)?.seq ?? 0;

describe("change events: users (Okta flow)", () => {
  it("create, update, deactivate, reactivate, delete: one event each, with the user's new version", async () => {
    const t = await connectedTenant(); // its first request's connection.health_changed already in, before `start`;
    const start = await lastSeq(t);
    const created = await t.scim("POST", "/Users", oktaUser({ title: "Engineer", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "R&D" } }));
    expect(created.status).toBe(201);
    const id = created.body.id;
    await t.scim("PUT", `/Users/${id}`, { ...created.body, displayName: "Renamed" });
    await t.scim("PATCH", `/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] });
    await t.scim("PATCH", `/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: true }] });
    await t.scim("DELETE", `/Users/${id}`);

    const events = (await changesOf(t)).filter((c) => c.seq > start);
    expect(events.map((e) => e.type)).toEqual(["user.created", "user.updated", "user.deactivated", "user.reactivated", "user.deleted"]);
    expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(events.map((e) => e.id)).size).toBe(5);
    for (const e of events) {
      expect(e.id).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(e.resource_id).toBe(id);
      expect(e.payload.tenant).toBe(t.slug);
      expect(e.payload.version).toBe(e.version);
    }
    const user = events[0].payload.user;
    expect(user).toMatchObject({ id, userName: created.body.userName, externalId: created.body.externalId, title: "Engineer", department: "R&D", active: true, source: "okta", avatarUrl: null });
    expect(user.emails[0].value).toBe(created.body.emails[0].value);
    expect(user.name.givenName).toBe("Test");
    expect(events[1].payload.user.displayName).toBe("Renamed");
    expect(events[2].payload.user.active).toBe(false);
  });

  it("links each change event to the provisioning-log row of its write", async () => {
    const t = await scimTenant();
    const created = await t.scim("POST", "/Users", oktaUser());
    const change = (await changesOf(t)).find((c) => c.type === "user.created")!;
    const log = await env.TENANT_DEFAULT.prepare("SELECT id, action, resource_id FROM events WHERE id = ?").bind(change.log_id).first<{ action: string; resource_id: string }>();
    expect(log).toMatchObject({ action: "user.create", resource_id: created.body.id });
  });

  it("refused and no-op writes yield none", async () => {
    const t = await scimTenant();
    const body = oktaUser();
    const created = await t.scim("POST", "/Users", body);
    const id = created.body.id;
    const start = await lastSeq(t);

    expect((await t.scim("POST", "/Users", body)).status).toBe(409); // duplicate userName
    expect((await t.scim("PUT", `/Users/${id}`, created.body)).status).toBe(200); // unchanged (Okta re-sends)
    expect((await t.scim("PATCH", `/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "password", value: "x" }] })).status).toBe(400);
    expect((await t.scim("PATCH", `/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: true } }] })).status).toBe(200); // already active
    expect((await t.scim("PUT", `/Users/${id}`, { ...created.body, displayName: "x" }, { "If-Match": 'W/"99"' })).status).toBe(412);
    expect((await t.scim("DELETE", "/Users/00000000-0000-0000-0000-000000000000")).status).toBe(404);
    expect((await t.scim("POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"] })).status).toBe(400);

    expect(await typesAfter(t, start)).toEqual([]);
  });

  it("the avatar (TheStorage-owned) is a user.updated carrying avatarUrl", async () => {
    const t = await scimTenant();
    const created = await t.scim("POST", "/Users", oktaUser());
    const start = await lastSeq(t);
    expect((await admin("PATCH", `/tenants/${t.slug}/users/${created.body.id}`, { avatarUrl: "https://cdn.example.com/a.png" })).status).toBe(200);
    const [event] = (await changesOf(t)).filter((c) => c.seq > start);
    expect(event.type).toBe("user.updated");
    expect(event.payload.user.avatarUrl).toBe("https://cdn.example.com/a.png");
  });
});

describe("change events: groups and memberships", () => {
  async function users(t: ScimTenant, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await t.scim("POST", "/Users", oktaUser())).body.id);
    return ids;
  }

  it("Okta Group Push: create with members, rename, add and remove one, Push Now, delete", async () => {
    const t = await scimTenant();
    const [a, b, c] = await users(t, 3);
    const start = await lastSeq(t);

    const group = await t.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Eng", members: [{ value: a }, { value: b }] });
    expect(group.status).toBe(201);
    const gid = group.body.id;
    const patch = (Operations: unknown[]) => t.scim("PATCH", `/Groups/${gid}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });
    await patch([{ op: "replace", value: { id: gid, displayName: "Engineering" } }]);
    await patch([{ op: "add", path: "members", value: [{ value: c }] }]);
    await patch([{ op: "remove", path: `members[value eq "${a}"]` }]);
    await patch([{ op: "replace", path: "members", value: [{ value: a }] }]); // Push Now: a in, b and c out
    await patch([{ op: "replace", value: { id: gid, displayName: "Engineering" } }]); // Okta re-sends: no-op
    await t.scim("DELETE", `/Groups/${gid}`);

    const events = (await changesOf(t)).filter((e) => e.seq > start);
    const summary = events.map((e) => `${e.type}${e.payload.user ? `:${[a, b, c].indexOf(e.payload.user.id)}` : ""}@${e.version}`);
    expect(summary.slice(0, 3).sort()).toEqual(["group.created@1", "group.user_added:0@1", "group.user_added:1@1"]);
    expect(summary[3]).toBe("group.updated@2");
    expect(summary[4]).toBe("group.user_added:2@3");
    expect(summary[5]).toBe("group.user_removed:0@4");
    expect(summary.slice(6, 9).sort()).toEqual(["group.user_added:0@5", "group.user_removed:1@5", "group.user_removed:2@5"]);
    expect(summary.slice(9)).toEqual(["group.deleted@6"]);
    const added = events.find((e) => e.type === "group.user_added")!;
    expect(added.payload.group).toEqual({ id: gid, displayName: "Eng", externalId: null });
    expect(added.payload.user).toMatchObject({ id: expect.any(String), userName: expect.any(String) });
    expect(events.find((e) => e.type === "group.updated")!.payload.group.displayName).toBe("Engineering");
  });

  it("deleting a user emits a group.user_removed per group it was in, before user.deleted, in the same batch; each group's version moves", async () => {
    const t = await scimTenant();
    const [a, b] = await users(t, 2);
    const group = (name: string, members: string[]) => t.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: name, members: members.map((value) => ({ value })) });
    const beta = (await group("Beta", [a, b])).body;
    const alpha = (await group("Alpha", [a])).body;
    const other = (await group("Other", [b])).body;
    const userName = (await t.scim("GET", `/Users/${a}`)).body.userName;
    const start = await lastSeq(t);

    expect((await t.scim("DELETE", `/Users/${a}`)).status).toBe(204);
    const events = (await changesOf(t)).filter((e) => e.seq > start);
    // Memberships first, so a receiver applying events in order never holds a membership of a deleted user.
    expect(events.map((e) => [e.type, e.resource_id, e.version])).toEqual([
      ["group.user_removed", alpha.id, 2],
      ["group.user_removed", beta.id, 2],
      ["user.deleted", a, 2],
    ]);
    expect(events[0]!.payload).toEqual({ tenant: t.slug, version: 2, group: { id: alpha.id, displayName: "Alpha", externalId: null }, user: { id: a, userName, externalId: expect.any(String) } });
    // One write: one log row, linked from all three.
    expect(new Set(events.map((e) => e.log_id)).size).toBe(1);
    const log = await env.TENANT_DEFAULT.prepare("SELECT action, resource_id FROM events WHERE id = ?").bind(events[0]!.log_id).first();
    expect(log).toEqual({ action: "user.delete", resource_id: a });
    // The groups it left changed (members), so their version and ETag moved; the other did not.
    for (const [g, version] of [[alpha, 2], [beta, 2], [other, 1]] as const) {
      const read = await t.scim("GET", `/Groups/${g.id}`);
      expect(read.body.meta.version).toBe(`W/"${version}"`);
    }
    expect((await t.scim("GET", `/Groups/${beta.id}`)).body.members.map((m: { value: string }) => m.value)).toEqual([b]);
    // A group write with the old ETag is refused; with the new one it goes through.
    const rename = (etag: string) => t.scim("PATCH", `/Groups/${beta.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { displayName: "Beta 2" } }] }, { "If-Match": etag });
    expect((await rename('W/"1"')).status).toBe(412);
    expect([200, 204]).toContain((await rename('W/"2"')).status);
    // A user in no group: user.deleted alone.
    const lone = (await users(t, 1))[0]!;
    const before = await lastSeq(t);
    await t.scim("DELETE", `/Users/${lone}`);
    expect(await typesAfter(t, before)).toEqual(["user.deleted"]);
  });

  it("Entra: member add and remove by PATCH with a value list; unknown members yield nothing", async () => {
    const t = await scimTenant({ provider: "entra" });
    const [a, b] = await users(t, 2);
    const group = await t.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Entra group", externalId: "e-1" });
    const gid = group.body.id;
    const start = await lastSeq(t);
    const patch = (Operations: unknown[]) => t.scim("PATCH", `/Groups/${gid}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });
    await patch([{ op: "Add", path: "members", value: [{ value: a }, { value: b }, { value: "not-a-user" }] }]);
    await patch([{ op: "Remove", path: "members", value: [{ value: b }] }]);
    await patch([{ op: "Remove", path: "members", value: [{ value: b }] }]); // already gone: no-op
    expect((await typesAfter(t, start)).sort()).toEqual(["group.user_added", "group.user_added", "group.user_removed"]);
  });

  it("a 5,000-member Push Now yields one group.user_added per member", async () => {
    const t = await scimTenant();
    const tenantId = await tenantIdOf(t.slug);
    // Seed users straight into D1 (the API path is covered above; this is about the batch's size).
    const now = new Date().toISOString();
    const ids = Array.from({ length: 5000 }, () => crypto.randomUUID());
    const statements = ids.map((id, i) =>
      env.TENANT_DEFAULT.prepare("INSERT INTO users (tenant_id, id, user_name, user_name_norm, active, data, version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, 1, ?, ?)").bind(
        tenantId,
        id,
        `bulk${i}@example.com`,
        `bulk${i}@example.com`,
        JSON.stringify({ userName: `bulk${i}@example.com`, active: true }),
        now,
        now,
      ),
    );
    for (let i = 0; i < statements.length; i += 500) await env.TENANT_DEFAULT.batch(statements.slice(i, i + 500));
    const group = await t.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "All" });
    const start = await lastSeq(t);
    const pushed = await t.scim("PATCH", `/Groups/${group.body.id}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: "members", value: ids.map((value) => ({ value })) }],
    });
    expect(pushed.status).toBeLessThan(300);
    const events = (await changesOf(t)).filter((e) => e.seq > start);
    expect(events).toHaveLength(5000);
    expect(new Set(events.map((e) => e.payload.user.id))).toEqual(new Set(ids));
    // Applied in chunks (services/group-push.ts): the push's commit is version 2, then each chunk of
    // at most PUSH_CHUNK members moves the group up one version, which its events carry.
    expect(events.every((e) => e.type === "group.user_added" && e.version! >= 3 && e.version! <= 2 + 5000 / PUSH_CHUNK)).toBe(true);
    expect(new Set(events.map((e) => e.version)).size).toBe(5000 / PUSH_CHUNK);
  });
});

describe("change events: the connection", () => {
  it("enable, regenerate and disable: one event each; disabling what is off yields none", async () => {
    const t = await scimTenant({ provider: "entra" });
    expect((await admin("POST", `/tenants/${t.slug}/scim/token`)).status).toBe(201);
    expect((await admin("DELETE", `/tenants/${t.slug}/scim`)).status).toBe(204);
    expect((await admin("DELETE", `/tenants/${t.slug}/scim`)).status).toBe(204);
    const events = await changesOf(t);
    expect(events.map((e) => e.type)).toEqual(["connection.enabled", "connection.token_rotated", "connection.disabled"]);
    expect(events[0].payload.connection).toEqual({ provider: "entra", tokenPrefix: t.token.slice(0, 12) });
    expect(events[1].payload.connection.provider).toBe("entra");
    expect(events[1].payload.connection.tokenPrefix).not.toBe(t.token.slice(0, 12));
    expect(events[0].version!).toBeLessThanOrEqual(events[1].version!);
    expect(events[1].version!).toBeLessThanOrEqual(events[2].version!);
  });
});

describe("change events: atomic with their change", () => {
  it("a write batch that fails leaves neither the change nor its event", async () => {
    const t = await scimTenant();
    const real = env.TENANT_DEFAULT;
    // The batch gets one more statement that fails, as if the database had failed part-way: D1
    // runs a batch as one transaction, so the user, its log row and its change event all roll back.
    const failing = new Proxy(real, {
      get(target, prop) {
        if (prop === "batch") return (statements: D1PreparedStatement[]) => target.batch([...statements, target.prepare("INSERT INTO no_such_table VALUES (1)")]);
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const body = oktaUser();
    const ctx = createExecutionContext();
    const response = await worker.fetch(
      new Request(`${ORIGIN}/api/${t.slug}/scim/v2/Users`, { method: "POST", headers: { Authorization: `Bearer ${t.token}`, "Content-Type": "application/scim+json" }, body: JSON.stringify(body) }),
      { ...env, TENANT_DEFAULT: failing },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBeGreaterThanOrEqual(400);
    const tenantId = await tenantIdOf(t.slug);
    const user = await real.prepare("SELECT id FROM users WHERE tenant_id = ? AND user_name = ?").bind(tenantId, body.userName).first();
    expect(user).toBeNull();
    expect((await changesOf(t)).map((c) => c.type)).toEqual(["connection.enabled"]);
    const logged = await real.prepare("SELECT outcome FROM events WHERE tenant_id = ? AND action = 'user.create'").bind(tenantId).all<{ outcome: string }>();
    expect(logged.results.map((r) => r.outcome)).toEqual(["failure"]);
  });
});

// Issue 18 (design.md §4h): Okta's Push Now of a large group (one PATCH replacing `members`, several
// MB) is accepted and applied in bounded chunks by the group's Durable Object: exactly the members
// sent, one change event per member added or removed, and a push whose object died is finished.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { drizzle } from "drizzle-orm/d1";
import { tenantSchema } from "../../src/db/tenant/schema";
import { PUSH_CHUNK } from "../../src/repo/group-push";
import { getGroup } from "../../src/repo/groups";
import { ApiError } from "../../src/scim/errors";
import { resumePush, runPush, type PushChunk, type PushJournal, type PushState } from "../../src/services/group-push";
import { rolesOf } from "../../src/roles/config";
import type { TenantDb } from "../../src/tenancy/tenant-db";
import { scimTenant, type ScimTenant } from "../support/harness";

const db = env.TENANT_DEFAULT;
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

async function tenantIdOf(slug: string): Promise<string> {
  return (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(slug).first<{ id: string }>())!.id;
}

/** `n` users written straight into D1 (ids `<prefix>-000001` …), as the benchmark seeds them. */
async function seedUsers(tenantId: string, prefix: string, n: number, from = 1): Promise<string[]> {
  const at = new Date().toISOString();
  await db
    .prepare(
      `WITH RECURSIVE c(n) AS (SELECT ?3 UNION ALL SELECT n + 1 FROM c WHERE n < ?4)
       INSERT INTO users (tenant_id, id, user_name, user_name_norm, display_name, email, active, data, source, version, created_at, updated_at)
       SELECT ?1, ?2 || '-' || printf('%06d', n), ?2 || n || '@example.com', ?2 || n || '@example.com', 'User ' || n, ?2 || n || '@example.com', 1,
              json_object('userName', ?2 || n || '@example.com', 'displayName', 'User ' || n, 'active', json('true')), 'okta', 1, ?5, ?5
       FROM c`,
    )
    .bind(tenantId, prefix, from, from + n - 1, at)
    .run();
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(from + i).padStart(6, "0")}`);
}

const replaceMembers = (tenant: ScimTenant, groupId: string, ids: string[], display = "") =>
  tenant.scim("PATCH", `/Groups/${groupId}`, {
    schemas: [PATCH],
    Operations: [{ op: "replace", path: "members", value: ids.map((value) => (display ? { value, display } : { value })) }],
  });

async function memberIds(groupId: string): Promise<string[]> {
  return (await db.prepare("SELECT member_id AS id FROM group_members WHERE group_id = ? ORDER BY member_id").bind(groupId).all<{ id: string }>()).results.map((r) => r.id);
}

/** The group's membership events: per type, how many, for how many distinct users, and the most in one version. */
async function membershipEvents(groupId: string) {
  const rows = await db
    .prepare(
      `SELECT type, count(*) AS n, count(DISTINCT json_extract(data, '$.user.id')) AS users,
              (SELECT max(k) FROM (SELECT count(*) AS k FROM change_events e WHERE e.resource_id = ?1 AND e.type = c.type GROUP BY e.version)) AS perVersion,
              count(DISTINCT version) AS versions, sum(version = json_extract(data, '$.version')) AS consistent
       FROM change_events c WHERE resource_id = ?1 AND type IN ('group.user_added', 'group.user_removed') GROUP BY type`,
    )
    .bind(groupId)
    .all<{ type: string; n: number; users: number; perVersion: number; versions: number; consistent: number }>();
  return Object.fromEntries(rows.results.map((r) => [r.type, r]));
}

async function lastLog(groupId: string) {
  return db.prepare("SELECT action, detail, status FROM events WHERE resource_id = ? ORDER BY id DESC LIMIT 1").bind(groupId).first<{ action: string; detail: string; status: number }>();
}

const pendingPushes = async (tenantId: string) => (await db.prepare("SELECT count(*) AS n FROM group_pushes WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;

describe("large group pushes", () => {
  it("accepts a Push Now over 1 MB and applies it in chunks: exactly those members, one event each, no chunk over PUSH_CHUNK", async () => {
    const tenant = await scimTenant();
    const tenantId = await tenantIdOf(tenant.slug);
    const users = await seedUsers(tenantId, "p", 3700);
    const group = await tenant.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Everyone" });
    expect(group.status).toBe(201);
    const first = users.slice(0, 2500);
    const unknown = ["nobody-1", "nobody-2", "nobody-3"];
    // Okta sends each member's display: 2,503 members of ~470 bytes is over the 1 MB every other request keeps.
    const pushed = await replaceMembers(tenant, group.body.id, [...first, ...unknown], "d".repeat(420));
    expect(pushed.status, pushed.text).toBe(204);
    expect(await memberIds(group.body.id)).toEqual([...first].sort());
    let events = await membershipEvents(group.body.id);
    expect(events["group.user_added"]).toMatchObject({ n: 2500, users: 2500, versions: Math.ceil(2500 / PUSH_CHUNK), consistent: 2500 });
    expect(events["group.user_added"]!.perVersion).toBeLessThanOrEqual(PUSH_CHUNK);
    expect(await lastLog(group.body.id)).toEqual({ action: "group.members", status: 204, detail: "added 2500 members; skipped 3 unknown member ids: nobody-1, nobody-2, nobody-3" });
    expect(await pendingPushes(tenantId)).toBe(0);
    const read = await tenant.scim("GET", `/Groups/${group.body.id}`);
    expect(read.body.members).toHaveLength(2500);
    // The version the IdP reads afterwards is past every membership event's.
    expect(read.body.meta.version).toBe(`W/"${1 + 1 + Math.ceil(2500 / PUSH_CHUNK)}"`);

    // Replace again: keep 1,000, drop 1,500, add 1,200.
    const second = [...users.slice(0, 1000), ...users.slice(2500, 3700)];
    expect((await replaceMembers(tenant, group.body.id, second)).status).toBe(204);
    expect(await memberIds(group.body.id)).toEqual([...second].sort());
    events = await membershipEvents(group.body.id);
    expect(events["group.user_added"]).toMatchObject({ n: 3700, users: 3700 });
    expect(events["group.user_removed"]).toMatchObject({ n: 1500, users: 1500, consistent: 1500 });
    expect(events["group.user_removed"]!.perVersion).toBeLessThanOrEqual(PUSH_CHUNK);
    expect((await lastLog(group.body.id))!.detail).toBe("added 1200 members; removed 1500 members");

    // The same list once more changes nothing.
    expect((await replaceMembers(tenant, group.body.id, second)).status).toBe(204);
    expect((await membershipEvents(group.body.id))["group.user_added"]!.n).toBe(3700);
  });

  it("still refuses a body over 16 MiB, and 1 MB elsewhere", async () => {
    const tenant = await scimTenant();
    const group = await tenant.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Huge" });
    const huge = await replaceMembers(tenant, group.body.id, Array.from({ length: 200_000 }, (_, i) => `id-${i}`), "x".repeat(60));
    expect(huge.status).toBe(413);
    expect(huge.body.scimType).toBe("tooLarge");
    const create = await tenant.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Big create", members: Array.from({ length: 20_000 }, (_, i) => ({ value: `id-${i}`, display: "x".repeat(60) })) });
    expect(create.status).toBe(413);
  });

  it("finishes a committed push whose object died, from its alarm; drops one that never committed", async () => {
    const tenant = await scimTenant();
    const tenantId = await tenantIdOf(tenant.slug);
    const users = await seedUsers(tenantId, "r", 1500);
    const group = await tenant.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Resumed", members: [{ value: users[0] }] });
    const groupId: string = group.body.id;
    const stub = env.SCIM_WRITER.getByName(`${tenantId}:group:${groupId}`);
    const at = new Date().toISOString();
    // What the object leaves behind when it dies right after the commit: the journal and the committed push row.
    const { meta } = await db.batch([
      db.prepare("UPDATE groups SET version = version + 1 WHERE id = ?").bind(groupId),
      db.prepare("INSERT INTO events (tenant_id, at, action, resource_type, resource_id, target, outcome, status, detail) VALUES (?, ?, 'group.members', 'Group', ?, 'Resumed', 'success', 204, 'in progress')").bind(tenantId, at, groupId),
    ]).then((r) => r[1]!);
    const logId = meta.last_row_id;
    await db.prepare("INSERT INTO group_pushes (push_id, tenant_id, group_id, log_id, started_at) VALUES ('push-1', ?, ?, ?, ?)").bind(tenantId, groupId, logId, at).run();
    const membership = { tenantId, occurredAt: at, resourceId: groupId, version: null, data: { tenant: tenant.slug, version: null, group: { id: groupId, displayName: "Resumed", externalId: null } } };
    const chunks = [{ op: "remove", ids: [users[0]] }, { op: "add", ids: users.slice(1, 1001) }, { op: "add", ids: users.slice(1001) }];
    const journal = (state: object) =>
      runInDurableObject(stub, async (_instance, storage) => {
        await storage.storage.put(Object.fromEntries(chunks.map((c, i) => [`push:chunk:${i}`, c])));
        await storage.storage.put("push:state", { tenant: { id: tenantId, slug: tenant.slug, database: "TENANT_DEFAULT" }, groupId, chunks: chunks.length, membership, changed: [], ...state });
        await storage.storage.setAlarm(Date.now() + 60_000);
      });
    await journal({ pushId: "push-1" });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await memberIds(groupId)).toEqual(users.slice(1).sort());
    const events = await membershipEvents(groupId);
    expect(events["group.user_added"]).toMatchObject({ n: 1 + 1499, users: 1500 });
    expect(events["group.user_removed"]).toMatchObject({ n: 1, users: 1 });
    expect(await pendingPushes(tenantId)).toBe(0);
    expect((await lastLog(groupId))!.detail).toBe("added 1499 members; removed 1 member");
    expect(await runInDurableObject(stub, (_i, state) => state.storage.get("push:state"))).toBeUndefined();

    // A journal whose commit never happened (no push row) is dropped by the next write, which goes on.
    await journal({ pushId: "push-never-committed" });
    const removed = await tenant.scim("PATCH", `/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: "remove", path: `members[value eq "${users[1]}"]` }] });
    expect(removed.status).toBe(204);
    expect(await memberIds(groupId)).toEqual(users.slice(2).sort());
    expect(await runInDurableObject(stub, (_i, state) => state.storage.get("push:state"))).toBeUndefined();
  });

  it("applies a 100,000-member Push Now: exactly those members, one event each", async () => {
    const tenant = await scimTenant();
    const tenantId = await tenantIdOf(tenant.slug);
    const users = await seedUsers(tenantId, "h", 100_000);
    const group = await tenant.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Everyone at scale" });
    const pushed = await replaceMembers(tenant, group.body.id, users, "Firstname Lastname");
    expect(pushed.status, pushed.text).toBe(204);
    const counted = await db.prepare("SELECT count(*) AS n, count(DISTINCT member_id) AS d FROM group_members WHERE group_id = ?").bind(group.body.id).first<{ n: number; d: number }>();
    expect(counted).toEqual({ n: 100_000, d: 100_000 });
    const events = await membershipEvents(group.body.id);
    expect(events["group.user_added"]).toMatchObject({ n: 100_000, users: 100_000, versions: 100_000 / PUSH_CHUNK });
    expect(await pendingPushes(tenantId)).toBe(0);
  }, 600_000);
});

describe("large named-member PATCHes", () => {
  it("adds and removes more than a chunk's worth of named members through the chunked path", async () => {
    const tenant = await scimTenant();
    const tenantId = await tenantIdOf(tenant.slug);
    const users = await seedUsers(tenantId, "n", 2600);
    const group = await tenant.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Named" });
    const add = await tenant.scim("PATCH", `/Groups/${group.body.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: users.map((value) => ({ value })) }] });
    expect(add.status, add.text).toBe(204);
    expect(await memberIds(group.body.id)).toEqual([...users].sort());
    // Entra's removal with a value list.
    const remove = await tenant.scim("PATCH", `/Groups/${group.body.id}`, { schemas: [PATCH], Operations: [{ op: "remove", path: "members", value: users.slice(0, 1200).map((value) => ({ value })) }] });
    expect(remove.status, remove.text).toBe(204);
    expect(await memberIds(group.body.id)).toEqual(users.slice(1200).sort());
    const events = await membershipEvents(group.body.id);
    expect(events["group.user_added"]).toMatchObject({ n: 2600, users: 2600 });
    expect(events["group.user_removed"]).toMatchObject({ n: 1200, users: 1200 });
    expect(events["group.user_removed"]!.perVersion).toBeLessThanOrEqual(PUSH_CHUNK);
  });
});

describe("a push that outlasts the IdP's patience", () => {
  it("answers 429 with Retry-After once its time is up, the push committed; the rest is applied by the resume", async () => {
    const tenant = await scimTenant();
    const tenantId = await tenantIdOf(tenant.slug);
    const users = await seedUsers(tenantId, "l", 2500);
    const group = await tenant.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Slow" });
    const tdb = drizzle(db, { schema: tenantSchema }) as TenantDb;
    const current = (await getGroup(tdb, tenantId, group.body.id))!;
    // The object's storage, in memory: what runPush keeps there and what resumePush reads.
    let kept: { state: PushState; chunks: PushChunk[] } | null = null;
    let resumeAsked = false;
    const journal: PushJournal = {
      save: async (state, chunks) => void (kept = { state, chunks }),
      load: async () => (kept ? { state: kept.state, chunk: async (i) => kept!.chunks[i]! } : null),
      clear: async () => void (kept = null),
      resumeSoon: async () => void (resumeAsked = true),
    };
    const at = new Date().toISOString();
    const ctx = { db: tdb, tenant: { id: tenantId, slug: tenant.slug, database: "TENANT_DEFAULT" }, actor: { tokenPrefix: "test", provider: "okta" }, roles: rolesOf(env), journal };
    const event = { tenantId, at, resourceType: "Group" as const, tokenPrefix: "test", actor: null, action: "group.members", resourceId: current.id, target: "Slow", outcome: "success" as const, status: 204, detail: "in progress" };
    const changes = { displayName: "Slow", displayNameNorm: "slow", externalId: null, data: current.data, updatedAt: at };
    const refused = await runPush(ctx, current, { changes, changed: [], add: users, remove: [] }, event, () => [], 0).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    expect((refused as ApiError).headers?.["Retry-After"]).toBe("10");
    expect(resumeAsked).toBe(true);
    // Committed (the push row, the version), nothing applied yet.
    expect(await pendingPushes(tenantId)).toBe(1);
    expect(await memberIds(current.id)).toEqual([]);
    expect((await getGroup(tdb, tenantId, current.id))!.version).toBe(current.version + 1);
    // What the alarm then does.
    await resumePush(journal, () => tdb);
    expect(await memberIds(current.id)).toEqual([...users].sort());
    expect(await pendingPushes(tenantId)).toBe(0);
    expect(kept).toBeNull();
    expect((await lastLog(current.id))!.detail).toBe("added 2500 members");
  });
});

// Issue 18 (design.md §4h): member lookups by primary key, maintained totals and pages read from
// the nearer end, the trigram text index behind substring filters and the admin search, and
// GET /Groups pages bounded in members.
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { sql, type SQL } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { insertMembershipChangesWhen } from "../../src/repo/change-events";
import { listGroupRows } from "../../src/repo/groups";
import { admin, oktaUser, scimTenant } from "../support/harness";

const queryOf = (statement: SQL): [string, ...unknown[]] => {
  const query = new SQLiteAsyncDialect().sqlToQuery(statement);
  return [query.sql, ...query.params];
};

const plan = async (query: string, ...params: unknown[]) =>
  (await env.TENANT_DEFAULT.prepare(`EXPLAIN QUERY PLAN ${query}`).bind(...params).all<{ detail: string }>()).results.map((r) => r.detail).join("\n");

describe("tenant size", () => {
  it("looks members up by primary key, never through the tenant's created_at index", async () => {
    // The membership insert, the existing-ids check and the membership change events of a push.
    const members = await plan(
      "INSERT INTO group_members (tenant_id, group_id, member_id, created_at) SELECT ?, ?, u.id, ? FROM users u WHERE u.tenant_id = ? AND u.id IN (?, ?, ?) ON CONFLICT DO NOTHING",
      "t", "g", "x", "t", "a", "b", "c",
    );
    expect(members).toContain("users_tenant_id (tenant_id=? AND id=?)");
    // A push's membership events, read in the users' creation order: still by primary key, sorted after.
    const events = await plan(...queryOf(insertMembershipChangesWhen({ tenantId: "t", occurredAt: "x", resourceId: "g", version: 2, data: {} }, "group.user_added", ["a", "b", "c"], sql`1`)));
    expect(events).toContain("users_tenant_id (tenant_id=? AND id=?)");
    expect(events).not.toContain("users_tenant_created");
    const named = await plan("SELECT u.id FROM users u WHERE u.tenant_id = ? AND u.id IN (SELECT value FROM json_each(?))", "t", '["a"]');
    expect(named).toContain("(tenant_id=? AND id=?)");
    const groupMembers = await plan(
      "SELECT u.id FROM group_members gm JOIN users u ON u.id = gm.member_id WHERE gm.tenant_id = ? AND gm.group_id = ? ORDER BY gm.created_at, gm.member_id",
      "t", "g",
    );
    expect(groupMembers).toContain("group_members_tenant_group (tenant_id=? AND group_id=?)");
    expect(groupMembers).not.toContain("TEMP B-TREE");
  });

  it("keeps totals and every page right, from either end, through creates and deletes", async () => {
    const tenant = await scimTenant();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await tenant.scim("POST", "/Users", oktaUser())).body.id);
    expect((await tenant.scim("DELETE", `/Users/${ids[2]}`)).status).toBe(204);
    const left = ids.filter((_, i) => i !== 2);
    for (let start = 1; start <= 7; start++) {
      const page = await tenant.scim("GET", `/Users?startIndex=${start}&count=2`);
      expect(page.body.totalResults).toBe(6);
      expect(page.body.Resources.map((r: { id: string }) => r.id)).toEqual(left.slice(start - 1, start + 1));
    }
    expect((await tenant.scim("GET", "/Users?count=0")).body.totalResults).toBe(6);
    const groups = await tenant.scim("GET", "/Groups");
    expect(groups.body.totalResults).toBe(0);
  });

  it("finds substrings through the text index, and follows renames", async () => {
    const tenant = await scimTenant();
    const a = await tenant.scim("POST", "/Users", oktaUser({ displayName: 'Zoë "Quoted" Ölander', name: { givenName: "Marie-Zoë", familyName: "Curie" } }));
    await tenant.scim("POST", "/Users", oktaUser({ displayName: "Somebody Else" }));
    const find = async (filter: string) => (await tenant.scim("GET", `/Users?filter=${encodeURIComponent(filter)}`)).body.Resources?.map((r: { id: string }) => r.id) ?? [];
    expect(await find('displayName co "\\"quoted\\" Ö"')).toEqual([a.body.id]);
    expect(await find('name.givenName sw "marie"')).toEqual([a.body.id]);
    expect(await find('name.familyName ew "URIE"')).toEqual([a.body.id]);
    expect(await find(`emails.value co "${a.body.emails[0].value.slice(2, 12)}"`)).toEqual([a.body.id]);
    expect(await find('displayName co "quoted" and not (displayName co "nobody")')).toEqual([a.body.id]);
    const patched = await tenant.scim("PATCH", `/Users/${a.body.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "displayName", value: "Renamed Person" }] });
    expect(patched.status).toBe(200);
    expect(await find('displayName co "quoted"')).toEqual([]);
    expect(await find('displayName co "named pers"')).toEqual([a.body.id]);
    expect((await tenant.scim("DELETE", `/Users/${a.body.id}`)).status).toBe(204);
    expect(await find('displayName co "named pers"')).toEqual([]);
  });

  it("admin search never answers 500, whatever the length, and stays a case-insensitive substring match", async () => {
    const tenant = await scimTenant();
    const long = "A".repeat(30) + "-very-long-display-name-part-" + "b".repeat(30);
    const user = await tenant.scim("POST", "/Users", oktaUser({ displayName: long }));
    const search = (q: string) => admin("GET", `/tenants/${tenant.slug}/users?q=${encodeURIComponent(q)}`);
    for (const q of [long.toLowerCase(), long.slice(5, 70).toUpperCase(), "%_\\".repeat(40), "x".repeat(200)]) {
      const found = await search(q);
      expect(found.status, q).toBe(200);
    }
    expect((await search(long.toLowerCase())).body.users.map((u: { id: string }) => u.id)).toEqual([user.body.id]);
    expect((await search(long.slice(5, 70).toUpperCase())).body.users.map((u: { id: string }) => u.id)).toEqual([user.body.id]);
    expect((await search("ab")).body.totalResults).toBeGreaterThanOrEqual(0);
    expect((await search(user.body.userName.slice(3, 9).toUpperCase())).body.users.map((u: { id: string }) => u.id)).toEqual([user.body.id]);
  });

  it("bounds a GET /Groups page by members: fewer groups than count, the first always whole", async () => {
    const tenant = await scimTenant();
    const users: string[] = [];
    for (let i = 0; i < 5; i++) users.push((await tenant.scim("POST", "/Users", oktaUser())).body.id);
    const group = (name: string, members: string[]) => tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: name, members: members.map((value) => ({ value })) });
    const g1 = (await group("One", users.slice(0, 3))).body.id;
    const g2 = (await group("Two", users.slice(0, 2))).body.id;
    const g3 = (await group("Three", users)).body.id;
    const tenantId = (await admin("GET", `/tenants/${tenant.slug}`)).body.id ?? (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(tenant.slug).first<{ id: string }>())!.id;
    const db = drizzle(env.TENANT_DEFAULT);
    const page = (offset: number, maxMembers: number) => listGroupRows(db as never, tenantId, { offset, limit: 10 }, { withMembers: true, maxMembers });
    let got = await page(0, 5);
    expect(got.total).toBe(3);
    expect(got.rows.map((r) => r.id)).toEqual([g1, g2]);
    expect(got.members.get(g2)?.length).toBe(2);
    got = await page(2, 4); // one group over the budget still comes, alone
    expect(got.rows.map((r) => r.id)).toEqual([g3]);
    expect(got.members.get(g3)?.length).toBe(5);
    got = await page(0, 100);
    expect(got.rows.map((r) => r.id)).toEqual([g1, g2, g3]);
    // Through HTTP: startIndex pages on from what the client got.
    const listed = await tenant.scim("GET", "/Groups?count=100");
    expect(listed.body.Resources.map((r: { id: string }) => r.id)).toEqual([g1, g2, g3]);
  });
});

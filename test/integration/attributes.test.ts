/**
 * Custom user attributes per tenant (design.md §4f) in the extension schema
 * `urn:ietf:params:scim:schemas:extension:thestorage:2.0:User`: defined over the admin API,
 * discovered, validated by type, filtered and sorted, carried everywhere a user goes, invisible to
 * other tenants, and erased when their definition is removed.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, oktaUser, scimTenant, type ScimTenant } from "../support/harness";

const EXT = "urn:ietf:params:scim:schemas:extension:thestorage:2.0:User";
const patch = (...Operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });

const DEFINITIONS = [
  { name: "costCenter", type: "string", description: "Finance cost centre" },
  { name: "clearance", type: "integer" },
  { name: "badges", type: "string", multiValued: true },
  { name: "onCall", type: "boolean" },
  { name: "startDate", type: "dateTime" },
  { name: "rate", type: "decimal" },
];

async function changesOf(t: ScimTenant, type: string) {
  const tenantId = (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(t.slug).first<{ id: string }>())!.id;
  const { results } = await env.TENANT_DEFAULT.prepare("SELECT resource_id, data FROM change_events WHERE tenant_id = ? AND type = ? ORDER BY seq").bind(tenantId, type).all<{ resource_id: string; data: string }>();
  return results.map((r) => ({ id: r.resource_id, data: JSON.parse(r.data) }));
}

describe("defining custom attributes", () => {
  it("refuses bad definitions with 400 problem details naming the field", async () => {
    const t = await scimTenant();
    const bad: unknown[] = [
      { attributes: [{ name: "1abc", type: "string" }] },
      { attributes: [{ name: "has_underscore", type: "string" }] },
      { attributes: [{ name: "x", type: "complex" }] },
      { attributes: [{ name: "a", type: "string" }, { name: "A", type: "integer" }] },
      { attributes: Array.from({ length: 51 }, (_, i) => ({ name: `a${i}`, type: "string" })) },
      { attributes: [{ name: "a", type: "string", multiValued: "yes" }] },
      { nope: true },
    ];
    for (const body of bad) {
      const r = await admin("PUT", `/tenants/${t.slug}/attributes`, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.headers.get("Content-Type")).toMatch(/problem\+json/);
    }
    expect((await admin("GET", `/tenants/${t.slug}/attributes`)).body).toEqual({ schema: EXT, attributes: [] });
    expect((await admin("PUT", `/tenants/no-such-tenant-x/attributes`, { attributes: [] })).status).toBe(404);
  });

  it("a custom attribute named like a fixed CSV column gets its own column, custom:<name>", async () => {
    const t = await scimTenant();
    expect((await admin("PUT", `/tenants/${t.slug}/attributes`, { attributes: [{ name: "title", type: "string" }] })).status).toBe(200);
    await t.scim("POST", "/Users", oktaUser({ title: "Engineer", [EXT]: { title: "Dr" } }));
    const [header, row] = (await admin("GET", `/tenants/${t.slug}/users/export`)).text.split("\r\n");
    expect(header!.endsWith(",updatedAt,custom:title")).toBe(true);
    expect(row).toContain(",Engineer,");
    expect(row!.endsWith(",Dr")).toBe(true);
  });

  it("50 attributes are accepted", async () => {
    const t = await scimTenant();
    const r = await admin("PUT", `/tenants/${t.slug}/attributes`, { attributes: Array.from({ length: 50 }, (_, i) => ({ name: `a${i}`, type: "string" })) });
    expect(r.status).toBe(200);
    expect(r.body.attributes).toHaveLength(50);
  });
});

describe("custom attributes through SCIM", () => {
  let t: ScimTenant;
  let other: ScimTenant;
  let id: string;

  beforeAll(async () => {
    t = await scimTenant();
    other = await scimTenant();
    const saved = await admin("PUT", `/tenants/${t.slug}/attributes`, { attributes: DEFINITIONS });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ schema: EXT, added: DEFINITIONS.map((d) => d.name), removed: [], erasedFromUsers: 0 });
  });

  it("are listed in that tenant's /Schemas and User /ResourceTypes (required: false), and nowhere else", async () => {
    const schema = await t.scim("GET", `/Schemas/${EXT}`);
    expect(schema.status).toBe(200);
    expect(schema.body.attributes.map((a: { name: string; type: string; multiValued: boolean }) => [a.name, a.type, a.multiValued])).toEqual([
      ["costCenter", "string", false],
      ["clearance", "integer", false],
      ["badges", "string", true],
      ["onCall", "boolean", false],
      ["startDate", "dateTime", false],
      ["rate", "decimal", false],
    ]);
    expect(schema.body.attributes[0]).toMatchObject({ description: "Finance cost centre", mutability: "readWrite", required: false });
    expect((await t.scim("GET", "/Schemas")).body.Resources.map((s: { id: string }) => s.id)).toContain(EXT);
    const user = (await t.scim("GET", "/ResourceTypes/User")).body;
    expect(user.schemaExtensions).toEqual([
      { schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", required: false },
      { schema: EXT, required: false },
    ]);
    // The other tenant sees nothing of them.
    expect((await other.scim("GET", `/Schemas/${EXT}`)).status).toBe(404);
    expect((await other.scim("GET", "/Schemas")).body.Resources.map((s: { id: string }) => s.id)).not.toContain(EXT);
    expect((await other.scim("GET", "/ResourceTypes/User")).body.schemaExtensions).toHaveLength(1);
  });

  it("Okta pushes them namespaced (object and flat URN forms); they come back typed, with the schema listed", async () => {
    const created = await t.scim(
      "POST",
      "/Users",
      oktaUser({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", EXT], [EXT]: { costCenter: "CC-1", clearance: "3", badges: ["red", "blue"], onCall: "True" }, [`${EXT}:rate`]: 1.5 }),
    );
    expect(created.status).toBe(201);
    id = created.body.id;
    expect(created.body.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User", EXT]);
    expect(created.body[EXT]).toEqual({ costCenter: "CC-1", clearance: 3, badges: ["red", "blue"], onCall: true, rate: 1.5 });
    expect((await t.scim("GET", `/Users/${id}`)).body[EXT]).toEqual({ costCenter: "CC-1", clearance: 3, badges: ["red", "blue"], onCall: true, rate: 1.5 });
    // The same body to the other tenant: the attributes are unknown there, so ignored.
    const elsewhere = await other.scim("POST", "/Users", oktaUser({ [EXT]: { costCenter: "CC-1" } }));
    expect(elsewhere.status).toBe(201);
    expect(elsewhere.body[EXT]).toBeUndefined();
  });

  it("a value of the wrong type is 400 invalidValue, on POST, PUT and PATCH, and changes nothing", async () => {
    for (const value of [{ clearance: "high" }, { onCall: "maybe" }, { startDate: "not a date" }, { rate: "x" }, { costCenter: { nested: 1 } }]) {
      const r = await t.scim("POST", "/Users", oktaUser({ [EXT]: value }));
      expect(r.status, JSON.stringify(value)).toBe(400);
      expect(r.body).toMatchObject({ scimType: "invalidValue", status: "400" });
    }
    const current = (await t.scim("GET", `/Users/${id}`)).body;
    expect((await t.scim("PUT", `/Users/${id}`, { ...current, [EXT]: { clearance: 1.5 } })).status).toBe(400);
    const r = await t.scim("PATCH", `/Users/${id}`, patch({ op: "replace", path: `${EXT}:clearance`, value: "high" }));
    expect(r.status).toBe(400);
    expect(r.body.scimType).toBe("invalidValue");
    expect((await t.scim("GET", `/Users/${id}`)).body[EXT].clearance).toBe(3);
  });

  it("PATCH by URN path sets one; the change event, the users API, the RPC and the CSV carry them", async () => {
    const r = await t.scim("PATCH", `/Users/${id}`, patch({ op: "replace", path: `${EXT}:startDate`, value: "2024-02-01T00:00:00Z" }));
    expect(r.status).toBe(200);
    const expected = { costCenter: "CC-1", clearance: 3, badges: ["red", "blue"], onCall: true, rate: 1.5, startDate: "2024-02-01T00:00:00Z" };
    const updated = (await changesOf(t, "user.updated")).filter((e) => e.id === id).at(-1)!;
    expect(updated.data.user.attributes).toEqual(expected);
    const listed = (await admin("GET", `/tenants/${t.slug}/users`)).body.users.find((u: { id: string }) => u.id === id);
    expect(listed.attributes).toEqual(expected);
    expect((await env.DIRECTORY.getUser(t.slug, id))!.attributes).toEqual(expected);
    const csv = await admin("GET", `/tenants/${t.slug}/users/export`);
    const [header, row] = csv.text.split("\r\n");
    expect(header!.endsWith(",updatedAt,costCenter,clearance,badges,onCall,startDate,rate")).toBe(true);
    expect(row).toContain(`CC-1,3,"[""red"",""blue""]",true,2024-02-01T00:00:00Z,1.5`);
  });

  it("filter and sort like core attributes; the other tenant's filter on them is refused", async () => {
    await t.scim("POST", "/Users", oktaUser({ userName: "low@example.com", [EXT]: { costCenter: "CC-2", clearance: 1 } }));
    await t.scim("POST", "/Users", oktaUser({ userName: "high@example.com", [EXT]: { costCenter: "CC-2", clearance: 9 } }));
    const byCc = await t.scim("GET", `/Users?filter=${encodeURIComponent(`${EXT}:costCenter eq "cc-2"`)}`);
    expect(byCc.status).toBe(200);
    expect(byCc.body.Resources.map((u: { userName: string }) => u.userName).sort()).toEqual(["high@example.com", "low@example.com"]);
    const gt = await t.scim("GET", `/Users?filter=${encodeURIComponent(`${EXT}:clearance gt 2`)}`);
    expect(gt.body.Resources.map((u: { userName: string }) => u.userName).sort()).toEqual(["high@example.com", (await t.scim("GET", `/Users/${id}`)).body.userName].sort());
    const badge = await t.scim("GET", `/Users?filter=${encodeURIComponent(`${EXT}:badges eq "blue"`)}`);
    expect(badge.body.Resources.map((u: { id: string }) => u.id)).toEqual([id]);
    const sorted = await t.scim("GET", `/Users?filter=${encodeURIComponent(`${EXT}:clearance pr`)}&sortBy=${encodeURIComponent(`${EXT}:clearance`)}&sortOrder=descending`);
    expect(sorted.body.Resources.map((u: { [EXT]: { clearance: number } }) => u[EXT].clearance)).toEqual([9, 3, 1]);
    const theirs = await other.scim("GET", `/Users?filter=${encodeURIComponent(`${EXT}:costCenter eq "CC-2"`)}`);
    expect(theirs.status).toBe(400);
    // Combined with a core attribute, negated, and after a value changes (the index follows the write).
    const both = await t.scim("GET", `/Users?filter=${encodeURIComponent(`${EXT}:costCenter eq "CC-2" and userName sw "high"`)}`);
    expect(both.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(["high@example.com"]);
    const not = await t.scim("GET", `/Users?filter=${encodeURIComponent(`${EXT}:costCenter ne "CC-2"`)}`);
    expect(not.body.Resources.map((u: { id: string }) => u.id)).toEqual([id]);
    const low = byCc.body.Resources.find((u: { userName: string }) => u.userName === "low@example.com").id;
    await t.scim("PATCH", `/Users/${low}`, patch({ op: "replace", path: `${EXT}:costCenter`, value: "CC-3" }));
    const moved = await t.scim("GET", `/Users?filter=${encodeURIComponent(`${EXT}:costCenter eq "CC-2"`)}`);
    expect(moved.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(["high@example.com"]);
    await t.scim("PATCH", `/Users/${low}`, patch({ op: "replace", path: `${EXT}:costCenter`, value: "CC-2" }));
  });

  it("a comparison on a custom attribute finds its candidates by index, not by walking the tenant", async () => {
    const { compileFilterQuery } = await import("../../src/scim/filter/sql");
    const { parseFilter } = await import("../../src/scim/filter/parse");
    const { userTypeFor } = await import("../../src/attributes/core");
    const { SQLiteAsyncDialect } = await import("drizzle-orm/sqlite-core");
    const { sql } = await import("drizzle-orm");
    const type = userTypeFor(DEFINITIONS as never);
    for (const [filter, index] of [
      [`${EXT}:costCenter eq "CC-2"`, /SEARCH user_custom_values USING COVERING INDEX user_custom_values_name_value \(name=\? AND value=\?\)/],
      [`${EXT}:clearance gt 2`, /SEARCH user_custom_values USING COVERING INDEX user_custom_values_name_value \(name=\? AND value>\?\)/],
      [`${EXT}:badges eq "blue"`, /SEARCH user_custom_values USING COVERING INDEX user_custom_values_name_value \(name=\? AND value=\?\)/],
    ] as const) {
      const { where, textIndexed } = compileFilterQuery(parseFilter(filter), type);
      expect(textIndexed, filter).toBe(true);
      const q = new SQLiteAsyncDialect().sqlToQuery(sql`SELECT "users".rowid FROM users WHERE +"users".tenant_id = ${"t"} AND ${where}`);
      const plan = (await env.TENANT_DEFAULT.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).bind(...q.params).all<{ detail: string }>()).results.map((r) => r.detail).join("\n");
      expect(plan, filter).toMatch(index);
      expect(plan, filter).toMatch(/SEARCH users USING INTEGER PRIMARY KEY \(rowid=\?\)/);
      expect(plan, filter).not.toMatch(/SCAN users/);
    }
  });

  it("redefining one with another type is refused; removing one erases its values, with one user.updated per user who held it, audited", async () => {
    const retyped = await admin("PUT", `/tenants/${t.slug}/attributes`, { attributes: DEFINITIONS.map((d) => (d.name === "clearance" ? { ...d, type: "string" } : d)) });
    expect(retyped.status).toBe(400);
    expect(retyped.body.detail).toContain("clearance");

    const holders = (await t.scim("GET", `/Users?filter=${encodeURIComponent(`${EXT}:clearance pr`)}`)).body.totalResults;
    expect(holders).toBe(3);
    const before = (await changesOf(t, "user.updated")).length;
    const kept = DEFINITIONS.filter((d) => d.name !== "clearance");
    const saved = await admin("PUT", `/tenants/${t.slug}/attributes`, { attributes: kept });
    expect(saved.status).toBe(200);
    expect(saved.body).toMatchObject({ removed: ["clearance"], added: [], erasedFromUsers: 3 });
    const events = (await changesOf(t, "user.updated")).slice(before);
    expect(events).toHaveLength(3);
    for (const e of events) expect(e.data.user.attributes.clearance).toBeUndefined();
    const user = (await t.scim("GET", `/Users/${id}`)).body;
    expect(user[EXT]).toEqual({ costCenter: "CC-1", badges: ["red", "blue"], onCall: true, rate: 1.5, startDate: "2024-02-01T00:00:00Z" });
    expect((await t.scim("GET", `/Schemas/${EXT}`)).body.attributes.map((a: { name: string }) => a.name)).not.toContain("clearance");
    // A push of the removed attribute is treated like any attribute the schema lacks: ignored in a
    // resource body, refused as a PATCH path (invalidPath, as for every unknown path).
    const pushed = await t.scim("PUT", `/Users/${id}`, { ...user, [EXT]: { ...user[EXT], clearance: 4 } });
    expect(pushed.status).toBe(200);
    expect(pushed.body[EXT].clearance).toBeUndefined();
    const pathed = await t.scim("PATCH", `/Users/${id}`, patch({ op: "replace", path: `${EXT}:clearance`, value: 4 }));
    expect(pathed.status).toBe(400);
    expect(pathed.body.scimType).toBe("invalidPath");
    const log = await admin("GET", `/tenants/${t.slug}/events?limit=10`);
    expect(log.body.events.find((e: { action: string }) => e.action === "attributes.update").detail).toContain("removed clearance (values erased from 3 users)");
  });

  it("removing them all drops the extension from each user's schemas", async () => {
    const saved = await admin("PUT", `/tenants/${t.slug}/attributes`, { attributes: [] });
    expect(saved.status).toBe(200);
    const user = (await t.scim("GET", `/Users/${id}`)).body;
    expect(user[EXT]).toBeUndefined();
    expect(user.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    expect((await t.scim("GET", `/Schemas/${EXT}`)).status).toBe(404);
  });
});

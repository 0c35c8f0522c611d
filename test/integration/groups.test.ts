// /Groups: Okta Group Push (okta.md a.1 rows 10–18), Entra group shapes (peers.md §3), membership
// under concurrency and at scale, unknown members, and the users' read-only `groups` attribute.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, oktaUser, scimTenant, type ScimTenant } from "../support/harness";

const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const patch = (...Operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });
const memberIds = (group: { members?: { value: string }[] }) => (group.members ?? []).map((m) => m.value).sort();

async function users(tenant: ScimTenant, n: number): Promise<{ id: string; userName: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push((await tenant.scim("POST", "/Users", oktaUser())).body);
  return out;
}

/** Inserts `n` users straight into the tenant database: fast seeding for the scale test. */
async function seedUsers(tenantSlug: string, n: number): Promise<string[]> {
  const tenant = await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(tenantSlug).first<{ id: string }>();
  const ids = Array.from({ length: n }, () => crypto.randomUUID());
  const now = new Date().toISOString();
  const statements = ids.map((id, i) =>
    env.TENANT_DEFAULT.prepare(
      "INSERT INTO users (tenant_id, id, user_name, user_name_norm, data, active, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?)",
    ).bind(tenant!.id, id, `bulk${i}@example.com`, `bulk${i}@example.com`, JSON.stringify({ userName: `bulk${i}@example.com`, active: true }), now, now),
  );
  for (let i = 0; i < statements.length; i += 500) await env.TENANT_DEFAULT.batch(statements.slice(i, i + 500));
  return ids;
}

describe("Okta Group Push", () => {
  let tenant: ScimTenant;
  let people: { id: string; userName: string }[];
  let groupId = "";
  beforeAll(async () => {
    tenant = await scimTenant();
    people = await users(tenant, 4);
  });

  it("row 10 — create: POST /Groups with members pre-filled answers 201 with the group", async () => {
    const r = await tenant.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Test SCIMv2", members: [{ value: people[0].id, display: people[0].userName }] });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ schemas: [GROUP], displayName: "Test SCIMv2", meta: { resourceType: "Group", version: 'W/"1"' } });
    expect(r.body.members).toEqual([{ value: people[0].id, display: expect.any(String), $ref: `https://scim.test${tenant.base}/Users/${people[0].id}`, type: "User" }]);
    expect(r.headers.get("Location")).toBe(`https://scim.test${tenant.base}/Groups/${r.body.id}`);
    groupId = r.body.id;
  });

  it("row 11 — lookup by name, case-insensitively", async () => {
    const r = await tenant.scim("GET", `/Groups?filter=${encodeURIComponent('displayName eq "test scimv2"')}&startIndex=1&count=100`);
    expect(r.body.totalResults).toBe(1);
    expect(r.body.Resources[0].id).toBe(groupId);
    expect(r.body.Resources[0].displayName).toBe("Test SCIMv2");
  });

  it("row 14 — rename: replace with no path and the id inside value", async () => {
    const r = await tenant.scim("PATCH", `/Groups/${groupId}`, patch({ op: "replace", value: { id: "something-else", displayName: "Test SCIMv2 Renamed" } }));
    expect(r.status).toBe(204);
    expect(r.headers.get("ETag")).toBe('W/"2"');
    const read = await tenant.scim("GET", `/Groups/${groupId}`);
    expect(read.body).toMatchObject({ id: groupId, displayName: "Test SCIMv2 Renamed" });
  });

  it("row 15 — several removes and an add in one PATCH, applied in order", async () => {
    await tenant.scim("PATCH", `/Groups/${groupId}`, patch({ op: "add", path: "members", value: [{ value: people[1].id }, { value: people[2].id }] }));
    const r = await tenant.scim(
      "PATCH",
      `/Groups/${groupId}`,
      patch(
        { op: "replace", value: { id: groupId, displayName: "Test SCIMv2 Renamed" } },
        { op: "remove", path: `members[value eq "${people[0].id}"]` },
        { op: "remove", path: `members[value eq "${people[1].id}"]` },
        { op: "add", path: "members", value: [{ value: people[3].id, display: people[3].userName }] },
      ),
    );
    expect(r.status).toBe(204);
    expect(memberIds((await tenant.scim("GET", `/Groups/${groupId}`)).body)).toEqual([people[2].id, people[3].id].sort());
  });

  it("adding a present member and removing an absent one are no-ops", async () => {
    const before = (await tenant.scim("GET", `/Groups/${groupId}`)).body;
    const r = await tenant.scim(
      "PATCH",
      `/Groups/${groupId}`,
      patch({ op: "add", path: "members", value: [{ value: people[2].id }] }, { op: "remove", path: `members[value eq "${people[0].id}"]` }),
    );
    expect(r.status).toBe(204);
    const after = (await tenant.scim("GET", `/Groups/${groupId}`)).body;
    expect(memberIds(after)).toEqual(memberIds(before));
    expect(after.meta.version).toBe(before.meta.version);
  });

  it("row 16 — Push Now: replace on members overwrites the whole list", async () => {
    const r = await tenant.scim("PATCH", `/Groups/${groupId}`, patch({ op: "replace", path: "members", value: [{ value: people[0].id }, { value: people[1].id }] }));
    expect(r.status).toBe(204);
    expect(memberIds((await tenant.scim("GET", `/Groups/${groupId}`)).body)).toEqual([people[0].id, people[1].id].sort());
    await tenant.scim("PATCH", `/Groups/${groupId}`, patch({ op: "replace", path: "members", value: [] }));
    expect((await tenant.scim("GET", `/Groups/${groupId}`)).body.members).toEqual([]);
  });

  it("row 17 — PUT replaces displayName and members", async () => {
    const r = await tenant.scim("PUT", `/Groups/${groupId}`, { schemas: [GROUP], id: groupId, displayName: "Put Name", members: [{ value: people[3].id }] });
    expect(r.status).toBe(200);
    expect(r.body.displayName).toBe("Put Name");
    expect(memberIds(r.body)).toEqual([people[3].id]);
  });

  it("row 12 — import groups pages with members; excludedAttributes=members leaves them out", async () => {
    const list = await tenant.scim("GET", "/Groups?startIndex=1&count=100");
    expect(list.body.totalResults).toBe(1);
    expect(memberIds(list.body.Resources[0])).toEqual([people[3].id]);
    const slim = await tenant.scim("GET", "/Groups?excludedAttributes=members");
    expect(slim.body.Resources[0]).not.toHaveProperty("members");
    const one = await tenant.scim("GET", `/Groups/${groupId}?excludedAttributes=members`);
    expect(one.body).not.toHaveProperty("members");
    expect(one.body.displayName).toBe("Put Name");
    const onlyName = await tenant.scim("GET", `/Groups?attributes=displayName`);
    expect(Object.keys(onlyName.body.Resources[0]).sort()).toEqual(["displayName", "id", "schemas"]);
  });

  it("filters by members.value, externalId and id", async () => {
    for (const filter of [`members.value eq "${people[3].id}"`, `id eq "${groupId}"`]) {
      const r = await tenant.scim("GET", `/Groups?filter=${encodeURIComponent(filter)}`);
      expect(r.body.Resources.map((g: { id: string }) => g.id), filter).toEqual([groupId]);
    }
    expect((await tenant.scim("GET", `/Groups?filter=${encodeURIComponent(`members.value eq "${people[0].id}"`)}`)).body.totalResults).toBe(0);
  });

  it("row 18 — unlink with delete: 204, then 404; the users stay", async () => {
    const r = await tenant.scim("DELETE", `/Groups/${groupId}`, undefined, { "Content-Type": "application/scim+json; charset=utf-8" });
    expect(r.status).toBe(204);
    expect((await tenant.scim("GET", `/Groups/${groupId}`)).status).toBe(404);
    expect((await tenant.scim("GET", `/Users/${people[3].id}`)).status).toBe(200);
    const rows = await env.TENANT_DEFAULT.prepare("SELECT count(*) AS n FROM group_members WHERE group_id = ?").bind(groupId).first<{ n: number }>();
    expect(rows!.n).toBe(0);
  });
});

describe("Entra group shapes", () => {
  it("capitalised ops, Remove with path members and a value list, and the legacy ADSCIM schema", async () => {
    const tenant = await scimTenant({ provider: "entra" });
    const people = await users(tenant, 3);
    const created = await tenant.scim("POST", "/Groups", {
      schemas: [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
      externalId: "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
      displayName: "Entra Group",
      members: [],
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const add = await tenant.scim("PATCH", `/Groups/${id}`, patch({ op: "Add", path: "members", value: people.map((p) => ({ value: p.id })) }));
    expect(add.status).toBe(204);
    const remove = await tenant.scim("PATCH", `/Groups/${id}`, patch({ op: "Remove", path: "members", value: [{ value: people[0].id }, { value: people[2].id }] }));
    expect(remove.status).toBe(204);
    expect(memberIds((await tenant.scim("GET", `/Groups/${id}`)).body)).toEqual([people[1].id]);
    const rename = await tenant.scim("PATCH", `/Groups/${id}?excludedAttributes=members`, patch({ op: "Replace", path: "displayName", value: "Entra Group 2" }));
    expect(rename.status).toBe(200);
    expect(rename.body).toMatchObject({ displayName: "Entra Group 2" });
    expect(rename.body).not.toHaveProperty("members");
    const byExternal = await tenant.scim("GET", `/Groups?filter=${encodeURIComponent('externalId eq "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"')}&excludedAttributes=members`);
    expect(byExternal.body.Resources.map((g: { id: string }) => g.id)).toEqual([id]);
  });

  it("refuses a duplicate displayName in any case with 409 uniqueness, on create and on rename", async () => {
    const tenant = await scimTenant();
    expect((await tenant.scim("POST", "/Groups", { displayName: "Finance" })).status).toBe(201);
    const dup = await tenant.scim("POST", "/Groups", { displayName: "FINANCE" });
    expect(dup.status).toBe(409);
    expect(dup.body.scimType).toBe("uniqueness");
    const other = (await tenant.scim("POST", "/Groups", { displayName: "Legal" })).body;
    const rename = await tenant.scim("PATCH", `/Groups/${other.id}`, patch({ op: "replace", path: "displayName", value: "finance" }));
    expect(rename.status).toBe(409);
    expect((await tenant.scim("POST", "/Groups", { members: [] })).status).toBe(400);
  });
});

describe("membership correctness", () => {
  it("skips member ids that are not users of this tenant, keeps the rest, and logs the skipped ids", async () => {
    const tenant = await scimTenant();
    const other = await scimTenant();
    const mine = await users(tenant, 2);
    const theirs = (await other.scim("POST", "/Users", oktaUser())).body;
    const stale = crypto.randomUUID();
    const created = await tenant.scim("POST", "/Groups", { displayName: "Mixed", members: [{ value: mine[0].id }, { value: theirs.id }, { value: stale }] });
    expect(created.status).toBe(201);
    expect(memberIds(created.body)).toEqual([mine[0].id]);
    const push = await tenant.scim("PATCH", `/Groups/${created.body.id}`, patch({ op: "add", path: "members", value: [{ value: mine[1].id }, { value: "not-a-user" }] }));
    expect(push.status).toBe(204);
    expect(memberIds((await tenant.scim("GET", `/Groups/${created.body.id}`)).body)).toEqual([mine[0].id, mine[1].id].sort());
    const log = await admin("GET", `/tenants/${tenant.slug}/events?action=group`);
    const details = log.body.events.map((e: { detail: string }) => e.detail).join(" | ");
    expect(details).toContain(theirs.id);
    expect(details).toContain(stale);
    expect(details).toContain("not-a-user");
    expect(log.body.events.every((e: { outcome: string }) => e.outcome === "success")).toBe(true);
  });

  it("30 concurrent PATCHes, each adding a distinct member: all 30 are present", async () => {
    const tenant = await scimTenant();
    const people = await users(tenant, 30);
    const group = (await tenant.scim("POST", "/Groups", { displayName: "Crowd", members: [] })).body;
    const results = await Promise.all(
      people.map((p) => tenant.scim("PATCH", `/Groups/${group.id}`, patch({ op: "add", path: "members", value: [{ value: p.id, display: p.userName }] }))),
    );
    for (const r of results) expect(r.status).toBe(204);
    const after = (await tenant.scim("GET", `/Groups/${group.id}`)).body;
    expect(memberIds(after)).toEqual(people.map((p) => p.id).sort());
    expect(after.meta.version).toBe('W/"31"');
  });

  it("Push Now of 5,000 members, then a push that changes a few of them", async () => {
    const tenant = await scimTenant();
    const ids = await seedUsers(tenant.slug, 5000);
    const group = (await tenant.scim("POST", "/Groups", { displayName: "Everyone", members: [] })).body;
    const push = await tenant.scim("PATCH", `/Groups/${group.id}`, patch({ op: "replace", path: "members", value: ids.map((value) => ({ value })) }));
    expect(push.status).toBe(204);
    const count = async () => (await env.TENANT_DEFAULT.prepare("SELECT count(*) AS n FROM group_members WHERE group_id = ?").bind(group.id).first<{ n: number }>())!.n;
    expect(await count()).toBe(5000);
    const next = [...ids.slice(10), crypto.randomUUID()];
    const again = await tenant.scim("PATCH", `/Groups/${group.id}`, patch({ op: "replace", path: "members", value: next.map((value) => ({ value })) }));
    expect(again.status).toBe(204);
    expect(await count()).toBe(4990);
    const listed = await admin("GET", `/tenants/${tenant.slug}/groups`);
    expect(listed.body.groups).toEqual([expect.objectContaining({ id: group.id, displayName: "Everyone", memberCount: 4990 })]);
    const read = await tenant.scim("GET", `/Groups/${group.id}`);
    expect(read.body.members).toHaveLength(4990);
  });

  it("a user's groups attribute follows membership; deleting a user removes it from its groups, deactivating does not", async () => {
    const tenant = await scimTenant();
    const [a, b] = await users(tenant, 2);
    const g1 = (await tenant.scim("POST", "/Groups", { displayName: "Alpha", members: [{ value: a.id }, { value: b.id }] })).body;
    const g2 = (await tenant.scim("POST", "/Groups", { displayName: "Beta", members: [{ value: a.id }] })).body;
    const read = (await tenant.scim("GET", `/Users/${a.id}`)).body;
    expect(read.groups).toEqual([
      { value: g1.id, display: "Alpha", $ref: `https://scim.test${tenant.base}/Groups/${g1.id}`, type: "direct" },
      { value: g2.id, display: "Beta", $ref: `https://scim.test${tenant.base}/Groups/${g2.id}`, type: "direct" },
    ]);
    const byGroup = await tenant.scim("GET", `/Users?filter=${encodeURIComponent(`groups.value eq "${g2.id}"`)}`);
    expect(byGroup.body.Resources.map((u: { id: string }) => u.id)).toEqual([a.id]);
    await tenant.scim("PATCH", `/Groups/${g2.id}`, patch({ op: "remove", path: `members[value eq "${a.id}"]` }));
    expect((await tenant.scim("GET", `/Users/${a.id}`)).body.groups.map((g: { value: string }) => g.value)).toEqual([g1.id]);
    await tenant.scim("PATCH", `/Users/${b.id}`, patch({ op: "replace", value: { active: false } }));
    expect(memberIds((await tenant.scim("GET", `/Groups/${g1.id}`)).body)).toEqual([a.id, b.id].sort());
    await tenant.scim("DELETE", `/Users/${a.id}`);
    expect(memberIds((await tenant.scim("GET", `/Groups/${g1.id}`)).body)).toEqual([b.id]);
    // The groups attribute is read-only: writing it is ignored on POST/PUT and refused on PATCH.
    const put = await tenant.scim("PUT", `/Users/${b.id}`, { ...(await tenant.scim("GET", `/Users/${b.id}`)).body, groups: [] });
    expect(put.body.groups.map((g: { value: string }) => g.value)).toEqual([g1.id]);
    expect((await tenant.scim("PATCH", `/Users/${b.id}`, patch({ op: "replace", path: "groups", value: [] }))).body.scimType).toBe("mutability");
  });

  it("keeps tenants apart: another tenant's group is unknown", async () => {
    const a = await scimTenant();
    const b = await scimTenant();
    const group = (await a.scim("POST", "/Groups", { displayName: "Private" })).body;
    expect((await b.scim("GET", `/Groups/${group.id}`)).status).toBe(404);
    expect((await b.scim("PATCH", `/Groups/${group.id}`, patch({ op: "replace", path: "displayName", value: "x" }))).status).toBe(404);
    expect((await b.scim("DELETE", `/Groups/${group.id}`)).status).toBe(404);
    expect((await b.scim("GET", "/Groups")).body.totalResults).toBe(0);
    expect((await b.scim("POST", "/Groups", { displayName: "Private" })).status).toBe(201);
  });

  it("the admin API lists groups with member counts and shows one group's members", async () => {
    const tenant = await scimTenant();
    const people = await users(tenant, 2);
    const group = (await tenant.scim("POST", "/Groups", { displayName: "Ops", members: people.map((p) => ({ value: p.id })) })).body;
    const detail = await admin("GET", `/tenants/${tenant.slug}/groups/${group.id}`);
    expect(detail.body).toMatchObject({ id: group.id, displayName: "Ops", memberCount: 2, source: "okta" });
    expect(detail.body.members.map((m: { id: string }) => m.id).sort()).toEqual(people.map((p) => p.id).sort());
    expect((await admin("GET", `/tenants/${tenant.slug}/groups?q=op`)).body.groups).toHaveLength(1);
    expect((await admin("GET", `/tenants/${tenant.slug}/groups/${crypto.randomUUID()}`)).status).toBe(404);
  });
});

describe("the provisioning log records the status the client got", () => {
  it("on every group write: 204 PATCHes (named members, whole list, no change), 200 with a representation, PUT, DELETE, refused", async () => {
    const tenant = await scimTenant();
    const people = await users(tenant, 3);
    const statuses: number[] = [];
    const send = async (method: string, path: string, body?: unknown) => {
      const r = await tenant.scim(method, path, body);
      statuses.push(r.status);
      return r;
    };
    const group = (await send("POST", "/Groups", { displayName: "Log Status" })).body;
    const at = `/Groups/${group.id}`;
    // A PATCH that names its members (decided in one batch), one that replaces the whole list,
    // one that changes nothing, a rename: all answered 204.
    expect((await send("PATCH", at, patch({ op: "add", path: "members", value: [{ value: people[0].id }] }))).status).toBe(204);
    expect((await send("PATCH", at, patch({ op: "replace", path: "members", value: [{ value: people[1].id }] }))).status).toBe(204);
    expect((await send("PATCH", at, patch({ op: "replace", path: "displayName", value: "Log Status" }))).status).toBe(204);
    expect((await send("PATCH", at, patch({ op: "replace", path: "displayName", value: "Log Status 2" }))).status).toBe(204);
    // Asked for a representation: 200, for a named-member PATCH and for another.
    expect((await send("PATCH", `${at}?excludedAttributes=members`, patch({ op: "add", path: "members", value: [{ value: people[2].id }] }))).status).toBe(200);
    expect((await send("PATCH", `${at}?attributes=displayName`, patch({ op: "replace", path: "displayName", value: "Log Status 3" }))).status).toBe(200);
    expect((await send("PATCH", at, patch({ op: "replace", path: "displayName", value: "" }))).status).toBe(400);
    expect((await send("PUT", at, { displayName: "Log Status 4" })).status).toBe(200);
    expect((await send("DELETE", at)).status).toBe(204);

    const log = await admin("GET", `/tenants/${tenant.slug}/events?resourceId=${group.id}&limit=50`);
    expect(log.status).toBe(200);
    expect(log.body.events.map((e: { status: number }) => e.status).reverse()).toEqual(statuses);
  });

  it("on every user write, and on each operation of a Bulk request", async () => {
    const tenant = await scimTenant();
    const statuses: number[] = [];
    const send = async (method: string, path: string, body?: unknown) => {
      const r = await tenant.scim(method, path, body);
      statuses.push(r.status);
      return r;
    };
    const user = (await send("POST", "/Users", oktaUser())).body;
    const at = `/Users/${user.id}`;
    expect((await send("PATCH", at, patch({ op: "replace", path: "title", value: "CTO" }))).status).toBe(200);
    expect((await send("PATCH", at, patch({ op: "replace", path: "title", value: "CTO" }))).status).toBe(200);
    expect((await send("PUT", at, { ...user, title: "CEO" })).status).toBe(200);
    expect((await send("PATCH", at, patch({ op: "replace", path: "userName", value: "" }))).status).toBe(400);
    const avatar = await admin("PATCH", `/tenants/${tenant.slug}/users/${user.id}`, { avatarUrl: "https://cdn.example/a.png" });
    statuses.push(avatar.status);
    const bulk = await tenant.scim("POST", "/Bulk", {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
      Operations: [
        { method: "PATCH", path: at, data: patch({ op: "replace", path: "title", value: "CFO" }) },
        { method: "DELETE", path: at },
      ],
    });
    statuses.push(...bulk.body.Operations.map((op: { status: string }) => Number(op.status)));
    expect(statuses.slice(-2)).toEqual([200, 204]);

    const log = await admin("GET", `/tenants/${tenant.slug}/events?resourceId=${user.id}&limit=50`);
    expect(log.body.events.map((e: { status: number }) => e.status).reverse()).toEqual(statuses);
  });
});

// Conformance details through the HTTP surface: projection keeps exactly the attributes whose
// `returned` is "always" plus those asked for (RFC 7644 §3.4.2.5, RFC 7643 §7), checked against what
// /Schemas advertises, on every kind of response; and PATCH `remove` of `active` removes it
// (RFC 7644 §3.5.2.2) while TheStorage keeps reading such a user as active.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, oktaUser, scimTenant, type ScimTenant } from "../support/harness";

const USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/** The common attributes (RFC 7643 §3.1) are not in /Schemas; their `returned` is fixed by the RFC. */
const COMMON = [
  { name: "id", returned: "always" },
  { name: "externalId", returned: "default" },
  { name: "meta", returned: "default" },
];

interface Advertised {
  /** The name a client uses in attributes= (URN-qualified for extension attributes). */
  path: string;
  returned: string;
  /** The extension object holding it, if any. */
  extension?: string;
  name: string;
}

async function advertised(tenant: ScimTenant, schemas: string[]): Promise<Advertised[]> {
  const out: Advertised[] = [];
  for (const urn of schemas) {
    const doc = await tenant.scim("GET", `/Schemas/${urn}`);
    expect(doc.status, urn).toBe(200);
    const core = urn === USER_URN || urn === GROUP_URN;
    for (const a of doc.body.attributes as { name: string; returned: string }[]) {
      out.push(core ? { path: a.name, name: a.name, returned: a.returned } : { path: `${urn}:${a.name}`, name: a.name, returned: a.returned, extension: urn });
    }
  }
  return out;
}

const has = (body: Record<string, any>, a: Advertised) => (a.extension ? body[a.extension]?.[a.name] : body[a.name]) !== undefined;

/**
 * For every attribute the resource carries: `attributes=<it>` returns it, `attributes=<another>` and
 * `excludedAttributes=<it>` return it only when it is "always".
 */
async function checkEveryAttribute(tenant: ScimTenant, location: string, table: Advertised[]) {
  const full = (await tenant.scim("GET", location)).body;
  const carried = table.filter((a) => has(full, a));
  for (const a of carried) {
    const other = a.path === "externalId" ? "id" : "externalId";
    const asked = await tenant.scim("GET", `${location}?attributes=${encodeURIComponent(a.path)}`);
    expect(has(asked.body, a), `attributes=${a.path}`).toBe(a.returned !== "never");
    const notAsked = await tenant.scim("GET", `${location}?attributes=${other}`);
    expect(has(notAsked.body, a), `attributes=${other}: ${a.path} is ${a.returned}`).toBe(a.returned === "always");
    const excluded = await tenant.scim("GET", `${location}?excludedAttributes=${encodeURIComponent(a.path)}`);
    expect(has(excluded.body, a), `excludedAttributes=${a.path}`).toBe(a.returned === "always");
    expect(excluded.body.schemas, `excludedAttributes=${a.path}`).toBeDefined();
  }
  return carried.map((a) => a.path);
}

describe("projection by `returned`, as /Schemas advertises it", () => {
  let tenant: ScimTenant;
  let userId: string;
  let groupId: string;
  beforeAll(async () => {
    tenant = await scimTenant();
    const user = await tenant.scim("POST", "/Users", {
      ...oktaUser({ userName: "ada@example.com", displayName: "Ada Lovelace", externalId: "00u-ada" }),
      schemas: [USER_URN, ENTERPRISE],
      nickName: "Ada",
      profileUrl: "https://example.com/ada",
      title: "Countess",
      userType: "Employee",
      preferredLanguage: "en",
      timezone: "Europe/London",
      phoneNumbers: [{ value: "+44 1", type: "work" }],
      ims: [{ value: "ada", type: "xmpp" }],
      photos: [{ value: "https://example.com/ada.png", type: "thumbnail" }],
      addresses: [{ locality: "London", type: "work" }],
      entitlements: [{ value: "reader" }],
      roles: [{ value: "engine" }],
      x509Certificates: [{ value: "MIID" }],
      [ENTERPRISE]: { employeeNumber: "1", costCenter: "c", organization: "o", division: "d", department: "Engines", manager: { value: "m-1" } },
    });
    expect(user.status).toBe(201);
    userId = user.body.id;
    const group = await tenant.scim("POST", "/Groups", { schemas: [GROUP_URN], displayName: "Engineers", externalId: "g-ext", members: [{ value: userId }] });
    expect(group.status).toBe(201);
    groupId = group.body.id;
  });

  it("GET /Users/{id}?attributes=displayName answers id, schemas and displayName only (userName is returned default)", async () => {
    const r = await tenant.scim("GET", `/Users/${userId}?attributes=displayName`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ schemas: [USER_URN], id: userId, displayName: "Ada Lovelace" });
    const schema = await tenant.scim("GET", `/Schemas/${USER_URN}`);
    expect(schema.body.attributes.find((a: { name: string }) => a.name === "userName").returned).toBe("default");
  });

  it("every User attribute (core, common, enterprise) is projected as its advertised `returned` says", async () => {
    const table = [...COMMON.map((a) => ({ ...a, path: a.name })), ...(await advertised(tenant, [USER_URN, ENTERPRISE]))];
    expect(table.filter((a) => a.returned === "always").map((a) => a.path)).toEqual(["id"]);
    const checked = await checkEveryAttribute(tenant, `/Users/${userId}`, table);
    // The user carries every advertised attribute, so every one was checked.
    expect(checked).toEqual(table.map((a) => a.path));
    expect(checked).toEqual(expect.arrayContaining(["userName", "active", "groups", `${ENTERPRISE}:manager`]));
  });

  it("every Group attribute is projected as its advertised `returned` says (displayName and members are default)", async () => {
    const table = [...COMMON.map((a) => ({ ...a, path: a.name })), ...(await advertised(tenant, [GROUP_URN]))];
    expect(table.filter((a) => a.returned === "always").map((a) => a.path)).toEqual(["id"]);
    const checked = await checkEveryAttribute(tenant, `/Groups/${groupId}`, table);
    expect(checked).toEqual(["id", "externalId", "meta", "displayName", "members"]);
    const r = await tenant.scim("GET", `/Groups/${groupId}?attributes=members.value`);
    expect(r.body).toEqual({ schemas: [GROUP_URN], id: groupId, members: [{ value: userId }] });
  });

  it("excludedAttributes never removes id or schemas", async () => {
    const user = await tenant.scim("GET", `/Users/${userId}?excludedAttributes=id,schemas,userName`);
    expect(user.body.id).toBe(userId);
    expect(user.body.schemas).toEqual([USER_URN, ENTERPRISE]);
    expect(user.body).not.toHaveProperty("userName");
    const group = await tenant.scim("GET", `/Groups/${groupId}?excludedAttributes=id,schemas,displayName`);
    expect(group.body.id).toBe(groupId);
    expect(group.body.schemas).toEqual([GROUP_URN]);
    expect(group.body).not.toHaveProperty("displayName");
  });

  it("lists, .search and write responses project the same way", async () => {
    const only = { schemas: [USER_URN], id: userId, displayName: "Ada Lovelace" };
    const list = await tenant.scim("GET", `/Users?filter=${encodeURIComponent('userName eq "ada@example.com"')}&attributes=displayName`);
    expect(list.body.Resources).toEqual([only]);
    const search = await tenant.scim("POST", "/Users/.search", { schemas: [SEARCH], filter: 'userName eq "ada@example.com"', attributes: ["displayName"] });
    expect(search.body.Resources).toEqual([only]);
    const root = await tenant.scim("POST", "/.search", { schemas: [SEARCH], filter: 'displayName eq "Engineers"', attributes: ["members.value"] });
    expect(root.body.Resources).toEqual([{ schemas: [GROUP_URN], id: groupId, members: [{ value: userId }] }]);
    const groups = await tenant.scim("GET", "/Groups?attributes=externalId");
    expect(groups.body.Resources).toEqual([{ schemas: [GROUP_URN], id: groupId, externalId: "g-ext" }]);

    const patched = await tenant.scim("PATCH", `/Users/${userId}?attributes=displayName`, { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "nickName", value: "A" }] });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual(only);
    const current = (await tenant.scim("GET", `/Users/${userId}`)).body;
    const { id: _id, meta: _meta, groups: _groups, ...body } = current;
    const put = await tenant.scim("PUT", `/Users/${userId}?attributes=displayName`, { ...body, title: "Analyst" });
    expect(put.status).toBe(200);
    expect(put.body).toEqual(only);
    const created = await tenant.scim("POST", "/Users?attributes=displayName", oktaUser({ displayName: "Charles" }));
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ schemas: [USER_URN], id: created.body.id, displayName: "Charles" });
    const groupPatch = await tenant.scim("PATCH", `/Groups/${groupId}?excludedAttributes=members,meta,externalId`, {
      schemas: [PATCH_OP],
      Operations: [{ op: "replace", path: "displayName", value: "Engine Builders" }],
    });
    // A group PATCH asked for a representation answers 200 with it (204 otherwise).
    expect(groupPatch.status).toBe(200);
    expect(groupPatch.body).toEqual({ schemas: [GROUP_URN], id: groupId, displayName: "Engine Builders" });
  });
});

describe("PATCH remove of `active`", () => {
  let tenant: ScimTenant;
  beforeAll(async () => {
    tenant = await scimTenant();
  });

  const rawRow = (id: string) => env.TENANT_DEFAULT.prepare("SELECT active, data, version FROM users WHERE id = ?").bind(id).first<{ active: number; data: string; version: number }>();
  const removeActive = (id: string) => tenant.scim("PATCH", `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: "remove", path: "active" }] });
  /** The change events (the outbox) for one user, oldest first, with their payloads. */
  const changesOf = async (id: string) => {
    const { results } = await env.TENANT_DEFAULT.prepare("SELECT type, data FROM change_events WHERE resource_id = ? ORDER BY seq").bind(id).all<{ type: string; data: string }>();
    return results.map((r) => ({ type: r.type, payload: JSON.parse(r.data) }));
  };
  const found = async (filter: string) =>
    ((await tenant.scim("GET", `/Users?filter=${encodeURIComponent(filter)}`)).body.Resources as { id: string }[]).map((u) => u.id);

  it("removes it: the response and the stored document have no `active`, and the user still counts as active", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser({ userName: "remove.active@example.com", active: true }));
    const id = created.body.id;
    const removed = await removeActive(id);
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty("active");
    expect(removed.body.meta.version).toBe('W/"2"');
    const read = await tenant.scim("GET", `/Users/${id}`);
    expect(read.body).not.toHaveProperty("active");
    expect(read.body.userName).toBe("remove.active@example.com");

    const row = await rawRow(id);
    expect(JSON.parse(row!.data)).not.toHaveProperty("active");
    expect(row!.active).toBe(1);

    // Filters read a missing `active` as true.
    expect(await found('userName eq "remove.active@example.com" and active eq true')).toEqual([id]);
    expect(await found('userName eq "remove.active@example.com" and active eq false')).toEqual([]);
    expect(await found('userName eq "remove.active@example.com" and not (active eq false)')).toEqual([id]);

    // The admin API (what the console shows) says active; the event is an update, not a deactivation.
    const listed = await admin("GET", `/tenants/${tenant.slug}/users?q=remove.active`);
    expect(listed.body.users.map((u: { id: string; active: boolean }) => [u.id, u.active])).toEqual([[id, true]]);
    const events = await admin("GET", `/tenants/${tenant.slug}/events?resourceId=${id}`);
    const update = events.body.events.find((e: { status: number; action: string }) => e.status === 200);
    expect(update.action).toBe("user.update");
    expect(update.detail).toContain("active");
    const change = (await changesOf(id)).at(-1)!;
    expect(change.type).toBe("user.updated");
    expect(change.payload.user.active).toBe(true);
  });

  it("stays removed through a PATCH of something else and a PUT without `active`; replace puts it back", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser({ userName: "stays.removed@example.com" }));
    const id = created.body.id;
    await removeActive(id);
    const other = await tenant.scim("PATCH", `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "title", value: "Engineer" }] });
    expect(other.body).not.toHaveProperty("active");
    expect(other.body.title).toBe("Engineer");

    const { id: _id, meta: _meta, groups: _groups, ...body } = other.body;
    const put = await tenant.scim("PUT", `/Users/${id}`, { ...body, nickName: "S" });
    expect(put.status).toBe(200);
    expect(put.body).not.toHaveProperty("active");
    expect(JSON.parse((await rawRow(id))!.data)).not.toHaveProperty("active");

    // Okta's deactivation (replace with no path) and reactivation work as before.
    const off = await tenant.scim("PATCH", `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", value: { active: false } }] });
    expect(off.body.active).toBe(false);
    expect((await rawRow(id))!.active).toBe(0);
    const on = await tenant.scim("PATCH", `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "active", value: true }] });
    expect(on.body.active).toBe(true);
    expect((await tenant.scim("GET", `/Users/${id}`)).body.active).toBe(true);
  });

  it("a PUT without `active` still keeps the current value", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser({ userName: "put.keeps@example.com", active: false }));
    const { id, meta: _meta, groups: _groups, active: _active, ...body } = created.body;
    const put = await tenant.scim("PUT", `/Users/${id}`, { ...body, title: "Kept" });
    expect(put.status).toBe(200);
    expect(put.body.active).toBe(false);
    expect((await rawRow(id))!.active).toBe(0);
  });

  it("removing `active` from a deactivated user makes it active (a user without `active` is active)", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser({ userName: "was.inactive@example.com", active: false }));
    const id = created.body.id;
    expect(await found('userName eq "was.inactive@example.com" and active eq false')).toEqual([id]);
    const removed = await removeActive(id);
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty("active");
    expect((await rawRow(id))!.active).toBe(1);
    expect(await found('userName eq "was.inactive@example.com" and active eq true')).toEqual([id]);
    const events = await admin("GET", `/tenants/${tenant.slug}/events?resourceId=${id}&action=user.reactivate`);
    expect(events.body.events).toHaveLength(1);
    const change = (await changesOf(id)).at(-1)!;
    expect(change.type).toBe("user.reactivated");
    expect(change.payload.user.active).toBe(true);
  });

  it("removing `active` again changes nothing (no new version)", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser({ userName: "twice@example.com" }));
    const id = created.body.id;
    await removeActive(id);
    const again = await removeActive(id);
    expect(again.status).toBe(200);
    expect(again.body.meta.version).toBe('W/"2"');
    expect(again.body).not.toHaveProperty("active");
  });
});

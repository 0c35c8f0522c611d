// RFC 7644 beyond what Okta uses: the whole filter grammar over HTTP, hostile filters, sorting with
// paging, projection, POST .search, /Bulk with bulkId references, and ETags on groups.
import { beforeAll, describe, expect, it } from "vitest";
import { oktaUser, request, scimTenant, type ScimTenant } from "../support/harness";
import { MAX_LARGE_BODY_BYTES } from "../../src/scim/limits";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const q = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}&count=1000`;

describe("filters over HTTP", () => {
  let tenant: ScimTenant;
  const byName: Record<string, string> = {};
  beforeAll(async () => {
    tenant = await scimTenant();
    const people = [
      { userName: "alice@corp.example", title: "Engineer", nickName: "Al", active: true, emails: [{ value: "alice@corp.example", type: "work" }], [ENTERPRISE]: { department: "R&D", employeeNumber: "0001" } },
      { userName: "bob@corp.example", title: "Manager", active: false, emails: [{ value: "bob@home.example", type: "home" }], [ENTERPRISE]: { department: "Sales" } },
      { userName: "carol@other.example", title: "engineer", active: true, emails: [{ value: "carol@corp.example", type: "work" }, { value: "c@home.example", type: "home" }] },
      { userName: "dave@corp.example", active: true },
    ];
    for (const p of people) {
      const r = await tenant.scim("POST", "/Users", { ...oktaUser(), ...p });
      expect(r.status).toBe(201);
      byName[p.userName.split("@")[0]] = r.body.id;
    }
  });
  const names = (r: { body: { Resources: { userName: string }[] } }) => r.body.Resources.map((u) => u.userName.split("@")[0]).sort();

  it("every operator and combinator", async () => {
    const cases: [string, string[]][] = [
      ['userName eq "ALICE@corp.example"', ["alice"]],
      ['userName ne "alice@corp.example"', ["bob", "carol", "dave"]],
      ['userName co "OTHER"', ["carol"]],
      ['userName sw "b"', ["bob"]],
      ['userName ew "corp.example"', ["alice", "bob", "dave"]],
      ["title pr", ["alice", "bob", "carol"]],
      ['title eq "engineer"', ["alice", "carol"]],
      ['userName gt "bob@corp.example"', ["carol", "dave"]],
      ['userName ge "bob@corp.example"', ["bob", "carol", "dave"]],
      ['userName lt "bob@corp.example"', ["alice"]],
      ['userName le "bob@corp.example"', ["alice", "bob"]],
      ["active eq false", ["bob"]],
      ['active eq "true"', ["alice", "carol", "dave"]],
      ['title eq "Engineer" and active eq true', ["alice", "carol"]],
      ['userName sw "a" or userName sw "d"', ["alice", "dave"]],
      ['not (title pr)', ["dave"]],
      ['(userName sw "a" or userName sw "b") and not (active eq false)', ["alice"]],
      ['emails[type eq "work" and value co "@corp.example"]', ["alice", "carol"]],
      ['emails[type eq "home"]', ["bob", "carol"]],
      ['emails.type eq "home"', ["bob", "carol"]],
      [`${ENTERPRISE}:department eq "r&d"`, ["alice"]],
      ['department eq "Sales"', ["bob"]],
      [`${ENTERPRISE}:employeeNumber pr`, ["alice"]],
      ['meta.created gt "2000-01-01T00:00:00Z"', ["alice", "bob", "carol", "dave"]],
      ['meta.lastModified lt "2000-01-01"', []],
      // Microsoft's full sync: every RFC 3339 year is valid, 0000–0099 included.
      ['meta.lastModified gt "0001-01-03T00:00:00.0000000Z"', ["alice", "bob", "carol", "dave"]],
      ['meta.created lt "0099-12-31T23:59:59Z"', []],
    ];
    for (const [filter, expected] of cases) {
      const r = await tenant.scim("GET", q(filter));
      expect(r.status, filter).toBe(200);
      expect(names(r), filter).toEqual(expected);
    }
  });

  it("answers hostile filters with a 400 invalidFilter and never a 5xx", async () => {
    const hostile = [
      "(".repeat(1000) + 'userName eq "a"' + ")".repeat(1000),
      "not (".repeat(200) + 'userName eq "a"' + ")".repeat(200),
      `userName eq "${"x".repeat(10_000)}"`,
      Array.from({ length: 200 }, (_, i) => `userName eq "u${i}"`).join(" or "),
      'userName eq "a"; DROP TABLE users; --',
      "userName eq 'a' OR 1=1",
      'userName eq "a" ) OR (1=1',
      "\u0000",
      'emails[value eq "a"]]',
    ];
    for (const filter of hostile) {
      const r = await tenant.scim("GET", q(filter));
      expect(r.status, filter.slice(0, 40)).toBe(400);
      expect(r.body.scimType).toBe("invalidFilter");
    }
    // SQL metacharacters inside a quoted value are data, not SQL.
    for (const value of ["' OR '1'='1", '"; DROP TABLE users; --', "%", "_", "\\"]) {
      const r = await tenant.scim("GET", q(`userName eq ${JSON.stringify(value)}`));
      expect(r.status, value).toBe(200);
      expect(r.body.totalResults).toBe(0);
    }
    expect((await tenant.scim("GET", q("userName pr"))).body.totalResults).toBe(4);
  });

  it("sorts on any singular attribute, and sort with paging stays stable", async () => {
    const asc = await tenant.scim("GET", "/Users?sortBy=title&sortOrder=ascending");
    const titles = asc.body.Resources.map((u: { title?: string }) => u.title ?? null);
    expect(titles.slice(0, 2).map((t: string) => t.toLowerCase())).toEqual(["engineer", "engineer"]);
    expect(titles.slice(2)).toEqual(["Manager", null]);
    const desc = await tenant.scim("GET", "/Users?sortBy=userName&sortOrder=DESCENDING");
    expect(names({ body: { Resources: desc.body.Resources } })).toEqual(["alice", "bob", "carol", "dave"]);
    expect(desc.body.Resources.map((u: { userName: string }) => u.userName[0])).toEqual(["d", "c", "b", "a"]);
    const paged: string[] = [];
    for (let start = 1; start <= 4; start++) {
      const page = await tenant.scim("GET", `/Users?sortBy=title&startIndex=${start}&count=1`);
      paged.push(page.body.Resources[0].id);
    }
    expect(paged).toEqual(asc.body.Resources.map((u: { id: string }) => u.id));
    expect((await tenant.scim("GET", "/Users?sortBy=nosuch")).status).toBe(400);
    expect((await tenant.scim("GET", "/Users?sortBy=title&sortOrder=sideways")).status).toBe(400);
  });

  it("projects with attributes and excludedAttributes, on reads and writes", async () => {
    const only = await tenant.scim("GET", `/Users/${byName.alice}?attributes=title,name.givenName`);
    // userName is returned "default" (RFC 7643 §8.7.1): not asked for, not returned.
    expect(Object.keys(only.body).sort()).toEqual(["id", "name", "schemas", "title"]);
    expect(Object.keys(only.body.name)).toEqual(["givenName"]);
    const without = await tenant.scim("GET", `/Users/${byName.alice}?excludedAttributes=emails,meta,id,userName`);
    expect(without.body).not.toHaveProperty("emails");
    expect(without.body).not.toHaveProperty("meta");
    expect(without.body.id).toBe(byName.alice); // returned: always
    expect(without.body).not.toHaveProperty("userName"); // returned: default, so it can be excluded
    const ext = await tenant.scim("GET", `/Users?filter=${encodeURIComponent('userName eq "alice@corp.example"')}&attributes=${ENTERPRISE}:department`);
    expect(ext.body.Resources[0][ENTERPRISE]).toEqual({ department: "R&D" });
    expect(ext.body.Resources[0].schemas).toContain(ENTERPRISE);
    const written = await tenant.scim("PATCH", `/Users/${byName.dave}?attributes=nickName`, { Operations: [{ op: "add", path: "nickName", value: "D" }] });
    expect(Object.keys(written.body).sort()).toEqual(["id", "nickName", "schemas"]);
  });

  it("POST .search per resource type and at the root", async () => {
    const users = await tenant.scim("POST", "/Users/.search", {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
      filter: 'title eq "engineer"',
      attributes: ["userName"],
      sortBy: "userName",
      startIndex: 1,
      count: 10,
    });
    expect(users.status).toBe(200);
    expect(users.body.Resources).toEqual([
      { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], id: byName.alice, userName: "alice@corp.example" },
      { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], id: byName.carol, userName: "carol@other.example" },
    ]);
    await tenant.scim("POST", "/Groups", { displayName: "Engineers" });
    const everything = await tenant.scim("POST", "/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], startIndex: 4, count: 2 });
    expect(everything.body.totalResults).toBe(5);
    expect(everything.body.Resources.map((r: { meta: { resourceType: string } }) => r.meta.resourceType)).toEqual(["User", "Group"]);
    const groupsOnly = await tenant.scim("POST", "/.search", { filter: 'displayName sw "Eng"' });
    expect(groupsOnly.body.Resources.map((r: { displayName: string }) => r.displayName)).toEqual(["Engineers"]);
    const usersOnly = await tenant.scim("POST", "/.search", { filter: 'userName sw "alice"' });
    expect(usersOnly.body.totalResults).toBe(1);
    expect((await tenant.scim("POST", "/.search", { filter: "nonsense eq" })).status).toBe(400);
    expect((await tenant.scim("POST", "/Groups/.search", { filter: 'displayName eq "engineers"' })).body.totalResults).toBe(1);
  });
});

describe("/Bulk", () => {
  it("runs operations in order, resolving bulkId references, even to later operations", async () => {
    const tenant = await scimTenant();
    const r = await tenant.scim("POST", "/Bulk", {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
      Operations: [
        { method: "POST", path: "/Groups", bulkId: "team", data: { displayName: "Team", members: [{ value: "bulkId:ann" }, { value: "bulkId:ben" }] } },
        { method: "POST", path: "/Users", bulkId: "ann", data: oktaUser({ userName: "ann@bulk.example" }) },
        { method: "POST", path: "/Users", bulkId: "ben", data: oktaUser({ userName: "ben@bulk.example" }) },
        { method: "PATCH", path: "/Users/bulkId:ben", data: { Operations: [{ op: "replace", value: { title: "Lead" } }] } },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]);
    const [group, ann, ben, patched] = r.body.Operations;
    expect(group).toMatchObject({ method: "POST", bulkId: "team", status: "201", version: 'W/"1"' });
    expect(ann).toMatchObject({ method: "POST", bulkId: "ann", status: "201", location: expect.stringContaining("/Users/") });
    expect(ben.status).toBe("201");
    expect(patched).toMatchObject({ method: "PATCH", status: "200", version: 'W/"2"', location: ben.location });
    const members = (await request("GET", new URL(group.location).pathname, { headers: { Authorization: `Bearer ${tenant.token}` } })).body.members.map((m: { value: string }) => m.value).sort();
    expect(members).toEqual([ann.location.split("/").pop(), ben.location.split("/").pop()].sort());
    expect((await tenant.scim("GET", `/Users/${ben.location.split("/").pop()}`)).body.title).toBe("Lead");
  });

  it("reports a failing operation in its result and carries on; failOnErrors stops after that many", async () => {
    const tenant = await scimTenant();
    const ops = [
      { method: "POST", path: "/Users", bulkId: "a", data: oktaUser({ userName: "dup@bulk.example" }) },
      { method: "POST", path: "/Users", bulkId: "b", data: oktaUser({ userName: "DUP@bulk.example" }) },
      { method: "DELETE", path: `/Users/${crypto.randomUUID()}` },
      { method: "POST", path: "/Users", bulkId: "c", data: oktaUser({ userName: "ok@bulk.example" }) },
      { method: "PATCH", path: "/Users/bulkId:b", data: { Operations: [{ op: "replace", value: { title: "x" } }] } },
    ];
    const all = await tenant.scim("POST", "/Bulk", { Operations: ops });
    expect(all.body.Operations.map((o: { status: string }) => o.status)).toEqual(["201", "409", "404", "201", "409"]);
    expect(all.body.Operations[1].response).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "409", scimType: "uniqueness" });
    expect(all.body.Operations[4].response.detail).toContain("bulkId 'b'");

    const other = await scimTenant();
    const stopped = await other.scim("POST", "/Bulk", { failOnErrors: 1, Operations: ops });
    expect(stopped.body.Operations.map((o: { status: string }) => o.status)).toEqual(["201", "409"]);
    expect((await other.scim("GET", `/Users?filter=${encodeURIComponent('userName eq "ok@bulk.example"')}`)).body.totalResults).toBe(0);
  });

  it("enforces the advertised limits and refuses malformed requests", async () => {
    const tenant = await scimTenant();
    const tooMany = await tenant.scim("POST", "/Bulk", { Operations: Array.from({ length: 1001 }, () => ({ method: "DELETE", path: "/Users/x" })) });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.scimType).toBe("tooMany");
    const tooLarge = await tenant.scim("POST", "/Bulk", { Operations: [{ method: "POST", path: "/Users", bulkId: "x", data: oktaUser({ title: "x".repeat(MAX_LARGE_BODY_BYTES + 1000) }) }] });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.scimType).toBe("tooLarge");
    for (const body of [{}, { Operations: [{ method: "GET", path: "/Users" }] }, { Operations: [{ method: "POST", path: "/Users", data: {} }] }, { Operations: [{ method: "PUT", path: "Users/1", data: {} }] }]) {
      const r = await tenant.scim("POST", "/Bulk", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    const circular = await tenant.scim("POST", "/Bulk", {
      Operations: [
        { method: "POST", path: "/Groups", bulkId: "g1", data: { displayName: "G1", members: [{ value: "bulkId:g2" }] } },
        { method: "POST", path: "/Groups", bulkId: "g2", data: { displayName: "G2", members: [{ value: "bulkId:g1" }] } },
        { method: "POST", path: "/Groups", bulkId: "g3", data: { displayName: "G3", members: [{ value: "bulkId:nope" }] } },
      ],
    });
    expect(circular.status).toBe(200);
    expect(circular.body.Operations.map((o: { status: string }) => o.status)).toEqual(["409", "409", "409"]);
    expect((await tenant.scim("GET", "/Groups")).body.totalResults).toBe(0);
    const sps = (await tenant.scim("GET", "/ServiceProviderConfig")).body;
    expect(sps.bulk).toEqual({ supported: true, maxOperations: 1000, maxPayloadSize: 16 * 1024 * 1024 });
  });
});

describe("ETags on groups", () => {
  it("round-trip: If-None-Match → 304, stale If-Match → 412, fresh → success", async () => {
    const tenant = await scimTenant();
    const group = await tenant.scim("POST", "/Groups", { displayName: "Versioned" });
    const etag = group.headers.get("ETag")!;
    expect(etag).toBe('W/"1"');
    expect((await tenant.scim("GET", `/Groups/${group.body.id}`, undefined, { "If-None-Match": etag })).status).toBe(304);
    const stale = await tenant.scim("PUT", `/Groups/${group.body.id}`, { displayName: "V2" }, { "If-Match": 'W/"5"' });
    expect(stale.status).toBe(412);
    const fresh = await tenant.scim("PUT", `/Groups/${group.body.id}`, { displayName: "V2" }, { "If-Match": etag });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("ETag")).toBe('W/"2"');
    expect((await tenant.scim("DELETE", `/Groups/${group.body.id}`, undefined, { "If-Match": etag })).status).toBe(412);
    expect((await tenant.scim("DELETE", `/Groups/${group.body.id}`, undefined, { "If-Match": 'W/"2"' })).status).toBe(204);
  });
});

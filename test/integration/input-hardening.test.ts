// Bad input never reaches storage or a 5xx (issue 23 §3, §7): huge paging numbers, JSON nested
// thousands of levels deep, identifiers that are numbers, lists, blank, carry NUL or are 900,000
// characters long. Each is a SCIM 400 (or problem details on the admin API) that says what is accepted.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, oktaUser, request, scimTenant, type JsonResponse } from "../support/harness";

function deeplyNested(levels: number): string {
  return `{"userName":"deep@example.com","x":${"[".repeat(levels)}${"]".repeat(levels)}}`;
}

function expectScim400(response: JsonResponse, scimType: string, what: string) {
  expect(response.status, `${what}: ${response.text.slice(0, 200)}`).toBe(400);
  expect(response.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "400", scimType });
}

describe("huge and odd paging numbers", () => {
  it("SCIM lists and searches answer 200 (an empty page past the end) or 400, never a 5xx", async () => {
    const tenant = await scimTenant();
    expect((await tenant.scim("POST", "/Users", oktaUser())).status).toBe(201);
    for (const startIndex of ["1e20", "9223372036854775808", "1e308", "99999999999999999999999", "-1e20", "0x10", "1.5"]) {
      for (const path of ["/Users", "/Groups"]) {
        const res = await tenant.scim("GET", `${path}?startIndex=${startIndex}&count=1e20`);
        expect(res.status, `${path} startIndex=${startIndex}`).toBe(200);
        expect(Number.isSafeInteger(res.body.startIndex)).toBe(true);
      }
      const searched = await tenant.scim("POST", "/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], startIndex: Number(startIndex), count: 5 });
      expect(searched.status, `.search startIndex=${startIndex}`).toBe(200);
    }
    const far = await tenant.scim("GET", "/Users?startIndex=1e20");
    expect(far.body).toMatchObject({ totalResults: 1, itemsPerPage: 0, Resources: [] });
    for (const bad of ["NaN", "Infinity", "abc", "1e400"]) {
      const res = await tenant.scim("GET", `/Users?startIndex=${bad}`);
      expect(res.status, bad).toBeLessThan(500);
    }
  });

  it("admin lists answer 400 problem details for out-of-range numbers, never a 5xx", async () => {
    const tenant = await scimTenant();
    const paths = ["/users?startIndex=", "/groups?startIndex=", "/users?count=", "/events?limit=", "/events?before=", "/changes?limit=", "/changes?after="];
    for (const value of ["1e20", "9223372036854775808", "-1", "NaN", "1.5", "0x10", "%00", "9".repeat(400)]) {
      for (const path of paths) {
        const res = await admin("GET", `/tenants/${tenant.slug}${path}${value}`);
        expect(res.status, `${path}${value}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
        if (res.status >= 400) expect(res.headers.get("Content-Type")).toBe("application/problem+json");
      }
      for (const path of [`/audit?limit=${value}`, `/audit?before=${value}`]) {
        expect((await admin("GET", path)).status, path).toBeLessThan(500);
      }
    }
  });
});

describe("JSON nested 5,000 levels deep", () => {
  it("is refused with 400 invalidSyntax on every SCIM write, search and Bulk", async () => {
    const tenant = await scimTenant();
    const user = await tenant.scim("POST", "/Users", oktaUser());
    const group = await tenant.scim("POST", "/Groups", { displayName: `Deep ${crypto.randomUUID()}` });
    const body = deeplyNested(5000);
    const targets: Array<[string, string]> = [
      ["POST", "/Users"],
      ["PUT", `/Users/${user.body.id}`],
      ["PATCH", `/Users/${user.body.id}`],
      ["POST", "/Groups"],
      ["PUT", `/Groups/${group.body.id}`],
      ["PATCH", `/Groups/${group.body.id}`],
      ["POST", "/Users/.search"],
      ["POST", "/Bulk"],
    ];
    for (const [method, path] of targets) {
      const res = await request(method, `${tenant.base}${path}`, { rawBody: body, headers: { Authorization: `Bearer ${tenant.token}`, "Content-Type": "application/scim+json" } });
      expectScim400(res, "invalidSyntax", `${method} ${path}`);
      expect(res.body.detail).toMatch(/64 levels/);
    }
    // A PATCH whose value nests deeply inside an otherwise valid operation, too.
    const patch = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":${"{\"a\":".repeat(5000)}1${"}".repeat(5000)}}]}`;
    const res = await request("PATCH", `${tenant.base}/Users/${user.body.id}`, { rawBody: patch, headers: { Authorization: `Bearer ${tenant.token}` } });
    expectScim400(res, "invalidSyntax", "deep PATCH value");
  });

  it("is refused with 400 problem details on the admin API", async () => {
    const tenant = await scimTenant();
    for (const path of [`/tenants/${tenant.slug}/webhooks`, `/tenants/${tenant.slug}/setup-links`, "/tenants"]) {
      const res = await request("POST", `/admin/v1${path}`, { rawBody: deeplyNested(5000), headers: { Authorization: `Bearer ${(await import("../support/harness")).ADMIN_TOKEN}` } });
      expect(res.status, path).toBe(400);
      expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    }
  });
});

describe("identifiers: userName, displayName, externalId", () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ["a number", 5, /must be a string/],
    ["a boolean", true, /must be a string/],
    ["a list", ["someone@example.com"], /not a list/],
    ["an object", { value: "x" }, /must be a string/],
    ["blank", "   \t ", /not blank/],
    ["NUL", "bad\u0000name@example.com", /control characters/],
    ["a newline", "two\nlines", /control characters/],
    ["200,000 characters", "u".repeat(200_000), /200000 characters long; at most 256/],
    ["900,000 characters", "n".repeat(900_000), /900000 characters long; at most 256/],
  ];

  it("POST /Users refuses each bad userName, displayName and externalId with 400 invalidValue, storing nothing", async () => {
    const tenant = await scimTenant();
    for (const attribute of ["userName", "displayName", "externalId"]) {
      for (const [what, value, why] of cases) {
        const res = await tenant.scim("POST", "/Users", oktaUser({ [attribute]: value }));
        expectScim400(res, "invalidValue", `${attribute} ${what}`);
        expect(res.body.detail, `${attribute} ${what}`).toMatch(why);
        expect(res.body.detail).toContain(attribute);
      }
    }
    expect((await tenant.scim("GET", "/Users?count=0")).body.totalResults).toBe(0);
  });

  it("PUT and PATCH refuse them too and leave the user as it was", async () => {
    const tenant = await scimTenant();
    const created = await tenant.scim("POST", "/Users", oktaUser());
    const id = created.body.id;
    for (const [what, value] of cases) {
      expectScim400(await tenant.scim("PUT", `/Users/${id}`, { ...oktaUser(), userName: value }), "invalidValue", `PUT ${what}`);
      const patch = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "displayName", value }] };
      expectScim400(await tenant.scim("PATCH", `/Users/${id}`, patch), "invalidValue", `PATCH ${what}`);
    }
    const after = await tenant.scim("GET", `/Users/${id}`);
    expect(after.body.userName).toBe(created.body.userName);
    expect(after.body.displayName).toBe(created.body.displayName);
    expect(after.body.meta.version).toBe(created.body.meta.version);
  });

  it("a group's displayName and externalId follow the same rule", async () => {
    const tenant = await scimTenant();
    for (const attribute of ["displayName", "externalId"]) {
      for (const [what, value] of cases) {
        const res = await tenant.scim("POST", "/Groups", { displayName: `G ${crypto.randomUUID()}`, [attribute]: value });
        expectScim400(res, "invalidValue", `group ${attribute} ${what}`);
      }
    }
    expect((await tenant.scim("GET", "/Groups?count=0")).body.totalResults).toBe(0);
  });

  it("other strings: NUL and more than 4,096 characters are refused; 256-character identifiers and numbers in ordinary strings are fine", async () => {
    const tenant = await scimTenant();
    expectScim400(await tenant.scim("POST", "/Users", oktaUser({ title: "a\u0000b" })), "invalidValue", "title NUL");
    const long = await tenant.scim("POST", "/Users", oktaUser({ nickName: "x".repeat(4097) }));
    expectScim400(long, "invalidValue", "nickName 4097");
    expect(long.body.detail).toMatch(/at most 4096/);
    const edge = await tenant.scim("POST", "/Users", oktaUser({ userName: `${"é".repeat(240)}@example.com`, title: 42, nickName: "y".repeat(4096) }));
    expect(edge.status, edge.text.slice(0, 200)).toBe(201);
    expect(edge.body.title).toBe("42");
  });

  it("the limits are stated in /Schemas", async () => {
    const tenant = await scimTenant();
    const schema = await tenant.scim("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User");
    const userName = schema.body.attributes.find((a: { name: string }) => a.name === "userName");
    expect(userName.description).toMatch(/1 to 256 characters, not blank, without control characters/);
  });
});

describe("values stored before the limits existed", () => {
  // Rows as an older release stored them: written straight into D1, never through a writer, so every
  // request below reads them from the database. Too long, blank-ish and control-character names and
  // a 5,000-character title, all of which today's limits refuse when a request sends them anew.
  const legacyUserName = `${"legacy.".repeat(50)}user@example.com`;
  const legacyDisplayName = "Old\tName";
  const legacyTitle = "t".repeat(5000);
  const legacyGroupName = `Legacy ${"g".repeat(300)}`;
  const patchOp = (...Operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });

  async function legacyRows() {
    const tenant = await scimTenant();
    const template = await tenant.scim("POST", "/Users", oktaUser());
    const userId = crypto.randomUUID();
    const groupId = crypto.randomUUID();
    const data = { userName: legacyUserName, name: { givenName: "Old", familyName: "Timer" }, displayName: legacyDisplayName, title: legacyTitle, active: true };
    await env.TENANT_DEFAULT.batch([
      env.TENANT_DEFAULT.prepare(
        `INSERT INTO users (tenant_id, id, user_name, user_name_norm, display_name, active, data, source, version, created_at, updated_at)
         SELECT tenant_id, ?1, ?2, lower(?2), ?3, 1, ?4, source, 1, created_at, updated_at FROM users WHERE id = ?5`,
      ).bind(userId, legacyUserName, legacyDisplayName, JSON.stringify(data), template.body.id),
      env.TENANT_DEFAULT.prepare(
        `INSERT INTO groups (tenant_id, id, display_name, display_name_norm, data, source, version, created_at, updated_at)
         SELECT tenant_id, ?1, ?2, lower(?2), ?3, source, 1, created_at, updated_at FROM users WHERE id = ?4`,
      ).bind(groupId, legacyGroupName, JSON.stringify({ displayName: legacyGroupName }), template.body.id),
    ]);
    return { tenant, userId, groupId, otherUserId: template.body.id as string };
  }

  it("a user's PATCH and PUT that leave them as they are succeed; only a value the request changes is held to the limits", async () => {
    const { tenant, userId } = await legacyRows();
    const deactivated = await tenant.scim("PATCH", `/Users/${userId}`, patchOp({ op: "replace", value: { active: false } }));
    expect(deactivated.status, deactivated.text.slice(0, 300)).toBe(200);
    expect(deactivated.body).toMatchObject({ userName: legacyUserName, displayName: legacyDisplayName, title: legacyTitle, active: false });

    // Okta's profile push: the whole user as read, one attribute changed.
    const read = await tenant.scim("GET", `/Users/${userId}`);
    const pushed = await tenant.scim("PUT", `/Users/${userId}`, { ...read.body, name: { givenName: "Old", familyName: "Timer-Two" } });
    expect(pushed.status, pushed.text.slice(0, 300)).toBe(200);
    expect(pushed.body).toMatchObject({ userName: legacyUserName, displayName: legacyDisplayName, title: legacyTitle, name: { familyName: "Timer-Two" } });

    // A changed value meets today's rule, however close to the stored one.
    expectScim400(await tenant.scim("PUT", `/Users/${userId}`, { ...read.body, userName: `x${legacyUserName}` }), "invalidValue", "PUT a new over-long userName");
    expectScim400(await tenant.scim("PATCH", `/Users/${userId}`, patchOp({ op: "replace", path: "displayName", value: "New\tName" })), "invalidValue", "PATCH a new control-character displayName");
    expectScim400(await tenant.scim("PATCH", `/Users/${userId}`, patchOp({ op: "replace", path: "title", value: `${legacyTitle}!` })), "invalidValue", "PATCH a new over-long title");
    // A stored value moved to another attribute is a change there.
    expectScim400(await tenant.scim("PATCH", `/Users/${userId}`, patchOp({ op: "replace", path: "nickName", value: legacyTitle })), "invalidValue", "PATCH the title's value into nickName");
    const after = await tenant.scim("GET", `/Users/${userId}`);
    expect(after.body.meta.version).toBe(pushed.body.meta.version);
  });

  it("a group's member PATCH and a PUT of its stored displayName succeed; a new over-long displayName does not", async () => {
    const { tenant, groupId, otherUserId } = await legacyRows();
    const added = await tenant.scim("PATCH", `/Groups/${groupId}`, patchOp({ op: "add", path: "members", value: [{ value: otherUserId }] }));
    expect(added.status, added.text.slice(0, 300)).toBe(204);
    const put = await tenant.scim("PUT", `/Groups/${groupId}`, { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: legacyGroupName, externalId: "grp-1" });
    expect(put.status, put.text.slice(0, 300)).toBe(200);
    expect(put.body).toMatchObject({ displayName: legacyGroupName, externalId: "grp-1", members: [{ value: otherUserId }] });
    expectScim400(await tenant.scim("PUT", `/Groups/${groupId}`, { displayName: `${legacyGroupName}!` }), "invalidValue", "PUT a new over-long group displayName");
  });
});

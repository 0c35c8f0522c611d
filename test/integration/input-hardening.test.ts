// Bad input never reaches storage or a 5xx (issue 23 §3, §7): huge paging numbers, JSON nested
// thousands of levels deep, identifiers that are numbers, lists, blank, carry NUL or are 900,000
// characters long. Each is a SCIM 400 (or problem details on the admin API) that says what is accepted.
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

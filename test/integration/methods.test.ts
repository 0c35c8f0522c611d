// A known path asked with a method it does not serve answers 405 with `Allow` (RFC 9110 §15.5.6),
// on the SCIM API and the admin API alike; an unknown path stays 404. The admin API's OpenAPI
// document lists 413 wherever a request body is accepted.
import { describe, expect, it } from "vitest";
import { admin, scimTenant } from "../support/harness";

describe("405 Method Not Allowed", () => {
  it("SCIM: unknown methods on /Users, /Users/{id}, /Groups, /Bulk answer 405 with Allow; unknown paths 404", async () => {
    const tenant = await scimTenant();
    const cases: Array<[string, string, string]> = [
      ["DELETE", "/Users", "GET, HEAD, POST"],
      ["PATCH", "/Groups", "GET, HEAD, POST"],
      ["POST", "/Users/some-id", "DELETE, GET, HEAD, PATCH, PUT"],
      ["GET", "/Bulk", "POST"],
      ["PUT", "/.search", "POST"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await tenant.scim(method, path, method === "GET" ? undefined : {});
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("Allow")).toBe(allow);
      expect(res.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "405" });
      expect(res.headers.get("Content-Type")).toBe("application/scim+json; charset=utf-8");
    }
    expect((await tenant.scim("GET", "/Nothing")).status).toBe(404);
    expect((await tenant.scim("POST", "/Users/a/b")).status).toBe(404);
  });

  it("admin API: unknown methods on known paths answer 405 problem details with Allow; unknown paths 404", async () => {
    const tenant = await scimTenant();
    const cases: Array<[string, string, string]> = [
      ["PUT", "/tenants", "GET, HEAD, POST"],
      ["PATCH", `/tenants/${tenant.slug}`, "DELETE, GET, HEAD"],
      ["GET", `/tenants/${tenant.slug}/scim/token`, "POST"],
      ["DELETE", `/tenants/${tenant.slug}/users`, "GET, HEAD"],
    ];
    for (const [method, path, allow] of cases) {
      const res = await admin(method, path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("Allow")).toBe(allow);
      expect(res.headers.get("Content-Type")).toBe("application/problem+json");
      expect(res.body).toMatchObject({ status: 405, title: "Method Not Allowed" });
    }
    expect((await admin("GET", "/nothing-here")).status).toBe(404);
  });
});

describe("OpenAPI document", () => {
  it("documents 413 for every operation that takes a request body", async () => {
    const doc = (await admin("GET", "/openapi.json")).body;
    const withBody = Object.entries<any>(doc.paths).flatMap(([path, item]) =>
      Object.entries<any>(item)
        .filter(([, op]) => op?.requestBody)
        .map(([method, op]) => ({ at: `${method} ${path}`, op })),
    );
    expect(withBody.length).toBeGreaterThan(5);
    for (const { at, op } of withBody) expect(Object.keys(op.responses), at).toContain("413");
  });
});

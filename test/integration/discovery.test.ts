// Discovery (RFC 7644 §4): every document fetched through the Worker and checked against the
// RFC's own definitions (RFC 7643 §5 ServiceProviderConfig, §6 ResourceType, §7 Schema).
import { describe, expect, it } from "vitest";
import { MAX_LARGE_BODY_BYTES } from "../../src/scim/limits";
import { MAX_PAGE_SIZE } from "../../src/scim/list";
import { ORIGIN, request, scimTenant, type ScimTenant } from "../support/harness";

const SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error";
const USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const TYPES = ["string", "boolean", "decimal", "integer", "dateTime", "reference", "binary", "complex"];
const MUTABILITY = ["readOnly", "readWrite", "immutable", "writeOnly"];
const RETURNED = ["always", "never", "default", "request"];
const UNIQUENESS = ["none", "server", "global"];
const DOCUMENT_PATHS = ["/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/User", "/Schemas", `/Schemas/${USER_URN}`];

const baseUrl = (tenant: ScimTenant) => `${ORIGIN}${tenant.base}`;

function expectScimError(response: { status: number; headers: Headers; body: any }, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toBe("application/scim+json; charset=utf-8");
  expect(response.body.schemas).toEqual([ERROR_URN]);
  expect(response.body.status).toBe(String(status));
  expect(typeof response.body.detail).toBe("string");
}

/** Validates one attribute definition against RFC 7643 §7; returns its dotted path for reporting. */
function expectAttributeDefinition(attribute: any, path: string, isSub: boolean) {
  expect(typeof attribute.name, path).toBe("string");
  expect(attribute.name, path).toMatch(/^\$?[A-Za-z][\w-]*$/); // RFC 7643 §2.1 ATTRNAME ($ref allowed)
  expect(TYPES, `${path}.type`).toContain(attribute.type);
  expect(typeof attribute.multiValued, `${path}.multiValued`).toBe("boolean");
  expect(typeof attribute.description, `${path}.description`).toBe("string");
  expect(attribute.description.length, `${path}.description`).toBeGreaterThan(0);
  expect(typeof attribute.required, `${path}.required`).toBe("boolean");
  expect(typeof attribute.caseExact, `${path}.caseExact`).toBe("boolean");
  expect(MUTABILITY, `${path}.mutability`).toContain(attribute.mutability);
  expect(RETURNED, `${path}.returned`).toContain(attribute.returned);
  expect(UNIQUENESS, `${path}.uniqueness`).toContain(attribute.uniqueness);
  if ("canonicalValues" in attribute) {
    expect(Array.isArray(attribute.canonicalValues), `${path}.canonicalValues`).toBe(true);
    for (const v of attribute.canonicalValues) expect(typeof v, `${path}.canonicalValues`).toBe("string");
  }
  if ("referenceTypes" in attribute) {
    expect(attribute.type, `${path}.referenceTypes only on references`).toBe("reference");
    expect(attribute.referenceTypes.length, `${path}.referenceTypes`).toBeGreaterThan(0);
    // a resource type this server serves, "external" or "uri" (RFC 7643 §7)
    for (const v of attribute.referenceTypes) expect(["User", "Group", "external", "uri"], `${path}.referenceTypes`).toContain(v);
  }
  if (attribute.type === "reference") expect(Array.isArray(attribute.referenceTypes), `${path}.referenceTypes`).toBe(true);
  if ("subAttributes" in attribute) {
    expect(attribute.type, `${path}: subAttributes only on complex`).toBe("complex");
    expect(isSub, `${path}: a sub-attribute cannot have sub-attributes`).toBe(false);
    expect(attribute.subAttributes.length, `${path}.subAttributes`).toBeGreaterThan(0);
    const names = attribute.subAttributes.map((s: any) => s.name.toLowerCase());
    expect(new Set(names).size, `${path}: duplicate sub-attribute`).toBe(names.length);
    for (const sub of attribute.subAttributes) expectAttributeDefinition(sub, `${path}.${sub.name}`, true);
  }
  if (attribute.type === "complex") {
    expect(isSub, `${path}: a complex sub-attribute`).toBe(false);
    expect(Array.isArray(attribute.subAttributes), `${path}: complex without subAttributes`).toBe(true);
  }
}

/** Every attribute name in a schema document, sub-attributes included, lower-cased. */
function attributeNames(schema: any): string[] {
  return schema.attributes.flatMap((a: any) => [a.name, ...(a.subAttributes ?? []).map((s: any) => `${a.name}.${s.name}`)]).map((n: string) => n.toLowerCase());
}

describe("GET /ServiceProviderConfig", () => {
  it("has every RFC 7643 §5 attribute with the right types and this server's limits", async () => {
    const tenant = await scimTenant();
    const response = await tenant.scim("GET", "/ServiceProviderConfig");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/scim+json; charset=utf-8");
    const spc = response.body;
    expect(spc.schemas).toEqual([SPC_URN]);
    for (const feature of ["patch", "bulk", "filter", "changePassword", "sort", "etag"]) {
      expect(typeof spc[feature]?.supported, `${feature}.supported`).toBe("boolean");
    }
    expect(spc.patch.supported).toBe(true);
    expect(spc.bulk.supported).toBe(true);
    expect(Number.isInteger(spc.bulk.maxOperations)).toBe(true);
    expect(Number.isInteger(spc.bulk.maxPayloadSize)).toBe(true);
    expect(spc.bulk.maxOperations).toBe(1000);
    // The largest body accepted: a Bulk's, and a group push's (design.md §4h).
    expect(spc.bulk.maxPayloadSize).toBe(MAX_LARGE_BODY_BYTES);
    expect(spc.filter.supported).toBe(true);
    expect(Number.isInteger(spc.filter.maxResults)).toBe(true);
    expect(spc.filter.maxResults).toBe(MAX_PAGE_SIZE);
    expect(spc.changePassword.supported).toBe(false);
    expect(spc.sort.supported).toBe(true);
    expect(spc.etag.supported).toBe(true);
    expect(Array.isArray(spc.authenticationSchemes)).toBe(true);
    expect(spc.authenticationSchemes.length).toBeGreaterThan(0);
    for (const scheme of spc.authenticationSchemes) {
      for (const key of ["type", "name", "description"]) expect(typeof scheme[key], key).toBe("string");
    }
    expect(spc.authenticationSchemes).toEqual([
      {
        type: "oauthbearertoken",
        name: "OAuth Bearer Token",
        description: "Authentication with the tenant's SCIM bearer token (Authorization: Bearer tsscim_…).",
        primary: true,
      },
    ]);
    expect(spc.meta).toEqual({ resourceType: "ServiceProviderConfig", location: `${baseUrl(tenant)}/ServiceProviderConfig` });
  });

  it("is behind the tenant token like every SCIM route", async () => {
    const tenant = await scimTenant();
    const response = await request("GET", `${tenant.base}/ServiceProviderConfig`);
    expect(response.status).toBe(401);
  });
});

describe("GET /Schemas", () => {
  it("serves User, EnterpriseUser, Group and Okta's Role as a ListResponse of valid RFC 7643 §7 schema documents", async () => {
    const tenant = await scimTenant();
    const response = await tenant.scim("GET", "/Schemas");
    expect(response.status).toBe(200);
    const list = response.body;
    expect(list.schemas).toEqual([LIST_URN]);
    expect(list.totalResults).toBe(list.Resources.length);
    expect(list.itemsPerPage).toBe(list.Resources.length);
    expect(list.startIndex).toBe(1);
    expect(list.Resources.map((s: any) => s.id)).toEqual([USER_URN, ENTERPRISE_URN, GROUP_URN, "urn:okta:scim:schemas:core:1.0:Role"]);

    for (const schema of list.Resources) {
      expect(schema.schemas, schema.id).toEqual([SCHEMA_URN]);
      // Okta names its Role schema in its own namespace (urn:okta:…), as its entitlements guide requires.
      expect(schema.id).toMatch(/^urn:(ietf:params:scim:schemas|okta:scim:schemas):/);
      expect(typeof schema.name).toBe("string");
      expect(typeof schema.description).toBe("string");
      expect(schema.meta).toEqual({ resourceType: "Schema", location: `${baseUrl(tenant)}/Schemas/${schema.id}` });
      expect(Array.isArray(schema.attributes)).toBe(true);
      expect(schema.attributes.length).toBeGreaterThan(0);
      const names = schema.attributes.map((a: any) => a.name.toLowerCase());
      expect(new Set(names).size, `${schema.id}: duplicate attribute`).toBe(names.length);
      for (const attribute of schema.attributes) expectAttributeDefinition(attribute, `${schema.name}.${attribute.name}`, false);
    }
  });

  it("describes the attributes the server actually has, with the RFC's characteristics for the key ones", async () => {
    const tenant = await scimTenant();
    const { body } = await tenant.scim("GET", "/Schemas");
    const byId = Object.fromEntries(body.Resources.map((s: any) => [s.id, s]));
    const find = (schema: any, name: string) => schema.attributes.find((a: any) => a.name === name);

    const userName = find(byId[USER_URN], "userName");
    expect(userName).toMatchObject({ type: "string", multiValued: false, required: true, uniqueness: "server", mutability: "readWrite" });
    const emails = find(byId[USER_URN], "emails");
    expect(emails).toMatchObject({ type: "complex", multiValued: true });
    expect(emails.subAttributes.map((s: any) => s.name)).toEqual(["value", "display", "type", "primary"]);
    const groups = find(byId[USER_URN], "groups");
    expect(groups.mutability).toBe("readOnly");
    const members = find(byId[GROUP_URN], "members");
    expect(members).toMatchObject({ type: "complex", multiValued: true });
    expect(members.subAttributes.find((s: any) => s.name === "value")).toMatchObject({ mutability: "immutable" });
    expect(find(byId[GROUP_URN], "displayName")).toMatchObject({ required: true });
    // common attributes (RFC 7643 §3.1) are not part of any schema's attributes
    for (const schema of body.Resources) for (const common of ["id", "externalId", "meta"]) expect(find(schema, common)).toBeUndefined();
    // manager.displayName is read-only and never filled in, so it is not advertised
    const manager = find(byId[ENTERPRISE_URN], "manager");
    expect(manager.subAttributes.map((s: any) => s.name)).toEqual(["value", "$ref"]);
  });

  it("advertises only what the server round-trips: every writable User attribute survives POST then GET", async () => {
    const tenant = await scimTenant();
    const schemas = (await tenant.scim("GET", "/Schemas")).body.Resources;
    const sample = (a: any, owner: string): unknown => {
      if (a.canonicalValues?.length) return a.canonicalValues[a.canonicalValues.length - 1];
      switch (a.type) {
        case "boolean":
          return true;
        case "integer":
          return 7;
        case "decimal":
          return 1.5;
        case "dateTime":
          return "2026-01-02T03:04:05Z";
        case "reference":
          return `https://example.com/${owner}/${a.name}`;
        default:
          return `${owner}-${a.name}`;
      }
    };
    const writable = (a: any) => a.mutability !== "readOnly";
    const valueOf = (a: any): unknown => {
      if (a.type !== "complex") return a.multiValued ? [sample(a, a.name)] : sample(a, a.name);
      const object = Object.fromEntries(a.subAttributes.filter(writable).map((sub: any) => [sub.name, sample(sub, a.name)]));
      return a.multiValued ? [object] : object;
    };
    const body: Record<string, unknown> = {};
    const expected: [string | undefined, string, unknown][] = [];
    for (const id of [USER_URN, ENTERPRISE_URN]) {
      const schema = schemas.find((s: any) => s.id === id);
      const target = id === USER_URN ? body : ((body[id] = {}) as Record<string, unknown>);
      for (const attribute of schema.attributes.filter(writable)) {
        target[attribute.name] = valueOf(attribute);
        expected.push([id === USER_URN ? undefined : id, attribute.name, target[attribute.name]]);
      }
    }
    body.schemas = [USER_URN, ENTERPRISE_URN];
    expect(expected.length).toBeGreaterThan(20);
    const created = await tenant.scim("POST", "/Users", body);
    expect(created.status, created.text).toBe(201);
    const fetched = await tenant.scim("GET", `/Users/${created.body.id}`);
    expect(fetched.status).toBe(200);
    for (const [extension, name, value] of expected) {
      const holder = extension ? fetched.body[extension] : fetched.body;
      expect(holder?.[name], `${extension ?? ""}${extension ? ":" : ""}${name}`).toEqual(value);
    }
  });

  it("never advertises password", async () => {
    const tenant = await scimTenant();
    const { body, text } = await tenant.scim("GET", "/Schemas");
    for (const schema of body.Resources) expect(attributeNames(schema).filter((n) => n.includes("password")), schema.id).toEqual([]);
    expect(text).not.toMatch(/password/i);
    const user = await tenant.scim("GET", `/Schemas/${USER_URN}`);
    expect(user.text).not.toMatch(/password/i);
  });

  it("GET /Schemas/{urn} serves the same document as the list, matching the URN case-insensitively", async () => {
    const tenant = await scimTenant();
    const list = await tenant.scim("GET", "/Schemas");
    for (const schema of list.body.Resources) {
      const one = await tenant.scim("GET", `/Schemas/${schema.id}`);
      expect(one.status, schema.id).toBe(200);
      expect(one.body).toEqual(schema);
    }
    const lower = await tenant.scim("GET", `/Schemas/${ENTERPRISE_URN.toLowerCase()}`);
    expect(lower.status).toBe(200);
    expect(lower.body.id).toBe(ENTERPRISE_URN);
    const encoded = await tenant.scim("GET", `/Schemas/${encodeURIComponent(GROUP_URN)}`);
    expect(encoded.status).toBe(200);
    expect(encoded.body.id).toBe(GROUP_URN);
  });

  it("answers an unknown schema URN with a 404 SCIM Error", async () => {
    const tenant = await scimTenant();
    for (const urn of ["urn:ietf:params:scim:schemas:core:2.0:Widget", "urn:ietf:params:scim:api:messages:2.0:ListResponse", "nope"]) {
      const response = await tenant.scim("GET", `/Schemas/${urn}`);
      expectScimError(response, 404);
      expect(response.body.detail).toContain(urn);
    }
  });
});

describe("GET /ResourceTypes", () => {
  it("serves User, Group and Role as RFC 7643 §6 documents whose schemas /Schemas actually serves", async () => {
    const tenant = await scimTenant();
    const response = await tenant.scim("GET", "/ResourceTypes");
    expect(response.status).toBe(200);
    expect(response.body.schemas).toEqual([LIST_URN]);
    expect(response.body.totalResults).toBe(3);
    expect(response.body.itemsPerPage).toBe(3);
    expect(response.body.startIndex).toBe(1);
    const served = new Set((await tenant.scim("GET", "/Schemas")).body.Resources.map((s: any) => s.id));

    for (const type of response.body.Resources) {
      expect(type.schemas).toEqual([RESOURCE_TYPE_URN]);
      for (const key of ["name", "endpoint", "schema"]) expect(typeof type[key], `${type.name}.${key}`).toBe("string");
      expect(type.endpoint).toMatch(/^\/[A-Z]/);
      expect(served.has(type.schema), type.schema).toBe(true);
      for (const extension of type.schemaExtensions ?? []) {
        expect(typeof extension.required).toBe("boolean");
        expect(served.has(extension.schema), extension.schema).toBe(true);
      }
      expect(type.meta).toEqual({ resourceType: "ResourceType", location: `${baseUrl(tenant)}/ResourceTypes/${type.name}` });
    }
    const [user, group] = response.body.Resources;
    expect(user).toMatchObject({ id: "User", name: "User", endpoint: "/Users", schema: USER_URN, schemaExtensions: [{ schema: ENTERPRISE_URN, required: false }] });
    expect(group).toMatchObject({ id: "Group", name: "Group", endpoint: "/Groups", schema: GROUP_URN });
    expect(group.schemaExtensions ?? []).toEqual([]);
  });

  it("GET /ResourceTypes/User and /ResourceTypes/Group serve the list's documents; unknown names are 404", async () => {
    const tenant = await scimTenant();
    const list = (await tenant.scim("GET", "/ResourceTypes")).body.Resources;
    const user = await tenant.scim("GET", "/ResourceTypes/User");
    expect(user.status).toBe(200);
    expect(user.body).toEqual(list[0]);
    const group = await tenant.scim("GET", "/ResourceTypes/Group");
    expect(group.status).toBe(200);
    expect(group.body).toEqual(list[1]);
    const unknown = await tenant.scim("GET", "/ResourceTypes/Widget");
    expectScimError(unknown, 404);
    expect(unknown.body.detail).toContain("Widget");
  });
});

describe("discovery is read-only", () => {
  it("answers POST, PUT, PATCH and DELETE on every document with 405, Allow: GET", async () => {
    const tenant = await scimTenant();
    for (const path of [...DOCUMENT_PATHS, "/ResourceTypes/Group", `/Schemas/${ENTERPRISE_URN}`]) {
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        const response = await tenant.scim(method, path, method === "DELETE" ? undefined : { schemas: [USER_URN] });
        expectScimError(response, 405);
        expect(response.headers.get("Allow"), `${method} ${path}`).toBe("GET");
        expect(response.body.detail, `${method} ${path}`).toMatch(/read-only/);
      }
    }
  });

  it("refuses a filter with 403 rather than pretend it matched (RFC 7644 §4)", async () => {
    const tenant = await scimTenant();
    for (const path of DOCUMENT_PATHS) {
      const response = await tenant.scim("GET", `${path}?filter=${encodeURIComponent('name eq "User"')}`);
      expectScimError(response, 403);
    }
    // other query parameters are ignored
    const paged = await tenant.scim("GET", "/Schemas?startIndex=2&count=1");
    expect(paged.status).toBe(200);
    expect(paged.body.Resources).toHaveLength(4);
  });
});

describe("/Me", () => {
  it("answers every method with 501: SCIM tokens belong to the tenant, not to a user", async () => {
    const tenant = await scimTenant();
    for (const [method, path] of [
      ["GET", "/Me"],
      ["POST", "/Me"],
      ["PUT", "/Me"],
      ["PATCH", "/Me"],
      ["DELETE", "/Me"],
      ["GET", "/Me/anything"],
    ]) {
      const response = await tenant.scim(method, path, method === "GET" || method === "DELETE" ? undefined : { schemas: [USER_URN] });
      expectScimError(response, 501);
      expect(response.body.detail, `${method} ${path}`).toMatch(/no user-bound token/);
      expect(response.body.detail).toMatch(/tenant/);
    }
  });
});

describe("Okta 2019 SPEC optional steps", () => {
  it("GET /ServiceProviderConfig answers 200 with its fields present", async () => {
    const tenant = await scimTenant();
    const response = await tenant.scim("GET", "/ServiceProviderConfig", undefined, { Accept: "application/scim+json" });
    expect(response.status).toBe(200);
    for (const key of ["schemas", "patch", "bulk", "filter", "changePassword", "sort", "etag", "authenticationSchemes"]) {
      expect(response.body, key).toHaveProperty(key);
    }
  });

  it("POST /ServiceProviderConfig, /ResourceTypes and /Schemas answer 405", async () => {
    const tenant = await scimTenant();
    for (const path of ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"]) {
      const response = await request("POST", `${tenant.base}${path}`, {
        body: { schemas: [USER_URN], userName: "x" },
        headers: { Authorization: `Bearer ${tenant.token}`, "Content-Type": "application/json" },
      });
      expectScimError(response, 405);
      expect(response.headers.get("Allow")).toBe("GET");
    }
  });
});

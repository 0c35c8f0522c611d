// Attribute projection (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §7 `returned`).
import { describe, expect, it } from "vitest";
import { schemaDocument } from "../../src/scim/discovery";
import { project } from "../../src/scim/projection";
import { COMMON_ATTRIBUTES, findAttribute, GROUP_RESOURCE, SCHEMA, USER_RESOURCE, type AttributeDef, type ResourceTypeDef } from "../../src/scim/schema";

const ENT = SCHEMA.enterpriseUser;

/** A User as toScimUser renders it (every kind of attribute this test needs). */
function user(): Record<string, unknown> {
  return {
    schemas: [SCHEMA.user, ENT],
    id: "u-1",
    externalId: "00u1",
    userName: "ada@example.com",
    name: { givenName: "Ada", familyName: "Lovelace", formatted: "Ada Lovelace" },
    displayName: "Ada Lovelace",
    title: "Countess",
    active: true,
    emails: [
      { value: "ada@example.com", type: "work", primary: true },
      { value: "ada@home.example", type: "home" },
      { type: "other" },
    ],
    phoneNumbers: [{ value: "+44 1", type: "work" }],
    groups: [],
    [ENT]: { department: "Analytical Engines", employeeNumber: "42", manager: { value: "m-1" } },
    meta: {
      resourceType: "User",
      created: "2026-01-01T00:00:00Z",
      lastModified: "2026-01-02T00:00:00Z",
      location: "https://x/scim/v2/Users/u-1",
      version: 'W/"1"',
    },
  };
}

function group(): Record<string, unknown> {
  return {
    schemas: [SCHEMA.group],
    id: "g-1",
    displayName: "Engineers",
    members: [
      { value: "u-1", display: "Ada", $ref: "https://x/scim/v2/Users/u-1", type: "User" },
      { value: "u-2", display: "Charles", $ref: "https://x/scim/v2/Users/u-2", type: "User" },
    ],
    meta: { resourceType: "Group", location: "https://x/scim/v2/Groups/g-1" },
  };
}

/** A resource type whose schema exercises the `never` and `request` characteristics, which User lacks. */
const str = (name: string, extra: Partial<AttributeDef> = {}): AttributeDef => ({
  name,
  type: "string",
  multiValued: false,
  description: name,
  required: false,
  caseExact: false,
  mutability: "readWrite",
  returned: "default",
  uniqueness: "none",
  ...extra,
});
const WIDGET: ResourceTypeDef = {
  ...USER_RESOURCE,
  schema: {
    ...USER_RESOURCE.schema,
    attributes: [
      str("userName", { returned: "always" }),
      str("secret", { returned: "never", mutability: "writeOnly" }),
      str("costly", { returned: "request" }),
      str("plain"),
      {
        ...str("keys"),
        type: "complex",
        multiValued: true,
        subAttributes: [str("value"), str("hash", { returned: "request" }), str("salt", { returned: "never" }), str("kid", { returned: "always" })],
      },
    ],
  },
  extensions: [],
};
const widget = () => ({
  schemas: [SCHEMA.user],
  id: "w-1",
  userName: "w",
  secret: "hunter2",
  costly: "expensive",
  plain: "p",
  keys: [{ value: "k1", hash: "h1", salt: "s1", kid: "1" }, { value: "k2", kid: "2" }],
});

describe("project: returned characteristic", () => {
  it("with no parameters returns the resource as it is (all attributes here are default/always)", () => {
    const resource = user();
    expect(project(resource, USER_RESOURCE, {})).toEqual(resource);
    expect(project(resource, USER_RESOURCE, { attributes: [], excludedAttributes: [] })).toEqual(resource);
  });

  it("does not modify its input", () => {
    const resource = user();
    const before = structuredClone(resource);
    project(resource, USER_RESOURCE, { attributes: ["emails.value"] });
    project(resource, USER_RESOURCE, { excludedAttributes: ["emails.type", ENT] });
    expect(resource).toEqual(before);
  });

  it("never returns `never` attributes or sub-attributes, whatever is asked", () => {
    for (const params of [{}, { attributes: ["secret"] }, { attributes: ["secret", "keys.salt", "keys"] }, { excludedAttributes: ["plain"] }]) {
      const out = project(widget(), WIDGET, params);
      expect(out, JSON.stringify(params)).not.toHaveProperty("secret");
      for (const key of (out.keys as Record<string, unknown>[] | undefined) ?? []) expect(key).not.toHaveProperty("salt");
    }
  });

  it("returns `request` attributes only when `attributes` names them", () => {
    expect(project(widget(), WIDGET, {})).not.toHaveProperty("costly");
    expect(project(widget(), WIDGET, { excludedAttributes: ["plain"] })).not.toHaveProperty("costly");
    expect(project(widget(), WIDGET, { attributes: ["plain"] })).not.toHaveProperty("costly");
    expect(project(widget(), WIDGET, { attributes: ["costly"] })).toEqual({ schemas: [SCHEMA.user], id: "w-1", userName: "w", costly: "expensive" });
    // request sub-attributes: only when named, not when the parent is
    expect(project(widget(), WIDGET, {}).keys).toEqual([{ value: "k1", kid: "1" }, { value: "k2", kid: "2" }]);
    expect(project(widget(), WIDGET, { attributes: ["keys"] }).keys).toEqual([{ value: "k1", kid: "1" }, { value: "k2", kid: "2" }]);
    expect(project(widget(), WIDGET, { attributes: ["keys.hash"] }).keys).toEqual([{ hash: "h1", kid: "1" }, { kid: "2" }]);
  });

  it("always returns `always` attributes (id) and schemas, even when excluded or not asked for; userName is `default`", () => {
    expect(project(user(), USER_RESOURCE, { attributes: ["displayName"] })).toEqual({
      schemas: [SCHEMA.user],
      id: "u-1",
      displayName: "Ada Lovelace",
    });
    const excluded = project(user(), USER_RESOURCE, { excludedAttributes: ["id", "userName", "schemas", "displayName"] });
    expect(excluded.id).toBe("u-1");
    expect(excluded).not.toHaveProperty("userName");
    expect(excluded.schemas).toEqual([SCHEMA.user, ENT]);
    expect(excluded).not.toHaveProperty("displayName");
    expect(project(user(), USER_RESOURCE, { attributes: ["userName"] })).toEqual({ schemas: [SCHEMA.user], id: "u-1", userName: "ada@example.com" });
  });

  it("returns `default` attributes unless excluded, or unless `attributes` omits them", () => {
    const excluded = project(user(), USER_RESOURCE, { excludedAttributes: ["title", "emails", "meta", "externalId"] });
    expect(Object.keys(excluded)).toEqual(["schemas", "id", "userName", "name", "displayName", "active", "phoneNumbers", "groups", ENT]);
    const picked = project(user(), USER_RESOURCE, { attributes: ["title", "externalId"] });
    expect(picked).toEqual({ schemas: [SCHEMA.user], id: "u-1", externalId: "00u1", title: "Countess" });
  });

  it("prefers `attributes` when both parameters are given", () => {
    const out = project(user(), USER_RESOURCE, { attributes: ["title"], excludedAttributes: ["title", "id"] });
    expect(out).toEqual({ schemas: [SCHEMA.user], id: "u-1", title: "Countess" });
  });
});

describe("project: sub-attributes", () => {
  it("selects a sub-attribute of a single-valued complex attribute", () => {
    expect(project(user(), USER_RESOURCE, { attributes: ["name.givenName"] }).name).toEqual({ givenName: "Ada" });
    expect(project(user(), USER_RESOURCE, { attributes: ["meta.lastModified"] })).toEqual({
      schemas: [SCHEMA.user],
      id: "u-1",
      meta: { lastModified: "2026-01-02T00:00:00Z" },
    });
  });

  it("selecting a sub-attribute the value lacks drops the attribute", () => {
    expect(project(user(), USER_RESOURCE, { attributes: ["name.middleName"] })).not.toHaveProperty("name");
  });

  it("selects a sub-attribute of a multi-valued attribute in each element, dropping elements left empty", () => {
    expect(project(user(), USER_RESOURCE, { attributes: ["emails.value"] }).emails).toEqual([{ value: "ada@example.com" }, { value: "ada@home.example" }]);
    expect(project(user(), USER_RESOURCE, { attributes: ["emails.value", "emails.primary"] }).emails).toEqual([
      { value: "ada@example.com", primary: true },
      { value: "ada@home.example" },
    ]);
  });

  it("a whole attribute and one of its sub-attributes together mean the whole attribute", () => {
    expect(project(user(), USER_RESOURCE, { attributes: ["emails.value", "emails"] }).emails).toEqual(user().emails);
  });

  it("excludes a sub-attribute from every element, keeping the rest", () => {
    const out = project(user(), USER_RESOURCE, { excludedAttributes: ["emails.type", "name.formatted", "meta.version"] });
    expect(out.emails).toEqual([{ value: "ada@example.com", primary: true }, { value: "ada@home.example" }]);
    expect(out.name).toEqual({ givenName: "Ada", familyName: "Lovelace" });
    expect(out.meta).not.toHaveProperty("version");
    expect(out.meta).toHaveProperty("lastModified");
  });

  it("keeps an attribute that was empty to begin with (groups: [])", () => {
    expect(project(user(), USER_RESOURCE, { attributes: ["groups"] }).groups).toEqual([]);
    expect(project(user(), USER_RESOURCE, { excludedAttributes: ["groups.display"] }).groups).toEqual([]);
  });
});

describe("project: names", () => {
  it("matches names case-insensitively and keeps the resource's spelling and order", () => {
    const out = project(user(), USER_RESOURCE, { attributes: ["DISPLAYNAME", "Name.GIVENNAME", "EMAILS.Value"] });
    expect(Object.keys(out)).toEqual(["schemas", "id", "name", "displayName", "emails"]);
    expect(out.name).toEqual({ givenName: "Ada" });
    expect(project(user(), USER_RESOURCE, { excludedAttributes: ["TITLE"] })).not.toHaveProperty("title");
  });

  it("accepts URN-qualified core and extension names, and sub-attributes of extension attributes", () => {
    expect(project(user(), USER_RESOURCE, { attributes: [`${SCHEMA.user}:displayName`] }).displayName).toBe("Ada Lovelace");
    const out = project(user(), USER_RESOURCE, { attributes: [`${ENT}:department`, `${ENT.toUpperCase()}:MANAGER.value`] });
    expect(out).toEqual({
      schemas: [SCHEMA.user, ENT],
      id: "u-1",
      [ENT]: { department: "Analytical Engines", manager: { value: "m-1" } },
    });
  });

  it("a bare extension URN means the whole extension object", () => {
    const picked = project(user(), USER_RESOURCE, { attributes: [ENT] });
    expect(picked[ENT]).toEqual(user()[ENT]);
    expect(picked.schemas).toEqual([SCHEMA.user, ENT]);
    expect(picked).not.toHaveProperty("displayName");
    const excluded = project(user(), USER_RESOURCE, { excludedAttributes: [ENT.toLowerCase()] });
    expect(excluded).not.toHaveProperty(ENT);
    expect(excluded.schemas).toEqual([SCHEMA.user]);
    expect(excluded.displayName).toBe("Ada Lovelace");
  });

  it("a bare core URN means every core attribute", () => {
    const out = project(user(), USER_RESOURCE, { attributes: [SCHEMA.user] });
    expect(out).not.toHaveProperty(ENT);
    expect(out.schemas).toEqual([SCHEMA.user]);
    expect(out.emails).toEqual(user().emails);
    expect(out.meta).toEqual(user().meta);
  });

  it("resolves Entra's bare names against the core schema first, then the extensions", () => {
    const manager = project(user(), USER_RESOURCE, { attributes: ["manager"] });
    expect(manager).toEqual({ schemas: [SCHEMA.user, ENT], id: "u-1", [ENT]: { manager: { value: "m-1" } } });
    const excluded = project(user(), USER_RESOURCE, { excludedAttributes: ["department", "employeeNumber"] });
    expect(excluded[ENT]).toEqual({ manager: { value: "m-1" } });
    // `displayName` is a core attribute, not the manager's displayName
    expect(project(user(), USER_RESOURCE, { attributes: ["displayName"] })).not.toHaveProperty(ENT);
  });

  it("drops the extension URN from schemas when the extension object does not survive", () => {
    const out = project(user(), USER_RESOURCE, { excludedAttributes: ["department", "employeeNumber", "manager"] });
    expect(out).not.toHaveProperty(ENT);
    expect(out.schemas).toEqual([SCHEMA.user]);
    expect(project(user(), USER_RESOURCE, { attributes: ["title"] }).schemas).toEqual([SCHEMA.user]);
  });

  it("ignores unknown names", () => {
    expect(project(user(), USER_RESOURCE, { excludedAttributes: ["nope", "name.nope", "urn:example:Nope:x", "a.b.c", ""] })).toEqual(user());
    expect(project(user(), USER_RESOURCE, { attributes: ["title", "nope", "emails.nope"] })).toEqual({
      schemas: [SCHEMA.user],
      id: "u-1",
      title: "Countess",
    });
    // Only unknown names: nothing is selected, so only what is always returned remains.
    expect(project(user(), USER_RESOURCE, { attributes: ["nope"] })).toEqual({ schemas: [SCHEMA.user], id: "u-1" });
  });
});

describe("project: Group", () => {
  it("excludedAttributes=members (Entra) drops the members and nothing else", () => {
    const out = project(group(), GROUP_RESOURCE, { excludedAttributes: ["members"] });
    expect(out).toEqual({ schemas: [SCHEMA.group], id: "g-1", displayName: "Engineers", meta: group().meta });
  });

  it("attributes=members.value keeps only the member ids; displayName is not always returned", () => {
    expect(project(group(), GROUP_RESOURCE, { attributes: ["members.value"] })).toEqual({
      schemas: [SCHEMA.group],
      id: "g-1",
      members: [{ value: "u-1" }, { value: "u-2" }],
    });
  });

  it("Group has no extension: an enterprise-extension name is unknown there", () => {
    expect(project(group(), GROUP_RESOURCE, { excludedAttributes: ["department", ENT] })).toEqual(group());
  });
});

// ---------------------------------------------------------------------------------------------
// Every attribute, as /Schemas advertises it: projection does what its `returned` says.
// ---------------------------------------------------------------------------------------------

/** RFC 7643 §3.1 and §8.7: the `returned` of every attribute this server serves; all others are "default". */
const RFC_RETURNED: Record<string, AttributeDef["returned"]> = { id: "always" };

/** A value for every attribute and sub-attribute, so projection has something to keep or drop. */
function sample(attribute: AttributeDef): unknown {
  const one = (): unknown => {
    switch (attribute.type) {
      case "complex":
        return Object.fromEntries((attribute.subAttributes ?? []).map((sub) => [sub.name, sample({ ...sub, multiValued: false })]));
      case "boolean":
        return true;
      case "integer":
      case "decimal":
        return 1;
      case "dateTime":
        return "2026-01-01T00:00:00Z";
      case "reference":
        return "https://example.com/r";
      default:
        return `${attribute.name}-value`;
    }
  };
  return attribute.multiValued ? [one()] : one();
}

interface Row {
  type: ResourceTypeDef;
  /** The attribute as a client names it (extension attributes URN-qualified). */
  path: string;
  attribute: AttributeDef;
  /** Where the value lives: the resource itself, or the extension object. */
  extension?: string;
}

function rows(): Row[] {
  const out: Row[] = [];
  for (const type of [USER_RESOURCE, GROUP_RESOURCE]) {
    // The attributes /Schemas advertises for the core schema, plus the common ones (RFC 7643 §3.1).
    for (const attribute of [...COMMON_ATTRIBUTES, ...schemaDocument(type.schema, "https://x").attributes.map((a) => findAttribute(type.schema.attributes, a.name)!)]) {
      out.push({ type, path: attribute.name, attribute });
    }
    for (const extension of type.extensions) {
      for (const advertised of schemaDocument(extension, "https://x").attributes) {
        out.push({ type, path: `${extension.id}:${advertised.name}`, attribute: findAttribute(extension.attributes, advertised.name)!, extension: extension.id });
      }
    }
  }
  return out;
}

/** A resource of `type` with a value for every attribute of every schema. */
function fullResource(type: ResourceTypeDef): Record<string, unknown> {
  const resource: Record<string, unknown> = { schemas: [type.schema.id, ...type.extensions.map((e) => e.id)] };
  for (const attribute of [...COMMON_ATTRIBUTES, ...type.schema.attributes]) resource[attribute.name] = sample(attribute);
  for (const extension of type.extensions) resource[extension.id] = Object.fromEntries(extension.attributes.map((a) => [a.name, sample(a)]));
  return resource;
}

const valueIn = (out: Record<string, unknown>, row: Row) =>
  row.extension ? (out[row.extension] as Record<string, unknown> | undefined)?.[row.attribute.name] : out[row.attribute.name];

describe("project: every attribute's `returned`, as /Schemas advertises it", () => {
  const table = rows();

  it("covers the attributes of User, EnterpriseUser and Group, with the RFC's `returned`", () => {
    expect(table.length).toBeGreaterThan(25);
    for (const row of table) {
      expect(row.attribute.returned, `${row.type.name} ${row.path}`).toBe(RFC_RETURNED[row.attribute.name] ?? "default");
    }
    expect(table.find((r) => r.type === USER_RESOURCE && r.path === "userName")!.attribute.returned).toBe("default");
  });

  it.each(table.map((row) => [`${row.type.name} ${row.path}`, row] as const))("%s", (_, row) => {
    const resource = fullResource(row.type);
    const full = valueIn(resource, row);
    const present = (params: { attributes?: string[]; excludedAttributes?: string[] }) => valueIn(project(resource, row.type, params), row) !== undefined;
    const { returned } = row.attribute;

    // No parameters: always and default attributes.
    expect(present({}), "no parameters").toBe(returned === "always" || returned === "default");
    // Named in `attributes`: everything but never.
    expect(present({ attributes: [row.path] }), "attributes names it").toBe(returned !== "never");
    if (returned !== "never") expect(valueIn(project(resource, row.type, { attributes: [row.path] }), row)).toEqual(full);
    // `attributes` names something else: only always.
    const other = row.path === "externalId" ? "id" : "externalId";
    expect(present({ attributes: [other] }), "attributes names another").toBe(returned === "always");
    // Excluded: only always survives.
    expect(present({ excludedAttributes: [row.path] }), "excluded").toBe(returned === "always");
    // Excluding something else leaves default attributes.
    expect(present({ excludedAttributes: [other] }), "another excluded").toBe(returned === "always" || returned === "default");
    // `schemas` is always there.
    expect(project(resource, row.type, { attributes: [other], excludedAttributes: [row.path] }).schemas).toBeDefined();

    // Each sub-attribute named alone: kept per its own `returned`, plus the parent's `always` sub-attributes.
    for (const sub of row.attribute.subAttributes ?? []) {
      const out = valueIn(project(resource, row.type, { attributes: [`${row.path}.${sub.name}`] }), row);
      const element = (row.attribute.multiValued ? (out as unknown[] | undefined)?.[0] : out) as Record<string, unknown> | undefined;
      expect(element?.[sub.name] !== undefined, `attributes=${row.path}.${sub.name}`).toBe(returned !== "never" && sub.returned !== "never");
    }
  });
});

// Attribute projection (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §7 `returned`).
import { describe, expect, it } from "vitest";
import { project } from "../../src/scim/projection";
import { GROUP_RESOURCE, SCHEMA, USER_RESOURCE, type AttributeDef, type ResourceTypeDef } from "../../src/scim/schema";

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

  it("always returns `always` attributes (id, userName) and schemas, even when excluded or not asked for", () => {
    expect(project(user(), USER_RESOURCE, { attributes: ["displayName"] })).toEqual({
      schemas: [SCHEMA.user],
      id: "u-1",
      userName: "ada@example.com",
      displayName: "Ada Lovelace",
    });
    const excluded = project(user(), USER_RESOURCE, { excludedAttributes: ["id", "userName", "schemas", "displayName"] });
    expect(excluded.id).toBe("u-1");
    expect(excluded.userName).toBe("ada@example.com");
    expect(excluded.schemas).toEqual([SCHEMA.user, ENT]);
    expect(excluded).not.toHaveProperty("displayName");
  });

  it("returns `default` attributes unless excluded, or unless `attributes` omits them", () => {
    const excluded = project(user(), USER_RESOURCE, { excludedAttributes: ["title", "emails", "meta", "externalId"] });
    expect(Object.keys(excluded)).toEqual(["schemas", "id", "userName", "name", "displayName", "active", "phoneNumbers", "groups", ENT]);
    const picked = project(user(), USER_RESOURCE, { attributes: ["title", "externalId"] });
    expect(picked).toEqual({ schemas: [SCHEMA.user], id: "u-1", externalId: "00u1", userName: "ada@example.com", title: "Countess" });
  });

  it("prefers `attributes` when both parameters are given", () => {
    const out = project(user(), USER_RESOURCE, { attributes: ["title"], excludedAttributes: ["title", "id"] });
    expect(out).toEqual({ schemas: [SCHEMA.user], id: "u-1", userName: "ada@example.com", title: "Countess" });
  });
});

describe("project: sub-attributes", () => {
  it("selects a sub-attribute of a single-valued complex attribute", () => {
    expect(project(user(), USER_RESOURCE, { attributes: ["name.givenName"] }).name).toEqual({ givenName: "Ada" });
    expect(project(user(), USER_RESOURCE, { attributes: ["meta.lastModified"] })).toEqual({
      schemas: [SCHEMA.user],
      id: "u-1",
      userName: "ada@example.com",
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
    expect(Object.keys(out)).toEqual(["schemas", "id", "userName", "name", "displayName", "emails"]);
    expect(out.name).toEqual({ givenName: "Ada" });
    expect(project(user(), USER_RESOURCE, { excludedAttributes: ["TITLE"] })).not.toHaveProperty("title");
  });

  it("accepts URN-qualified core and extension names, and sub-attributes of extension attributes", () => {
    expect(project(user(), USER_RESOURCE, { attributes: [`${SCHEMA.user}:displayName`] }).displayName).toBe("Ada Lovelace");
    const out = project(user(), USER_RESOURCE, { attributes: [`${ENT}:department`, `${ENT.toUpperCase()}:MANAGER.value`] });
    expect(out).toEqual({
      schemas: [SCHEMA.user, ENT],
      id: "u-1",
      userName: "ada@example.com",
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
    expect(manager).toEqual({ schemas: [SCHEMA.user, ENT], id: "u-1", userName: "ada@example.com", [ENT]: { manager: { value: "m-1" } } });
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
      userName: "ada@example.com",
      title: "Countess",
    });
    // Only unknown names: nothing is selected, so only what is always returned remains.
    expect(project(user(), USER_RESOURCE, { attributes: ["nope"] })).toEqual({ schemas: [SCHEMA.user], id: "u-1", userName: "ada@example.com" });
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

import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/scim/errors";
import { applyPatch, ignoredNote, parsePatchPath, PASSWORD_SYNC_REFUSED, patchResource, readOperations } from "../../src/scim/patch";
import { GROUP_RESOURCE, SCHEMA, USER_RESOURCE, type ResourceTypeDef } from "../../src/scim/schema";

const ENT = SCHEMA.enterpriseUser;
const CORE = SCHEMA.user;

type Json = Record<string, unknown>;

function user(): Json {
  return {
    schemas: [CORE, ENT],
    id: "u-1",
    externalId: "00u1",
    userName: "alice@example.com",
    name: { givenName: "Alice", familyName: "Smith" },
    displayName: "Alice Smith",
    active: true,
    emails: [{ value: "alice@example.com", type: "work", primary: true }],
    [ENT]: { employeeNumber: "42", department: "R&D", manager: { value: "m-1", displayName: "Boss" } },
    meta: { resourceType: "User", created: "2024-01-01T00:00:00Z", lastModified: "2024-01-01T00:00:00Z" },
  };
}

function group(): Json {
  return {
    schemas: [SCHEMA.group],
    id: "g-1",
    displayName: "Engineering",
    members: [
      { value: "u-1", display: "Alice", type: "User" },
      { value: "u-2", display: "Bob" },
    ],
    meta: { resourceType: "Group", created: "2024-01-01T00:00:00Z", lastModified: "2024-01-01T00:00:00Z" },
  };
}

const body = (...Operations: unknown[]) => ({ schemas: [SCHEMA.patchOp], Operations });

/** Applies and checks the input is untouched. */
function patch(resource: Json, operations: unknown[], type: ResourceTypeDef = USER_RESOURCE): Json {
  const before = structuredClone(resource);
  const out = applyPatch(resource, body(...operations), type);
  expect(resource).toEqual(before);
  expect(out).not.toBe(resource);
  return out;
}

interface Expected {
  scimType: string;
  detail: string | RegExp;
  status?: number;
}

/** Expects the PATCH to throw the given ApiError and leave the input unchanged. */
function expectFailure(resource: Json, patchBody: unknown, type: ResourceTypeDef, expected: Expected): ApiError {
  const before = structuredClone(resource);
  let caught: unknown;
  try {
    applyPatch(resource, patchBody, type);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ApiError);
  const error = caught as ApiError;
  expect(error.status).toBe(expected.status ?? 400);
  expect(error.scimType).toBe(expected.scimType);
  if (typeof expected.detail === "string") expect(error.detail).toBe(expected.detail);
  else expect(error.detail).toMatch(expected.detail);
  expect(resource).toEqual(before);
  return error;
}

describe("envelope", () => {
  it("rejects a body that is not an object", () => {
    for (const bad of [null, "x", 42, [], [{ op: "add" }]]) {
      expectFailure(user(), bad, USER_RESOURCE, { scimType: "invalidSyntax", detail: /must be a JSON object with an "Operations" array/ });
    }
  });

  it("rejects a body without an Operations array, saying what to send", () => {
    expectFailure(user(), { schemas: [SCHEMA.patchOp] }, USER_RESOURCE, { scimType: "invalidSyntax", detail: /no "Operations" array.*PatchOp/ });
    expectFailure(user(), { Operations: { op: "add" } }, USER_RESOURCE, { scimType: "invalidSyntax", detail: /"Operations" must be an array/ });
  });

  it("rejects an operation that is not an object or has no op", () => {
    expectFailure(user(), body("replace"), USER_RESOURCE, { scimType: "invalidSyntax", detail: /Operations\[0\] must be an object/ });
    expectFailure(user(), body({ path: "title", value: "x" }), USER_RESOURCE, { scimType: "invalidSyntax", detail: /Operations\[0\] has no "op"/ });
  });

  it("matches the Operations key case-insensitively and tolerates missing schemas", () => {
    const out = applyPatch(user(), { operations: [{ op: "replace", path: "title", value: "CTO" }] }, USER_RESOURCE);
    expect(out.title).toBe("CTO");
  });

  it("returns an unchanged copy for Operations: [] (Entra's validator)", () => {
    const input = user();
    const out = patch(input, []);
    expect(out).toEqual(user());
    expect(out).not.toBe(input);
    expect(out.name).not.toBe(input.name);
  });

  it("accepts op in any case", () => {
    const out = patch(user(), [
      { op: "Add", path: "title", value: "Boss" },
      { op: "REPLACE", path: "nickName", value: "Al" },
      { op: "Remove", path: "displayName" },
      { op: "replace", path: "locale", value: "en-GB" },
    ]);
    expect(out).toMatchObject({ title: "Boss", nickName: "Al", locale: "en-GB" });
    expect(out).not.toHaveProperty("displayName");
  });

  it("rejects an unknown op, naming it", () => {
    expectFailure(user(), body({ op: "move", path: "title", value: "x" }), USER_RESOURCE, {
      scimType: "invalidSyntax",
      detail: 'Operations[0] has unsupported op "move"; use "add", "replace" or "remove".',
    });
  });

  it("requires a value on add and replace", () => {
    expectFailure(user(), body({ op: "add", path: "title" }), USER_RESOURCE, { scimType: "invalidSyntax", detail: /"add" needs a "value" member/ });
  });

  it("readOperations normalises op names and member-name case", () => {
    expect(readOperations({ Operations: [{ OP: "Replace", Path: "title", Value: 1 }, { op: "remove", path: "" }] })).toEqual([
      { op: "replace", path: "title", value: 1 },
      { op: "remove" },
    ]);
  });
});

describe("parsePatchPath", () => {
  it("parses the path forms", () => {
    expect(parsePatchPath("userName")).toEqual({ attribute: "userName" });
    expect(parsePatchPath("name.givenName")).toEqual({ attribute: "name", subAttribute: "givenName" });
    expect(parsePatchPath(`${ENT}:manager.value`)).toEqual({ schema: ENT, attribute: "manager", subAttribute: "value" });
    expect(parsePatchPath(`${CORE}:name.givenName`)).toEqual({ schema: CORE, attribute: "name", subAttribute: "givenName" });
    const filtered = parsePatchPath('emails[type eq "work"].value');
    expect(filtered).toMatchObject({ attribute: "emails", subAttribute: "value" });
    expect(filtered.filter).toMatchObject({ kind: "compare", op: "eq", value: "work" });
    expect(parsePatchPath('members[value eq "a]b"]').filter).toMatchObject({ kind: "compare", value: "a]b" });
  });

  it("rejects malformed paths with invalidPath", () => {
    for (const bad of ["", "emails[type eq \"work\"", "name.givenName.x", "emails..value", "1abc", "emails]", 'emails[type eq "work"]value', 'emails.value[type eq "work"]', "emails[]"]) {
      expect(() => parsePatchPath(bad), bad).toThrowError(ApiError);
      try {
        parsePatchPath(bad);
      } catch (error) {
        expect((error as ApiError).scimType, bad).toBe("invalidPath");
      }
    }
  });
});

describe("paths", () => {
  it("sets attr, attr.sub and URN-qualified paths", () => {
    const out = patch(user(), [
      { op: "replace", path: "title", value: "CTO" },
      { op: "replace", path: "name.givenName", value: "Alicia" },
      { op: "replace", path: `${CORE}:name.familyName`, value: "Smythe" },
      { op: "replace", path: `${ENT}:employeeNumber`, value: "43" },
      { op: "replace", path: `${ENT}:manager.value`, value: "m-2" },
    ]);
    expect(out.title).toBe("CTO");
    expect(out.name).toEqual({ givenName: "Alicia", familyName: "Smythe" });
    expect(out[ENT]).toEqual({ employeeNumber: "43", department: "R&D", manager: { value: "m-2" } });
  });

  it("matches attribute names case-insensitively and writes the canonical name", () => {
    const out = patch(user(), [
      { op: "replace", path: "USERNAME", value: "alice2@example.com" },
      { op: "replace", path: "Name.GIVENNAME", value: "Al" },
      { op: "add", path: "NickName", value: "Ali" },
      { op: "replace", path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:Department", value: "Ops" },
    ]);
    expect(out.userName).toBe("alice2@example.com");
    expect(out).not.toHaveProperty("USERNAME");
    expect(out.name).toEqual({ givenName: "Al", familyName: "Smith" });
    expect(out.nickName).toBe("Ali");
    expect((out[ENT] as Json).department).toBe("Ops");
  });

  it("rejects a malformed path with invalidPath", () => {
    expectFailure(user(), body({ op: "replace", path: 'emails[type eq "work"', value: "x" }), USER_RESOURCE, {
      scimType: "invalidPath",
      detail: /unterminated "\[" filter/,
    });
    expectFailure(user(), body({ op: "replace", path: "name.givenName.first", value: "x" }), USER_RESOURCE, {
      scimType: "invalidPath",
      detail: /nested too deeply/,
    });
    expectFailure(user(), body({ op: "replace", path: 42, value: "x" }), USER_RESOURCE, { scimType: "invalidPath", detail: /path must be a string/ });
  });

  it("rejects an unknown core attribute, naming it", () => {
    expectFailure(user(), body({ op: "replace", path: "favouriteColour", value: "blue" }), USER_RESOURCE, {
      scimType: "invalidPath",
      detail: /Unknown attribute "favouriteColour"/,
    });
    expectFailure(user(), body({ op: "replace", path: "name.nickname", value: "x" }), USER_RESOURCE, {
      scimType: "invalidPath",
      detail: /Unknown sub-attribute "nickname" of "name"/,
    });
    expectFailure(group(), body({ op: "add", path: "owners", value: [{ value: "u-1" }] }), GROUP_RESOURCE, {
      scimType: "invalidPath",
      detail: /Unknown attribute "owners"/,
    });
  });

  it("ignores a path under an unknown schema URN", () => {
    const input = user();
    const out = patch(input, [
      { op: "replace", path: "urn:okta:custom:2.0:User:favouriteColour", value: "blue" },
      { op: "add", path: "urn:example:params:scim:schemas:extension:custom:2.0:User:badge.number", value: 7 },
      { op: "remove", path: "urn:example:custom:1.0" },
      { op: "replace", path: "title", value: "CTO" },
    ]);
    expect(out).toEqual({ ...input, title: "CTO" });
  });

  it("applies a URN-qualified path written with a dot before the attribute, as the colon form", () => {
    const out = patch(user(), [
      { op: "replace", path: `${ENT}.department`, value: "Sales" },
      { op: "replace", path: `${ENT.toUpperCase()}.manager.value`, value: "m-2" },
      { op: "replace", path: `${CORE}.name.givenName`, value: "Alicia" },
      { op: "add", path: `${CORE}.emails[type eq "home"].value`, value: "a@home.example" },
      { op: "replace", value: { [`${ENT}.employeeNumber`]: "43" } },
    ]);
    expect(out[ENT]).toEqual({ employeeNumber: "43", department: "Sales", manager: { value: "m-2" } });
    expect(out.name).toEqual({ givenName: "Alicia", familyName: "Smith" });
    expect(out.emails).toContainEqual({ type: "home", value: "a@home.example" });
    expect(parsePatchPath(`${SCHEMA.group}.members`, GROUP_RESOURCE)).toEqual({ schema: SCHEMA.group, attribute: "members" });
    // Still refused when what follows the dot is not an attribute of that schema.
    expectFailure(user(), body({ op: "replace", path: `${ENT}.costCentre`, value: "x" }), USER_RESOURCE, { scimType: "invalidPath", detail: /Unknown attribute "costCentre"/ });
  });

  it("refuses a known schema's URN followed by more than one name, instead of ignoring it", () => {
    expectFailure(user(), body({ op: "replace", path: `${ENT}:manager:value`, value: "m-2" }), USER_RESOURCE, { scimType: "invalidPath", detail: /is malformed/ });
  });

  it("reports what it ignored: unknown schemas, unknown keys and sub-attributes; not read-only keys", () => {
    const { resource, ignored } = patchResource(
      user(),
      body(
        { op: "replace", path: "urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User:costCenter", value: "C1" },
        { op: "replace", value: { id: "other", meta: {}, schemas: [], favouriteColour: "blue", title: "CTO", [ENT]: "not an object" } },
        { op: "replace", path: "name", value: { givenNam: "typo" } },
      ),
      USER_RESOURCE,
    );
    expect(resource.title).toBe("CTO");
    expect(ignored).toEqual([
      "urn:ietf:params:scim:schemas:extension:CustomExtension:2.0:User:costCenter (not a schema of User)",
      "favouriteColour (unknown attribute)",
      `${ENT} (a schema's value must be an object, not string "not an object")`,
      "name.givenNam (unknown sub-attribute)",
    ]);
    expect(patchResource(user(), body({ op: "replace", value: { id: "x", title: "CTO" } }), USER_RESOURCE).ignored).toEqual([]);
    expect(ignoredNote([])).toBe("");
    expect(ignoredNote(["a (x)", "b (y)"])).toBe("ignored: a (x), b (y)");
    expect(ignoredNote(["1", "2", "3", "4", "5", "6", "7"])).toBe("ignored: 1, 2, 3, 4, 5 and 2 more");
  });

  it("refuses read-only attributes with mutability", () => {
    for (const path of ["id", "meta", "meta.lastModified", "groups", 'groups[value eq "g-1"]']) {
      expectFailure(user(), body({ op: "replace", path, value: "x" }), USER_RESOURCE, { scimType: "mutability", detail: /is read-only/ });
    }
    expectFailure(group(), body({ op: "remove", path: "id" }), GROUP_RESOURCE, { scimType: "mutability", detail: /"id" is read-only/ });
  });

  it("refuses password with the Okta instructions", () => {
    const error = expectFailure(user(), body({ op: "replace", path: "password", value: "hunter2" }), USER_RESOURCE, {
      scimType: "mutability",
      detail: PASSWORD_SYNC_REFUSED,
    });
    expect(error.detail).toMatch(/untick Sync Password/);
    expectFailure(user(), body({ op: "replace", value: { active: true, password: "hunter2" } }), USER_RESOURCE, {
      scimType: "mutability",
      detail: PASSWORD_SYNC_REFUSED,
    });
    expectFailure(user(), body({ op: "add", path: `${CORE}:password`, value: "x" }), USER_RESOURCE, { scimType: "mutability", detail: PASSWORD_SYNC_REFUSED });
  });

  it("reports a malformed filter inside a path as invalidFilter", () => {
    expectFailure(user(), body({ op: "remove", path: "emails[type eq]" }), USER_RESOURCE, {
      scimType: "invalidFilter",
      detail: /^Operations\[0\] \(remove "emails\[type eq\]"\): /,
    });
  });

  it("refuses to patch schemas", () => {
    expectFailure(user(), body({ op: "replace", path: "schemas", value: [CORE] }), USER_RESOURCE, { scimType: "mutability", detail: /"schemas" cannot be patched/ });
  });

  it("adds an operation index and path to other errors", () => {
    expectFailure(user(), body({ op: "replace", path: "title", value: "x" }, { op: "replace", path: "nope", value: 1 }), USER_RESOURCE, {
      scimType: "invalidPath",
      detail: /^Operations\[1\] \(replace "nope"\): Unknown attribute "nope"/,
    });
  });
});

describe("path-less add and replace", () => {
  it("handles Okta deactivate and reactivate", () => {
    const off = patch(user(), [{ op: "replace", value: { active: false } }]);
    expect(off.active).toBe(false);
    const on = patch(off, [{ op: "replace", value: { active: true } }]);
    expect(on.active).toBe(true);
    expect(on).toEqual(user());
  });

  it("handles Okta's group rename, ignoring the id in the value", () => {
    const out = patch(group(), [{ op: "replace", value: { id: "g-1-okta", displayName: "Platform" } }], GROUP_RESOURCE);
    expect(out).toEqual({ ...group(), displayName: "Platform" });
  });

  it("ignores unknown and read-only keys", () => {
    const out = patch(user(), [
      {
        op: "replace",
        value: {
          id: "other",
          meta: { created: "1999-01-01" },
          schemas: ["x"],
          groups: [{ value: "g" }],
          favouriteColour: "blue",
          "urn:okta:custom:2.0:User": { badge: 1 },
          "urn:okta:custom:2.0:User:badge": 1,
          'emails[type eq "work"': "broken",
          title: "CTO",
        },
      },
    ]);
    expect(out).toEqual({ ...user(), title: "CTO" });
  });

  it("supports Entra's dotted and URN-qualified keys", () => {
    const out = patch(user(), [
      {
        op: "Replace",
        value: {
          "name.givenName": "Alicia",
          "name.familyName": "Smythe",
          [`${ENT}:employeeNumber`]: 1234,
          [`${ENT}:manager.value`]: "m-9",
          'emails[type eq "work"].value': "alicia@example.com",
          active: "False",
        },
      },
    ]);
    expect(out.name).toEqual({ givenName: "Alicia", familyName: "Smythe" });
    expect(out[ENT]).toEqual({ employeeNumber: "1234", department: "R&D", manager: { value: "m-9" } });
    expect(out.emails).toEqual([{ value: "alicia@example.com", type: "work", primary: true }]);
    expect(out.active).toBe(false);
  });

  it("merges an extension object given under its URN", () => {
    const out = patch(user(), [{ op: "add", value: { [ENT]: { costCenter: "CC1", department: "Ops", bogus: 1 }, title: "Dr" } }]);
    expect(out[ENT]).toEqual({ employeeNumber: "42", department: "Ops", costCenter: "CC1", manager: { value: "m-1", displayName: "Boss" } });
    expect(out.title).toBe("Dr");
  });

  it("adds the extension URN to schemas when the extension appears, and drops it when it empties", () => {
    const bare: Json = { schemas: [CORE], id: "u-2", userName: "bob" };
    const withExt = patch(bare, [{ op: "add", path: `${ENT}:employeeNumber`, value: "7" }]);
    expect(withExt.schemas).toEqual([CORE, ENT]);
    expect(withExt[ENT]).toEqual({ employeeNumber: "7" });
    const without = patch(withExt, [{ op: "remove", path: `${ENT}:employeeNumber` }]);
    expect(without).toEqual(bare);
  });

  it("leaves no empty extension object behind, with or without schemas", () => {
    const bare: Json = { id: "u-2", userName: "bob" };
    expect(patch(bare, [{ op: "replace", path: `${ENT}:department`, value: "" }])).toEqual(bare);
    expect(patch(bare, [{ op: "add", value: { [ENT]: { bogus: 1 } } }])).toEqual(bare);
    expect(patch(bare, [{ op: "add", path: `${ENT}:department`, value: "Ops" }])).toEqual({ ...bare, [ENT]: { department: "Ops" } });
  });

  it("rejects remove without a path (noTarget)", () => {
    expectFailure(user(), body({ op: "remove" }), USER_RESOURCE, { scimType: "noTarget", detail: /"remove" needs a "path"/ });
  });

  it("rejects a path-less value that is not an object", () => {
    expectFailure(user(), body({ op: "replace", value: "x" }), USER_RESOURCE, { scimType: "invalidValue", detail: /needs a "value" that is an object/ });
    expectFailure(user(), body({ op: "add", value: [{ title: "x" }] }), USER_RESOURCE, { scimType: "invalidValue", detail: /not an array/ });
  });
});

describe("add", () => {
  it("sets a single-valued attribute and merges a complex one", () => {
    const out = patch(user(), [
      { op: "add", path: "title", value: "Boss" },
      { op: "add", path: "name", value: { middleName: "B" } },
    ]);
    expect(out.title).toBe("Boss");
    expect(out.name).toEqual({ givenName: "Alice", familyName: "Smith", middleName: "B" });
  });

  it("appends to a multi-valued attribute, wrapping a single object", () => {
    const out = patch(user(), [
      { op: "add", path: "emails", value: { value: "alice@home.example", type: "home" } },
      { op: "add", path: "phoneNumbers", value: [{ value: "+1 555", type: "mobile" }, { value: "+1 556", type: "work" }] },
    ]);
    expect(out.emails).toEqual([
      { value: "alice@example.com", type: "work", primary: true },
      { value: "alice@home.example", type: "home" },
    ]);
    expect(out.phoneNumbers).toEqual([
      { value: "+1 555", type: "mobile" },
      { value: "+1 556", type: "work" },
    ]);
  });

  it("skips elements equal to an existing one", () => {
    const out = patch(user(), [{ op: "add", path: "emails", value: [{ value: "ALICE@example.com", type: "work" }, { value: "alice@example.com", type: "other" }] }]);
    expect(out.emails).toEqual([
      { value: "alice@example.com", type: "work", primary: true },
      { value: "alice@example.com", type: "other" },
    ]);
  });

  it("adding an existing member is a no-op; members compare case-exactly", () => {
    const same = patch(group(), [{ op: "add", path: "members", value: [{ value: "u-1" }] }], GROUP_RESOURCE);
    expect(same).toEqual(group());
    const other = patch(group(), [{ op: "add", path: "members", value: [{ value: "U-1" }] }], GROUP_RESOURCE);
    expect((other.members as Json[]).map((m) => m.value)).toEqual(["u-1", "u-2", "U-1"]);
  });

  it("keeps the display, type and $ref the client sent for members", () => {
    const out = patch(
      group(),
      [{ op: "add", path: "members", value: [{ value: "u-3", display: "Carol", type: "User", $ref: "https://x/Users/u-3", junk: 1 }] }],
      GROUP_RESOURCE,
    );
    expect((out.members as Json[])[2]).toEqual({ value: "u-3", display: "Carol", type: "User", $ref: "https://x/Users/u-3" });
  });

  it("creates the attribute when absent", () => {
    const out = patch(group(), [{ op: "add", path: "members", value: [{ value: "u-1" }] }], GROUP_RESOURCE);
    expect(out.members).toHaveLength(2);
    const empty: Json = { schemas: [SCHEMA.group], id: "g-2", displayName: "Empty" };
    const filled = patch(empty, [{ op: "add", path: "members", value: [{ value: "u-1" }, { value: "u-2" }] }], GROUP_RESOURCE);
    expect(filled.members).toEqual([{ value: "u-1" }, { value: "u-2" }]);
  });
});

describe("replace", () => {
  it("merges a partial name (Okta/Entra)", () => {
    const out = patch(user(), [{ op: "replace", path: "name", value: { givenName: "Alicia", formatted: "Alicia Smith" } }]);
    expect(out.name).toEqual({ givenName: "Alicia", familyName: "Smith", formatted: "Alicia Smith" });
  });

  it("replaces a whole multi-valued list without a filter (Okta Push Now)", () => {
    const out = patch(
      group(),
      [{ op: "replace", path: "members", value: [{ value: "u-2", display: "Bob" }, { value: "u-9", display: "Zed" }] }],
      GROUP_RESOURCE,
    );
    expect(out.members).toEqual([
      { value: "u-2", display: "Bob" },
      { value: "u-9", display: "Zed" },
    ]);
  });

  it("clears a multi-valued list with an empty array", () => {
    const out = patch(group(), [{ op: "replace", path: "members", value: [] }], GROUP_RESOURCE);
    expect(out).not.toHaveProperty("members");
    expect(out.displayName).toBe("Engineering");
  });

  it("replaces filtered elements, merging an object or setting a sub-attribute", () => {
    const input = { ...user(), emails: [{ value: "a@work", type: "work", primary: true }, { value: "a@home", type: "home" }] };
    const out = patch(input, [
      { op: "replace", path: 'emails[type eq "work"]', value: { value: "new@work", display: "Work" } },
      { op: "replace", path: 'emails[type eq "HOME"].value', value: "new@home" },
    ]);
    expect(out.emails).toEqual([
      { value: "new@work", type: "work", primary: true, display: "Work" },
      { value: "new@home", type: "home" },
    ]);
  });

  it("filters with and/or/not/pr and boolean strings", () => {
    const input = {
      ...user(),
      emails: [
        { value: "a@work", type: "work", primary: true },
        { value: "b@home", type: "home" },
        { value: "c@other", type: "other" },
      ],
    };
    const out = patch(input, [
      { op: "replace", path: 'emails[primary eq "true"].display', value: "P" },
      { op: "replace", path: 'emails[type eq "home" or value ew "@other"].display', value: "HO" },
      { op: "remove", path: 'emails[not (type eq "work") and value sw "c"]' },
      { op: "replace", path: "emails[display pr and primary eq true].display", value: "P2" },
      { op: "replace", path: 'emails[type ne "work"].type', value: "other" },
    ]);
    expect(out.emails).toEqual([
      { value: "a@work", type: "work", primary: true, display: "P2" },
      { value: "b@home", type: "other", display: "HO" },
    ]);
  });

  it("creates the element a filtered replace targets when none matches, stamping the filter", () => {
    const input = user();
    delete input.emails;
    const out = patch(input, [
      { op: "Replace", path: 'addresses[type eq "work"].streetAddress', value: "1 Main St" },
      { op: "Replace", path: 'addresses[type eq "work"].locality', value: "Springfield" },
      { op: "Replace", path: 'addresses[type eq "work"].postalCode', value: 12345 },
      { op: "Add", path: 'emails[type eq "work"].value', value: "alice@example.com" },
      { op: "replace", path: 'phoneNumbers[type eq "mobile" and primary eq true]', value: { value: "+1 555" } },
    ]);
    expect(out.addresses).toEqual([{ type: "work", streetAddress: "1 Main St", locality: "Springfield", postalCode: "12345" }]);
    expect(out.emails).toEqual([{ type: "work", value: "alice@example.com" }]);
    expect(out.phoneNumbers).toEqual([{ type: "mobile", primary: true, value: "+1 555" }]);
  });

  it("does not create an element from a null value", () => {
    const out = patch(user(), [{ op: "replace", path: 'phoneNumbers[type eq "fax"].value', value: "" }]);
    expect(out).not.toHaveProperty("phoneNumbers");
  });

  it("rejects a filtered replace that matches nothing and cannot be stamped (noTarget)", () => {
    expectFailure(user(), body({ op: "replace", path: 'emails[type ne "work"].value', value: "x@y" }), USER_RESOURCE, {
      scimType: "noTarget",
      detail: /No element of "emails" matches the filter/,
    });
    expectFailure(user(), body({ op: "replace", path: 'emails[type eq "home" or type eq "other"].value', value: "x@y" }), USER_RESOURCE, {
      scimType: "noTarget",
      detail: /not made of "eq" conditions/,
    });
  });

  it("rejects a filter on a single-valued attribute or on an unknown sub-attribute", () => {
    expectFailure(user(), body({ op: "replace", path: 'name[givenName eq "A"]', value: {} }), USER_RESOURCE, {
      scimType: "invalidPath",
      detail: /not multi-valued/,
    });
    expectFailure(user(), body({ op: "replace", path: 'emails[kind eq "work"].value', value: "x" }), USER_RESOURCE, {
      scimType: "invalidPath",
      detail: /no sub-attribute "kind"/,
    });
  });

  it("sets a sub-attribute on every element with attr.sub and no filter", () => {
    const input = { ...user(), emails: [{ value: "a@x", type: "work" }, { value: "b@x", type: "home" }] };
    const out = patch(input, [{ op: "replace", path: "emails.display", value: "E" }]);
    expect(out.emails).toEqual([
      { value: "a@x", type: "work", display: "E" },
      { value: "b@x", type: "home", display: "E" },
    ]);
  });
});

describe("remove", () => {
  it("removes an attribute and a sub-attribute", () => {
    const out = patch(user(), [
      { op: "remove", path: "displayName" },
      { op: "remove", path: "name.familyName" },
      { op: "remove", path: `${ENT}:manager` },
      { op: "remove", path: "nickName" },
    ]);
    expect(out).not.toHaveProperty("displayName");
    expect(out.name).toEqual({ givenName: "Alice" });
    expect(out[ENT]).toEqual({ employeeNumber: "42", department: "R&D" });
  });

  it("removes the whole complex attribute when its last sub-attribute goes", () => {
    const out = patch(user(), [
      { op: "remove", path: "name.familyName" },
      { op: "remove", path: "name.givenName" },
    ]);
    expect(out).not.toHaveProperty("name");
  });

  it("applies several removes and an add in one request, in order", () => {
    const out = patch(
      group(),
      [
        { op: "remove", path: 'members[value eq "u-1"]' },
        { op: "remove", path: 'members[value eq "u-2"]' },
        { op: "add", path: "members", value: [{ value: "u-1", display: "Alice again" }] },
        { op: "remove", path: 'members[value eq "absent"]' },
      ],
      GROUP_RESOURCE,
    );
    expect(out.members).toEqual([{ value: "u-1", display: "Alice again" }]);
  });

  it("removing an absent member is a no-op", () => {
    const out = patch(group(), [{ op: "remove", path: 'members[value eq "nobody"]' }], GROUP_RESOURCE);
    expect(out).toEqual(group());
  });

  it("removes only the members listed in Entra's remove-with-value", () => {
    const input = { ...group(), members: [{ value: "u1" }, { value: "u2" }, { value: "u3" }] };
    const out = patch(input, [{ op: "Remove", path: "members", value: [{ value: "u1" }, { value: "u2" }, { value: "u404" }] }], GROUP_RESOURCE);
    expect(out.members).toEqual([{ value: "u3" }]);
    const single = patch(input, [{ op: "Remove", path: "members", value: { value: "u3" } }], GROUP_RESOURCE);
    expect(single.members).toEqual([{ value: "u1" }, { value: "u2" }]);
  });

  it("removes a sub-attribute from filtered elements, dropping elements left without a value", () => {
    const input = { ...user(), emails: [{ value: "a@work", type: "work", display: "A" }, { value: "a@home", type: "home" }] };
    const out = patch(input, [
      { op: "remove", path: 'emails[type eq "work"].display' },
      { op: "remove", path: 'emails[type eq "home"].value' },
    ]);
    expect(out.emails).toEqual([{ value: "a@work", type: "work" }]);
  });

  it("removes a whole multi-valued attribute", () => {
    const out = patch(group(), [{ op: "remove", path: "members" }], GROUP_RESOURCE);
    expect(out).not.toHaveProperty("members");
  });

  it("refuses to remove a required attribute (mutability)", () => {
    expectFailure(user(), body({ op: "remove", path: "userName" }), USER_RESOURCE, {
      scimType: "mutability",
      detail: /"userName" is required on a User and cannot be removed/,
    });
    expectFailure(group(), body({ op: "remove", path: "displayName" }), GROUP_RESOURCE, {
      scimType: "mutability",
      detail: /"displayName" is required on a Group/,
    });
    expectFailure(user(), body({ op: "replace", path: "userName", value: "" }), USER_RESOURCE, { scimType: "mutability", detail: /required/ });
  });

  it("removing an extension URN drops the extension object", () => {
    const out = patch(user(), [{ op: "remove", path: ENT }]);
    expect(out).not.toHaveProperty(ENT);
    expect(out.schemas).toEqual([CORE]);
  });
});

describe("values", () => {
  it("clears an attribute with null or an empty string (Okta push empty values)", () => {
    const out = patch(user(), [
      { op: "replace", path: "displayName", value: null },
      { op: "replace", value: { title: "", nickName: null, "name.familyName": "" } },
      { op: "replace", path: `${ENT}:department`, value: "" },
      { op: "add", path: "emails", value: null },
    ]);
    expect(out).not.toHaveProperty("displayName");
    expect(out).not.toHaveProperty("emails");
    expect(out.name).toEqual({ givenName: "Alice" });
    expect(out[ENT]).toEqual({ employeeNumber: "42", manager: { value: "m-1", displayName: "Boss" } });
  });

  it("clears sub-attributes sent as null or empty inside an object", () => {
    const out = patch(user(), [{ op: "replace", path: "name", value: { givenName: "Al", familyName: "" } }]);
    expect(out.name).toEqual({ givenName: "Al" });
  });

  it("accepts boolean strings and stores booleans", () => {
    for (const [sent, stored] of [["False", false], ["true", true], ["TRUE", true], ["false", false], [false, false]] as const) {
      expect(patch(user(), [{ op: "replace", path: "active", value: sent }]).active).toBe(stored);
    }
    const out = patch(user(), [{ op: "replace", path: 'emails[type eq "work"].primary', value: "False" }]);
    expect(out.emails).toEqual([{ value: "alice@example.com", type: "work", primary: false }]);
  });

  it("rejects a non-boolean for a boolean attribute (invalidValue)", () => {
    for (const bad of ["yes", 1, { x: 1 }]) {
      expectFailure(user(), body({ op: "replace", path: "active", value: bad }), USER_RESOURCE, {
        scimType: "invalidValue",
        detail: /"active" must be a boolean/,
      });
    }
    expectFailure(user(), body({ op: "replace", value: { active: "nope" } }), USER_RESOURCE, { scimType: "invalidValue", detail: /"active" must be a boolean/ });
  });

  it("unwraps a single-element array for a single-valued attribute", () => {
    const out = patch(user(), [
      { op: "replace", value: { title: ["Boss"] } },
      { op: "add", path: "active", value: [false] },
    ]);
    expect(out.title).toBe("Boss");
    expect(out.active).toBe(false);
  });

  it("rejects several values for a single-valued attribute", () => {
    expectFailure(user(), body({ op: "replace", path: "title", value: ["a", "b"] }), USER_RESOURCE, {
      scimType: "invalidValue",
      detail: /"title" is single-valued/,
    });
  });

  it("converts numbers to strings for string attributes (Entra employeeNumber)", () => {
    const out = patch(user(), [{ op: "replace", path: `${ENT}:employeeNumber`, value: 1001 }]);
    expect((out[ENT] as Json).employeeNumber).toBe("1001");
  });

  it("rejects an object where a string is expected (invalidValue)", () => {
    expectFailure(user(), body({ op: "replace", path: "title", value: { text: "Boss" } }), USER_RESOURCE, {
      scimType: "invalidValue",
      detail: /"title" must be a string, not an object/,
    });
    expectFailure(user(), body({ op: "replace", path: "name", value: "Alice Smith" }), USER_RESOURCE, {
      scimType: "invalidValue",
      detail: /"name" must be an object/,
    });
  });

  it("accepts the manager as a bare id, {value} or a singleton array and stores {value}", () => {
    const bare: Json = { schemas: [CORE], id: "u-2", userName: "bob" };
    const path = `${ENT}:manager`;
    expect(patch(bare, [{ op: "replace", path, value: "m-7" }])[ENT]).toEqual({ manager: { value: "m-7" } });
    expect(patch(bare, [{ op: "add", path, value: { value: "m-7" } }])[ENT]).toEqual({ manager: { value: "m-7" } });
    expect(patch(bare, [{ op: "Add", path, value: [{ value: "m-7" }] }])[ENT]).toEqual({ manager: { value: "m-7" } });
    // A different manager replaces the old one's displayName.
    expect(patch(user(), [{ op: "replace", path, value: "m-8" }])[ENT]).toEqual({ employeeNumber: "42", department: "R&D", manager: { value: "m-8" } });
  });

  it('clears the manager with replace ""', () => {
    const out = patch(user(), [{ op: "replace", path: `${ENT}:manager`, value: "" }]);
    expect(out[ENT]).toEqual({ employeeNumber: "42", department: "R&D" });
  });
});

describe("primary", () => {
  it("keeps only the newest primary after an add", () => {
    const out = patch(user(), [{ op: "add", path: "emails", value: { value: "alice@home.example", type: "home", primary: true } }]);
    expect(out.emails).toEqual([
      { value: "alice@example.com", type: "work", primary: false },
      { value: "alice@home.example", type: "home", primary: true },
    ]);
  });

  it("keeps the element a filtered replace just made primary, wherever it is", () => {
    const input = { ...user(), emails: [{ value: "a@home", type: "home" }, { value: "a@work", type: "work", primary: true }] };
    const out = patch(input, [{ op: "replace", path: 'emails[type eq "home"].primary', value: true }]);
    expect(out.emails).toEqual([
      { value: "a@home", type: "home", primary: true },
      { value: "a@work", type: "work", primary: false },
    ]);
  });

  it("keeps the last of several primaries in a replaced list", () => {
    const out = patch(user(), [
      {
        op: "replace",
        path: "emails",
        value: [
          { value: "a@x", primary: true },
          { value: "b@x", primary: "True" },
        ],
      },
    ]);
    expect(out.emails).toEqual([
      { value: "a@x", primary: false },
      { value: "b@x", primary: true },
    ]);
  });
});

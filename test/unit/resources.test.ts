// The resource layer of the pure core: the input sanitiser, the User and Group mappings, and the
// group PATCH fast path.
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/scim/errors";
import { groupDocument, namedMemberIds } from "../../src/scim/groups";
import { sanitizeResource } from "../../src/scim/sanitize";
import { USER_RESOURCE } from "../../src/scim/schema";
import { toScimUser, userColumns, userDocument } from "../../src/scim/users";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected an ApiError");
}

describe("sanitizeResource (User)", () => {
  it("matches attribute names case-insensitively and stores them canonically", () => {
    expect(sanitizeResource({ USERNAME: "a", Name: { GIVENNAME: "A" }, EMAILS: [{ Value: "a@x", TYPE: "work" }] }, USER_RESOURCE)).toEqual({
      userName: "a",
      name: { givenName: "A" },
      emails: [{ value: "a@x", type: "work" }],
    });
  });

  it("ignores read-only, unknown and password attributes", () => {
    const doc = sanitizeResource({ userName: "a", id: "x", meta: {}, groups: [{ value: "g" }], password: "p", schemas: [], shoeSize: 9 }, USER_RESOURCE);
    expect(doc).toEqual({ userName: "a" });
  });

  it("clears null and empty values, and drops empty elements and objects", () => {
    expect(sanitizeResource({ userName: "a", title: "", nickName: null, name: { givenName: "" }, emails: [{ value: "" }, null, {}] }, USER_RESOURCE)).toEqual({ userName: "a" });
  });

  it("coerces Entra's string booleans and wraps or unwraps singletons", () => {
    expect(sanitizeResource({ userName: "a", active: "False", title: ["Boss"], emails: { value: "a@x", primary: "true" } }, USER_RESOURCE)).toEqual({
      userName: "a",
      active: false,
      title: "Boss",
      emails: [{ value: "a@x", primary: true }],
    });
  });

  it("keeps one primary per multi-valued attribute and drops exact duplicates", () => {
    const doc = sanitizeResource({ userName: "a", emails: [{ value: "a@x", primary: true }, { value: "b@x", primary: true }, { value: "a@x", primary: true }] }, USER_RESOURCE);
    expect(doc.emails).toEqual([{ value: "a@x", primary: true }, { value: "b@x" }]);
  });

  it("accepts the enterprise extension with or without its URN in schemas, and URN-qualified keys", () => {
    expect(sanitizeResource({ userName: "a", [ENTERPRISE]: { Department: "R&D", manager: "m1" } }, USER_RESOURCE)).toEqual({
      userName: "a",
      [ENTERPRISE]: { department: "R&D", manager: { value: "m1" } },
    });
    expect(sanitizeResource({ userName: "a", [`${ENTERPRISE}:costCenter`]: 42 }, USER_RESOURCE)).toEqual({ userName: "a", [ENTERPRISE]: { costCenter: "42" } });
  });

  it("refuses values of the wrong shape with 400 invalidValue naming the attribute", () => {
    expect(refusal(() => sanitizeResource({ userName: "a", active: "maybe" }, USER_RESOURCE))).toMatchObject({ status: 400, scimType: "invalidValue" });
    expect(refusal(() => sanitizeResource({ userName: "a", title: ["a", "b"] }, USER_RESOURCE)).detail).toContain("title");
    expect(refusal(() => sanitizeResource({ userName: { first: "x" } }, USER_RESOURCE)).detail).toContain("userName");
    expect(refusal(() => sanitizeResource({ title: "no userName" }, USER_RESOURCE)).detail).toBe("Attribute 'userName' is required.");
  });
});

describe("the User mapping", () => {
  it("keeps the IdP's photo of TheStorage's own type apart; the avatar wins while it is set", () => {
    const doc = userDocument({ userName: "a", photos: [{ value: "https://x/p.png", type: "PHOTO" }, { value: "https://x/t.png", type: "thumbnail" }] });
    expect(doc.photos).toEqual([{ value: "https://x/p.png", type: "PHOTO" }, { value: "https://x/t.png", type: "thumbnail" }]);
    const stored = { id: "u1", data: doc, avatarUrl: "https://cdn/a.png", version: 3, createdAt: "c", updatedAt: "u" };
    const resource = toScimUser(stored, "https://h/api/t/scim/v2");
    expect(resource.photos).toEqual([{ value: "https://x/t.png", type: "thumbnail" }, { value: "https://cdn/a.png", type: "photo" }]);
    expect(toScimUser({ ...stored, avatarUrl: null }, "https://h/api/t/scim/v2").photos).toEqual(doc.photos);
    // A PUT sending back the avatar it read keeps the IdP's hidden photo; a new photo of the IdP's replaces it.
    const echo = { userName: "a", photos: [{ value: "https://x/t.png", type: "thumbnail" }, { value: "https://cdn/a.png", type: "photo" }] };
    expect(userDocument(echo, stored).photos).toEqual([{ value: "https://x/t.png", type: "thumbnail" }, { value: "https://x/p.png", type: "PHOTO" }]);
    expect(userDocument({ userName: "a", photos: [{ value: "https://cdn/a.png", type: "photo" }, { value: "https://x/new.png", type: "photo" }] }, stored).photos).toEqual([{ value: "https://x/new.png", type: "photo" }]);
    expect(userDocument({ userName: "a" }, stored).photos).toBeUndefined();
    expect(resource.meta).toEqual({ resourceType: "User", created: "c", lastModified: "u", location: "https://h/api/t/scim/v2/Users/u1", version: 'W/"3"' });
  });

  it("derives the indexed columns from the document", () => {
    expect(userColumns({ userName: "Ann@X.com", emails: [{ value: "B@x.com" }, { value: "A@X.com", primary: true }], active: false, externalId: "e" })).toEqual({
      userName: "Ann@X.com",
      userNameNorm: "ann@x.com",
      externalId: "e",
      displayName: null,
      email: "a@x.com",
      active: false,
    });
  });
});

describe("groupDocument", () => {
  it("separates member ids from the document, de-duplicated, and tells 'no members key' from 'empty'", () => {
    expect(groupDocument({ displayName: "G", members: [{ value: "u1", display: "x" }, { value: "u2" }, { value: "u1" }, { display: "no value" }] })).toEqual({
      doc: { displayName: "G" },
      memberIds: ["u1", "u2"],
    });
    expect(groupDocument({ displayName: "G", members: [] })).toEqual({ doc: { displayName: "G" }, memberIds: [] });
    expect(groupDocument({ displayName: "G" })).toEqual({ doc: { displayName: "G" } });
  });
});

describe("namedMemberIds (group PATCH fast path)", () => {
  const ops = (...Operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });

  it("names the members of Okta's and Entra's incremental membership PATCHes", () => {
    expect(
      namedMemberIds(
        ops(
          { op: "replace", value: { id: "g", displayName: "G" } },
          { op: "remove", path: 'members[value eq "a"]' },
          { op: "Add", path: "members", value: [{ value: "b", display: "B" }] },
          { op: "Remove", path: "members", value: [{ value: "c" }] },
        ),
      ),
    ).toEqual(["a", "b", "c"]);
    expect(namedMemberIds(ops({ op: "replace", path: "displayName", value: "x" }))).toEqual([]);
  });

  it("reads a URN-qualified members path written with a dot as the PATCH engine does", () => {
    expect(namedMemberIds(ops({ op: "add", path: "urn:ietf:params:scim:schemas:core:2.0:Group.members", value: [{ value: "a" }] }))).toEqual(["a"]);
    expect(namedMemberIds(ops({ op: "replace", path: "urn:ietf:params:scim:schemas:core:2.0:Group.members", value: [{ value: "a" }] }))).toBeNull();
  });

  it("asks for the whole list when an operation could touch any member", () => {
    for (const op of [
      { op: "replace", path: "members", value: [{ value: "a" }] },
      { op: "remove", path: "members" },
      { op: "remove", path: 'members[display eq "A"]' },
      { op: "remove", path: 'members[value eq "a" or value eq "b"]' },
      { op: "add", path: "members", value: [{ display: "no value" }] },
      { op: "replace", value: { members: [] } },
      { op: "remove", path: 'members[value eq "a"].display' },
    ]) {
      expect(namedMemberIds(ops(op)), JSON.stringify(op)).toBeNull();
    }
    expect(namedMemberIds({ Operations: "nope" })).toBeNull();
  });
});

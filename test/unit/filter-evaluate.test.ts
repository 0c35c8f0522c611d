import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/scim/errors";
import { isPresent, matchesFilter, parseDateTimeLiteral } from "../../src/scim/filter/evaluate";
import { parseFilter } from "../../src/scim/filter/parse";
import { GROUP_RESOURCE, USER_RESOURCE } from "../../src/scim/schema";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const alice = {
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
  id: "2819c223-7f76-453a-919d-413861904646",
  externalId: "Ext-1",
  userName: "Alice@Example.com",
  name: { givenName: "Alice", familyName: "Liddell" },
  displayName: "Alice L",
  title: "",
  active: true,
  emails: [
    { value: "alice@work.example.com", type: "work", primary: true },
    { value: "ALICE@home.example.org", type: "home" },
  ],
  groups: [{ value: "g-1", display: "Engineering" }],
  [ENTERPRISE]: { department: "Research", manager: { value: "m-7", displayName: "Boss" } },
  meta: {
    resourceType: "User",
    created: "2024-03-01T10:00:00.000Z",
    lastModified: "2024-06-15T08:30:00.000Z",
    location: "https://x/scim/v2/Users/2819c223",
    version: 'W/"3"',
  },
};

const bob = {
  id: "b0b",
  userName: "bob",
  active: false,
  emails: [],
  meta: { resourceType: "User", created: "2023-01-01T00:00:00.000Z", lastModified: "2023-01-01T00:00:00.000Z" },
};

const engineering = {
  id: "g-1",
  displayName: "Engineering",
  members: [
    { value: "2819c223-7f76-453a-919d-413861904646", display: "Alice" },
    { value: "b0b", display: "Bob" },
  ],
  meta: { resourceType: "Group", created: "2024-01-01T00:00:00.000Z", lastModified: "2024-01-02T00:00:00.000Z" },
};

const user = (filter: string, resource: Record<string, unknown> = alice) => matchesFilter(parseFilter(filter), resource, USER_RESOURCE);
const group = (filter: string) => matchesFilter(parseFilter(filter), engineering, GROUP_RESOURCE);

function rejects(filter: string, resource: Record<string, unknown> = alice): string {
  try {
    user(filter, resource);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).scimType).toBe("invalidFilter");
    return (error as ApiError).detail;
  }
  throw new Error(`expected ${filter} to be rejected`);
}

describe("matchesFilter: strings", () => {
  it("eq folds case unless the attribute is caseExact", () => {
    expect(user('userName eq "alice@example.com"')).toBe(true);
    expect(user('UserName EQ "ALICE@EXAMPLE.COM"')).toBe(true);
    expect(user('userName eq "alice@example.co"')).toBe(false);
    expect(user('externalId eq "Ext-1"')).toBe(true);
    expect(user('externalId eq "ext-1"')).toBe(false); // caseExact
    expect(user('id eq "2819C223-7F76-453A-919D-413861904646"')).toBe(false); // caseExact
    expect(user(`id eq "${alice.id}"`)).toBe(true);
  });

  it("folds with NFKC + lower case (foldCase)", () => {
    const r = { ...alice, displayName: "Ｊｏｓé" };
    expect(user('displayName eq "josÉ"', r)).toBe(true);
  });

  it("co / sw / ew", () => {
    expect(user('userName co "@EXAMPLE"')).toBe(true);
    expect(user('userName co "nope"')).toBe(false);
    expect(user('userName sw "ALICE@"')).toBe(true);
    expect(user('userName sw "example"')).toBe(false);
    expect(user('userName ew ".COM"')).toBe(true);
    expect(user('userName ew "alice"')).toBe(false);
    expect(user('externalId sw "ext"')).toBe(false);
    expect(user('externalId sw "Ext"')).toBe(true);
  });

  it("gt / ge / lt / le are lexicographic after folding", () => {
    expect(user('userName gt "ALICE"')).toBe(true); // "alice@example.com" > "alice"
    expect(user('userName lt "b"')).toBe(true);
    expect(user('userName le "alice@example.com"')).toBe(true);
    expect(user('userName ge "ALICE@EXAMPLE.COM"')).toBe(true);
    expect(user('userName gt "alice@example.com"')).toBe(false);
    expect(user('userName lt "alice"')).toBe(false);
  });

  it("ne is the negation of eq, and true when the attribute is missing", () => {
    expect(user('userName ne "bob"')).toBe(true);
    expect(user('userName ne "ALICE@example.com"')).toBe(false);
    expect(user('nickName ne "x"')).toBe(true);
    expect(user('nickName eq "x"')).toBe(false);
    expect(user('nickName co ""')).toBe(false); // missing never matches co/sw/ew/gt…
  });

  it("sub-attributes of singular complex attributes", () => {
    expect(user('name.givenName eq "alice"')).toBe(true);
    expect(user('name.familyName sw "Lid"')).toBe(true);
    expect(user('name.middleName pr')).toBe(false);
    expect(user('name.givenName eq "alice"', bob)).toBe(false);
  });

  it("compares bare (Entra) numbers as text on string attributes", () => {
    const r = { ...alice, externalId: "12345" };
    expect(user("externalId eq 12345", r)).toBe(true);
    expect(user("externalId eq jyoung", { ...alice, externalId: "jyoung" })).toBe(true);
  });
});

describe("matchesFilter: pr and null", () => {
  it("pr is false for missing, null, empty string, empty array", () => {
    expect(user("userName pr")).toBe(true);
    expect(user("title pr")).toBe(false); // ""
    expect(user("nickName pr")).toBe(false); // missing
    expect(user("nickName pr", { ...alice, nickName: null })).toBe(false);
    expect(user("emails pr")).toBe(true);
    expect(user("emails pr", bob)).toBe(false); // []
    expect(user("name pr")).toBe(true);
    expect(user("name pr", { ...alice, name: {} })).toBe(false);
    expect(user("emails.type pr")).toBe(true);
    expect(user("emails.display pr")).toBe(false);
    expect(user("meta.created pr")).toBe(true);
    expect(isPresent(0)).toBe(true);
    expect(isPresent(false)).toBe(true);
  });

  it("eq null is not pr, ne null is pr; other operators reject null", () => {
    expect(user("title eq null")).toBe(true);
    expect(user("userName eq null")).toBe(false);
    expect(user("userName ne null")).toBe(true);
    expect(user("nickName ne null")).toBe(false);
    expect(rejects("userName gt null")).toContain("null can only be compared with eq or ne");
  });
});

describe("matchesFilter: booleans", () => {
  it("accepts true/false literals and Entra's strings in any case", () => {
    expect(user("active eq true")).toBe(true);
    expect(user("active eq false")).toBe(false);
    expect(user('active eq "True"')).toBe(true);
    expect(user("active eq TRUE")).toBe(true);
    expect(user('active eq "false"', bob)).toBe(true);
    expect(user("active ne true", bob)).toBe(true);
    expect(user("active ne false")).toBe(true);
    // Any other missing boolean is not equal to anything.
    expect(user("emails[primary eq true]", { ...bob, emails: [{ value: "b@x" }] })).toBe(false);
    expect(user("emails[primary ne true]", { ...bob, emails: [{ value: "b@x" }] })).toBe(true);
  });

  it("reads a User without `active` (a PATCH removed it) as active, like the SQL `active` column", () => {
    const removed = { ...bob, active: undefined };
    expect(user("active eq true", removed)).toBe(true);
    expect(user("active eq false", removed)).toBe(false);
    expect(user("active ne true", removed)).toBe(false);
    expect(user("active pr", removed)).toBe(true);
    expect(user("active eq null", removed)).toBe(false);
  });

  it("rejects ordering, substring operators and non-boolean literals", () => {
    expect(rejects("active gt true")).toContain('"gt" cannot be applied to the boolean attribute "active"');
    expect(rejects('active co "t"')).toContain("boolean");
    expect(rejects('active eq "yes"')).toBe('Invalid filter: expected true or false for the boolean attribute "active", found "yes".');
    expect(rejects("active eq 1")).toContain("expected true or false");
  });
});

describe("matchesFilter: dateTime", () => {
  it("compares instants, whatever the literal's format", () => {
    expect(user('meta.created eq "2024-03-01T10:00:00Z"')).toBe(true);
    expect(user('meta.created eq "2024-03-01T12:00:00+02:00"')).toBe(true);
    expect(user('meta.created eq "2024-03-01T10:00:00.000Z"')).toBe(true);
    expect(user('meta.created gt "2024-03-01T09:59:59.999Z"')).toBe(true);
    expect(user('meta.created gt "2024-03-01T10:00:00Z"')).toBe(false);
    expect(user('meta.created ge "2024-03-01T10:00:00Z"')).toBe(true);
    expect(user('meta.created lt "2024-03-02"')).toBe(true);
    expect(user('meta.created le "2024-03-01"')).toBe(false);
    expect(user('meta.lastModified gt "2024-06-01T00:00:00"')).toBe(true); // no offset = UTC
    expect(user('meta.lastModified ne "2024-06-15T08:30:00Z"')).toBe(false);
  });

  it("rejects unparsable dates and substring operators with 400", () => {
    expect(rejects('meta.created gt "yesterday"')).toContain('expected an ISO 8601 date-time (such as "2024-01-31T12:00:00Z") for "meta.created", found "yesterday"');
    expect(rejects('meta.created gt "2024-02-30"')).toContain("ISO 8601");
    expect(rejects("meta.created gt 5")).toContain("ISO 8601");
    expect(rejects("meta.created gt true")).toContain("ISO 8601");
    expect(rejects('meta.created co "2024"')).toContain('"co" applies to strings only');
    expect(parseDateTimeLiteral("2024-02-29")).toBe(Date.UTC(2024, 1, 29));
    expect(parseDateTimeLiteral("2024-02-29T01:02:03.123456Z")).toBe(Date.UTC(2024, 1, 29, 1, 2, 3, 123));
    expect(parseDateTimeLiteral("1")).toBeNaN();
  });

  it("accepts every RFC 3339 year, 0000–0099 included (Microsoft's full-sync filter)", () => {
    expect(parseDateTimeLiteral("0001-01-03T00:00:00.0000000Z")).toBe(Date.parse("0001-01-03T00:00:00.000Z"));
    expect(new Date(parseDateTimeLiteral("0001-01-03T00:00:00.0000000Z")).toISOString()).toBe("0001-01-03T00:00:00.000Z");
    expect(new Date(parseDateTimeLiteral("0000-01-01")).toISOString()).toBe("0000-01-01T00:00:00.000Z");
    expect(new Date(parseDateTimeLiteral("0099-12-31T23:59:59Z")).toISOString()).toBe("0099-12-31T23:59:59.000Z");
    expect(parseDateTimeLiteral("0004-02-29")).not.toBeNaN(); // year 4 is a leap year
    expect(parseDateTimeLiteral("0001-02-29")).toBeNaN(); // year 1 is not
    expect(user('meta.lastModified gt "0001-01-03T00:00:00.0000000Z"')).toBe(true);
    expect(user('meta.created lt "0099-01-01"')).toBe(false);
  });
});

describe("matchesFilter: multi-valued attributes", () => {
  it("matches when any element matches", () => {
    expect(user('emails.value eq "alice@home.example.org"')).toBe(true);
    expect(user('emails.type eq "home"')).toBe(true);
    expect(user('emails.type eq "other"')).toBe(false);
    expect(user('emails.value ew ".org"')).toBe(true);
    expect(user("emails.primary eq true")).toBe(true);
  });

  it("eq without sub-attribute compares value", () => {
    expect(user('emails eq "ALICE@work.example.com"')).toBe(true);
    expect(user('emails co "home"')).toBe(true);
    expect(user('emails eq "work"')).toBe(false);
  });

  it("ne holds only when no element is equal", () => {
    expect(user('emails.type ne "home"')).toBe(false);
    expect(user('emails.type ne "other"')).toBe(true);
    expect(user('emails.type ne "other"', bob)).toBe(true);
  });

  it("value filters need one element satisfying the whole inner filter", () => {
    expect(user('emails[type eq "work" and value co "@work."]')).toBe(true);
    expect(user('emails[type eq "home" and value co "@work."]')).toBe(false); // different elements
    expect(user('emails[type eq "home" or primary eq true]')).toBe(true);
    expect(user('emails[not (type eq "work")]')).toBe(true);
    expect(user('emails[not (type eq "work" or type eq "home")]')).toBe(false);
    expect(user('emails[type eq "work"]', bob)).toBe(false);
    expect(user('emails[not (type eq "work")]', bob)).toBe(false); // no element at all
    expect(user('emails[Type EQ "WORK"].Value eq "alice@work.example.com"')).toBe(true); // Entra
    expect(user('emails[type eq "home"].value eq "alice@work.example.com"')).toBe(false);
    expect(user('emails[primary eq "true"].type eq work')).toBe(true);
  });

  it("value filters on a singular complex attribute treat the object as the element", () => {
    expect(user('name[givenName eq "ALICE" and familyName pr]')).toBe(true);
    expect(user('name[not (givenName eq "ALICE")]')).toBe(false);
    expect(user('name[not (givenName eq "ALICE")]', bob)).toBe(false);
  });

  it("groups on users and members on groups", () => {
    expect(user('groups.value eq "G-1"')).toBe(true); // groups.value is not caseExact
    expect(user('groups.display eq "engineering"')).toBe(true);
    expect(user("groups pr", bob)).toBe(false);
    expect(group('members.value eq "b0b"')).toBe(true);
    expect(group('members eq "B0B"')).toBe(false); // members.value is caseExact
    expect(group('members[value eq "b0b" and display eq "bob"]')).toBe(true);
    expect(group('displayName eq "engineering"')).toBe(true);
    expect(group("meta.resourceType eq \"Group\"")).toBe(true);
    expect(group("meta.resourceType eq \"group\"")).toBe(false); // caseExact
  });

  it("rejects comparisons on complex attributes without a value sub-attribute", () => {
    expect(rejects('addresses eq "x"')).toContain('"addresses" is complex; compare one of its sub-attributes');
    expect(rejects('name eq "x"')).toContain('"name" is complex');
    expect(rejects('meta eq "x"')).toContain('"meta" is complex');
  });
});

describe("matchesFilter: enterprise extension and URN paths", () => {
  it("resolves URN-qualified attributes", () => {
    expect(user(`${ENTERPRISE}:department eq "research"`)).toBe(true);
    expect(user(`${ENTERPRISE}:manager.value eq "M-7"`)).toBe(true);
    expect(user(`${ENTERPRISE.toUpperCase()}:DEPARTMENT sw "RES"`)).toBe(true);
    expect(user(`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com"`)).toBe(true);
    expect(user(`urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "alice"`)).toBe(true);
    expect(user(`${ENTERPRISE}:department pr`, bob)).toBe(false);
  });

  it("resolves an unqualified extension attribute when the core schema does not have it", () => {
    expect(user('department eq "Research"')).toBe(true);
    expect(user('manager.value eq "m-7"')).toBe(true);
  });
});

describe("matchesFilter: combinators", () => {
  it("and / or / not and precedence", () => {
    expect(user('userName sw "a" and active eq true')).toBe(true);
    expect(user('userName sw "b" and active eq true')).toBe(false);
    expect(user('userName sw "b" or active eq true')).toBe(true);
    expect(user('not (userName sw "b")')).toBe(true);
    expect(user('not (userName sw "a")')).toBe(false);
    // and binds tighter: true or (false and false) = true; (true or false) and false = false.
    expect(user('userName pr or nickName pr and title pr')).toBe(true);
    expect(user('(userName pr or nickName pr) and title pr')).toBe(false);
    expect(user('not (nickName eq "x")')).toBe(true);
  });
});

describe("matchesFilter: unknown attributes are 400, never a silent no-match", () => {
  it("names the unknown attribute", () => {
    expect(rejects('foo eq "x"')).toBe('Invalid filter: unknown attribute "foo" for resource type User.');
    expect(rejects('name.nope eq "x"')).toContain('unknown attribute "name.nope"');
    expect(rejects(`${ENTERPRISE}:nope pr`)).toContain(`unknown attribute "${ENTERPRISE}:nope"`);
    expect(rejects('urn:example:other:1.0:User:x eq "y"')).toContain("unknown attribute");
    expect(rejects('emails[nope eq "x"]')).toBe('Invalid filter: unknown sub-attribute "nope" of "emails".');
    expect(rejects('emails[emails.type eq "x"]')).toContain("use a sub-attribute name of emails alone");
    expect(rejects('userName[value eq "x"]')).toContain('needs a complex attribute; "userName" is not one');
    expect(() => matchesFilter(parseFilter('userName eq "x"'), engineering, GROUP_RESOURCE)).toThrow(/unknown attribute "userName" for resource type Group/);
  });

  it("rejects even when an earlier branch decides the result (checks are not skipped by short-circuit)", () => {
    // The left side alone decides `or` here; the whole filter is still checked (as the SQL compiler does).
    expect(user('userName sw "a"')).toBe(true);
    expect(rejects('userName sw "a" or foo eq "x"')).toContain('unknown attribute "foo"');
    expect(rejects('userName sw "b" and active gt true')).toContain('"gt" cannot be applied');
    expect(rejects('nickName pr and meta.created lt "soon"')).toContain("ISO 8601");
  });
});

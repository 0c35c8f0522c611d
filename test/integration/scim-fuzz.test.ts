// Malformed and odd SCIM requests, generated: bodies for POST/PUT of Users and Groups with every
// attribute given values of random shapes, PatchOp bodies with odd ops, paths and values, list and
// search queries with odd filters and paging, Bulk with odd operations, and bodies that are not
// JSON objects at all. None may answer 5xx; every refusal is a SCIM error (RFC 7644 §3.12) whose
// status matches the response's (issue 23 §3: "fuzz and races 0 5xx").
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { oktaUser, request, scimTenant, type JsonResponse } from "../support/harness";

const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/** Strings that have broken parsers and storage before: control characters, quotes, huge, unicode, SQL and filter syntax. */
const oddString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom("", " ", "\u0000", "\n", "'", '"', "\\", "%", "_", "[]", "{}", "null", "true", "1e999", "-0", "NaN", "🙂", "\uD800", "x".repeat(5000), "a' OR 1=1 --", 'userName eq "x"', "emails[type eq \"work\"].value", `${ENTERPRISE}:manager`),
);
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: oddString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1e308, 2 ** 63, 1.5, true, false, null, [], {}, [null], [[]], { value: null }, { value: {} }) },
);

const USER_ATTRIBUTES = ["schemas", "id", "externalId", "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale", "timezone", "active", "password", "emails", "phoneNumbers", "ims", "photos", "addresses", "groups", "entitlements", "roles", "x509Certificates", "meta", ENTERPRISE, `${ENTERPRISE}:manager`, "urn:ietf:params:scim:schemas:core:2.0:User:userName", "UsErNaMe"];
const GROUP_ATTRIBUTES = ["schemas", "id", "externalId", "displayName", "members", "meta", "DISPLAYNAME"];
const PATCH_PATHS = [
  "userName",
  "displayName",
  "active",
  "name.givenName",
  "emails",
  'emails[type eq "work"].value',
  "emails[primary eq true]",
  'members[value eq "x"]',
  "members",
  `${ENTERPRISE}:manager.value`,
  `${ENTERPRISE}:department`,
  "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
  "addresses[type eq \"work\"].streetAddress",
  "x.y.z",
  "emails[",
  "emails[value co]",
  "]",
  "meta.lastModified",
];
const FILTER_PIECES = ["userName", "displayName", "emails.value", "emails[type eq \"work\"]", "meta.lastModified", "active", "members.value", "externalId", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "not", "(", ")", "[", "]", '"x"', "'x'", "true", "null", "1e999", "2024-01-01T00:00:00Z", '"\\"', "{", "}"];

/** A document with a random subset of `attributes`, each with an odd value. */
const documentOf = (attributes: string[]) => fc.dictionary(fc.constantFrom(...attributes), oddValue, { maxKeys: 6 });
const patchBody = fc.record(
  {
    schemas: fc.oneof(fc.constant(["urn:ietf:params:scim:api:messages:2.0:PatchOp"]), oddValue),
    Operations: fc.oneof(
      fc.array(
        fc.record(
          { op: fc.oneof(fc.constantFrom("add", "replace", "remove", "Add", "REPLACE", "copy", ""), oddValue), path: fc.oneof(fc.constantFrom(...PATCH_PATHS), oddString), value: oddValue },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
      oddValue,
    ),
  },
  { requiredKeys: [] },
);
const filter = fc.oneof(oddString, fc.array(fc.constantFrom(...FILTER_PIECES), { minLength: 1, maxLength: 7 }).map((parts) => parts.join(" ")));
const query = fc.dictionary(fc.constantFrom("filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder"), fc.oneof(filter, fc.constantFrom("1e20", "-1", "0", "NaN", "1.5", "", "asc", "descending")), { maxKeys: 4 });

type Case = { method: string; path: string; body?: unknown; raw?: string };

describe("SCIM fuzz", () => {
  it("answers every generated request with a success or a SCIM error of the same status, never a 5xx", async () => {
    const tenant = await scimTenant();
    const user = await tenant.scim("POST", "/Users", oktaUser());
    const group = await tenant.scim("POST", "/Groups", { displayName: `Fuzz ${crypto.randomUUID()}`, members: [{ value: user.body.id }] });
    expect([user.status, group.status]).toEqual([201, 201]);
    const userPath = `/Users/${user.body.id}`;
    const groupPath = `/Groups/${group.body.id}`;

    const cases: fc.Arbitrary<Case> = fc.oneof(
      documentOf(USER_ATTRIBUTES).map((body) => ({ method: "POST", path: "/Users", body })),
      documentOf(USER_ATTRIBUTES).map((body) => ({ method: "PUT", path: userPath, body })),
      // Mostly a valid user with one attribute odd: gets past the required userName to the rest.
      fc.tuple(fc.constantFrom(...USER_ATTRIBUTES), oddValue).map(([key, value]) => ({ method: "PUT", path: userPath, body: { ...oktaUser(), userName: user.body.userName, [key]: value } })),
      documentOf(GROUP_ATTRIBUTES).map((body) => ({ method: "POST", path: "/Groups", body })),
      documentOf(GROUP_ATTRIBUTES).map((body) => ({ method: "PUT", path: groupPath, body })),
      patchBody.map((body) => ({ method: "PATCH", path: userPath, body })),
      patchBody.map((body) => ({ method: "PATCH", path: groupPath, body })),
      fc.tuple(fc.constantFrom("/Users", "/Groups", "/"), query).map(([path, q]) => ({ method: "GET", path: `${path === "/" ? "/Users" : path}?${new URLSearchParams(q)}` })),
      fc.tuple(fc.constantFrom("/Users/.search", "/Groups/.search", "/.search"), query).map(([path, q]) => ({ method: "POST", path, body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], ...q } })),
      fc.record({ Operations: fc.array(fc.record({ method: oddValue, path: fc.oneof(fc.constantFrom("/Users", "/Groups", userPath, groupPath, "/Users/bulkId:x"), oddString), bulkId: oddValue, data: oddValue }, { requiredKeys: [] }), { maxLength: 3 }), failOnErrors: oddValue }, { requiredKeys: [] }).map((body) => ({ method: "POST", path: "/Bulk", body: { schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], ...body } })),
      fc.tuple(fc.constantFrom("POST /Users", `PUT ${userPath}`, `PATCH ${groupPath}`, "POST /Bulk", "POST /Users/.search"), fc.oneof(oddString, fc.constantFrom("{", "[]", "null", "5", '"s"', "{\"a\":1}x", "\u0000"))).map(([target, raw]) => {
        const [method, path] = target.split(" ") as [string, string];
        return { method, path, raw };
      }),
      fc.tuple(fc.constantFrom("GET", "DELETE", "PUT", "PATCH"), fc.constantFrom("/Users/", "/Groups/", "/Schemas/", "/ResourceTypes/"), oddString).map(([method, prefix, id]) => ({ method, path: `${prefix}${encodeURIComponent(id.replace(/\p{Cs}/gu, "\uFFFD"))}`, body: method === "PUT" || method === "PATCH" ? {} : undefined })),
    );

    const failures: string[] = [];
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(cases, async ({ method, path, body, raw }) => {
        const res: JsonResponse = await request(method, `${tenant.base}${path}`, {
          rawBody: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
          headers: { Authorization: `Bearer ${tenant.token}`, ...(raw !== undefined || body !== undefined ? { "Content-Type": "application/scim+json" } : {}) },
        });
        const what = `${method} ${path.slice(0, 100)} ${(raw ?? JSON.stringify(body) ?? "").slice(0, 200)} → ${res.status} ${res.text.slice(0, 200)}`;
        statuses.add(res.status);
        if (res.status >= 500) failures.push(what);
        else if (res.status >= 400 && !(res.body?.schemas?.includes(ERROR_SCHEMA) && res.body.status === String(res.status))) failures.push(`not a SCIM error: ${what}`);
      }),
      // Every case runs (failures are collected, not shrunk), so one run lists them all.
      { numRuns: 400 },
    );
    expect(failures).toEqual([]);
    // The generators reach both sides: accepted writes and refusals.
    expect([...statuses].filter((s) => s < 300).length).toBeGreaterThan(0);
    expect(statuses.has(400)).toBe(true);
  }, 180_000);
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/scim/errors";
import { applyPatch } from "../../src/scim/patch";
import { GROUP_RESOURCE, SCHEMA, USER_RESOURCE } from "../../src/scim/schema";

const ENT = SCHEMA.enterpriseUser;

const user = () => ({
  schemas: [SCHEMA.user, ENT],
  id: "u-1",
  userName: "alice@example.com",
  name: { givenName: "Alice", familyName: "Smith" },
  active: true,
  emails: [{ value: "alice@example.com", type: "work", primary: true }],
  [ENT]: { employeeNumber: "42", manager: { value: "m-1" } },
});

const group = () => ({
  schemas: [SCHEMA.group],
  id: "g-1",
  displayName: "Engineering",
  members: [{ value: "u-1" }, { value: "u-2" }],
});

const paths = fc.constantFrom(
  undefined,
  "userName",
  "displayName",
  "title",
  "active",
  "name",
  "name.givenName",
  "emails",
  'emails[type eq "work"]',
  'emails[type eq "work"].value',
  'emails[type eq "home"].primary',
  'addresses[type eq "work"].locality',
  `${ENT}:manager`,
  `${ENT}:manager.value`,
  `${ENT}:employeeNumber`,
  "members",
  'members[value eq "u-1"]',
  "id",
  "password",
  "nope",
  "emails[",
  "urn:custom:2.0:User:x",
);

const values = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(""),
  fc.boolean(),
  fc.constantFrom("True", "False", "x", "u-3"),
  fc.integer(),
  fc.constant({ value: "u-1" }),
  fc.constant([{ value: "u-4", type: "User" }, { value: "u-1" }]),
  fc.constant({ givenName: "A", title: "T", active: "false", members: [{ value: "u-9" }], primary: true }),
  fc.constant([{ value: "a@x", primary: true }, { value: "b@x", primary: true }]),
);

const operation = fc.record({ op: fc.constantFrom("add", "Replace", "REMOVE", "copy"), path: paths, value: values }).map((o) => {
  const out: Record<string, unknown> = { op: o.op };
  if (o.path !== undefined) out.path = o.path;
  if (o.value !== undefined) out.value = o.value;
  return out;
});

describe("applyPatch properties", () => {
  for (const [name, make, type] of [
    ["User", user, USER_RESOURCE],
    ["Group", group, GROUP_RESOURCE],
  ] as const) {
    it(`${name}: never mutates its input, fails only with 400 ApiErrors, keeps at most one primary`, () => {
      fc.assert(
        fc.property(fc.array(operation, { maxLength: 6 }), (ops) => {
          const input = make();
          const before = structuredClone(input);
          let out: Record<string, unknown> | undefined;
          try {
            out = applyPatch(input, { Operations: ops }, type);
          } catch (error) {
            expect(error).toBeInstanceOf(ApiError);
            expect((error as ApiError).status).toBe(400);
            expect((error as ApiError).scimType).toBeTruthy();
          }
          expect(input).toEqual(before);
          if (out) {
            expect(out[name === "User" ? "userName" : "displayName"]).toBeTruthy(); // required attributes survive
            expect(out.id).toBe(before.id);
            for (const value of Object.values(out)) {
              if (Array.isArray(value)) {
                expect(value.filter((e) => (e as { primary?: unknown })?.primary === true).length).toBeLessThanOrEqual(1);
              }
            }
            // Idempotent re-application of nothing.
            expect(applyPatch(out, { Operations: [] }, type)).toEqual(out);
          }
        }),
        { numRuns: 400 },
      );
    });
  }
});

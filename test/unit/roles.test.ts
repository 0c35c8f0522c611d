import { describe, expect, it } from "vitest";
import { checkMapping, effectiveRole, pushedRole, roleCatalogue } from "../../src/roles/catalogue";

const catalogue = roleCatalogue({ ROLES: "viewer, member,admin,Member", DEFAULT_ROLE: "MEMBER" });

describe("roleCatalogue", () => {
  it("parses [vars] lowest first, drops blanks and repeats, spells the default as the catalogue does", () => {
    expect(catalogue).toEqual({ roles: ["viewer", "member", "admin"], defaultRole: "member" });
    expect(roleCatalogue({})).toEqual({ roles: ["viewer", "member", "admin"], defaultRole: "viewer" });
    expect(roleCatalogue({ ROLES: "a,b", DEFAULT_ROLE: "zzz" })).toEqual({ roles: ["a", "b"], defaultRole: "a" });
    expect(() => roleCatalogue({ ROLES: "ok,not ok" })).toThrow(/not a valid role name/);
  });
});

describe("pushedRole", () => {
  it("takes the primary entry first, then the others in order; value, else display; case-insensitive", () => {
    expect(pushedRole([{ value: "viewer" }, { value: "ADMIN", primary: true }], catalogue)).toBe("admin");
    expect(pushedRole([{ value: "nope", primary: true }, { value: "x", display: "Member" }], catalogue)).toBe("member");
    expect(pushedRole([{ value: "nope" }], catalogue)).toBeNull();
    expect(pushedRole(undefined, catalogue)).toBeNull();
    expect(pushedRole("admin", catalogue)).toBeNull();
    // Entra's AppRoleAssignmentsComplex: the role as a JSON string in value.
    expect(pushedRole([{ value: '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"Admin","displayName":"Administrator"}' }], catalogue)).toBe("admin");
    expect(pushedRole([{ value: "{not json" }], catalogue)).toBeNull();
  });
});

describe("checkMapping", () => {
  it("accepts a mapping in catalogue spelling and refuses unknown roles, bad rules and repeated groups", () => {
    expect(checkMapping({ default: "Viewer", rules: [{ group: "g1", role: "ADMIN" }] }, catalogue)).toEqual({ ok: true, mapping: { default: "viewer", rules: [{ group: "g1", role: "admin" }] } });
    expect(checkMapping({}, catalogue)).toEqual({ ok: true, mapping: { default: "member", rules: [] } });
    expect(checkMapping({ default: "root" }, catalogue)).toMatchObject({ ok: false, detail: expect.stringContaining("default") });
    expect(checkMapping({ rules: [{ group: "g", role: "owner" }] }, catalogue)).toMatchObject({ ok: false, detail: expect.stringContaining("rules[0].role") });
    expect(checkMapping({ rules: [{ role: "admin" }] }, catalogue)).toMatchObject({ ok: false, detail: expect.stringContaining("rules[0].group") });
    expect(checkMapping({ rules: [{ group: "g", role: "admin" }, { group: "g", role: "viewer" }] }, catalogue)).toMatchObject({ ok: false, detail: expect.stringContaining("rules[1].group") });
    expect(checkMapping({ rules: Array.from({ length: 101 }, (_, i) => ({ group: `g${i}`, role: "admin" })) }, catalogue)).toMatchObject({ ok: false });
    expect(checkMapping([], catalogue)).toMatchObject({ ok: false });
  });
});

describe("effectiveRole", () => {
  const mapping = { default: "viewer", rules: [{ group: "ops", role: "admin" }, { group: "staff", role: "member" }] };
  it("first rule in order, then the pushed role, then the default", () => {
    expect(effectiveRole(mapping, ["staff", "ops"], "viewer")).toBe("admin");
    expect(effectiveRole(mapping, ["staff"], "admin")).toBe("member");
    expect(effectiveRole(mapping, ["other"], "admin")).toBe("admin");
    expect(effectiveRole(mapping, [], null)).toBe("viewer");
  });
});

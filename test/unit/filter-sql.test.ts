import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { SQL } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/scim/errors";
import { parseFilter } from "../../src/scim/filter/parse";
import { MAX_FILTER_PARAMETERS, compileFilter, compileSort, jsonPath } from "../../src/scim/filter/sql";
import { GROUP_RESOURCE, USER_RESOURCE, type ResourceTypeDef } from "../../src/scim/schema";

const dialect = new SQLiteSyncDialect();
const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const toQuery = (fragment: SQL) => dialect.sqlToQuery(fragment);
const where = (filter: string, type: ResourceTypeDef = USER_RESOURCE) => toQuery(compileFilter(parseFilter(filter), type));
const order = (sortBy?: string, sortOrder?: string, type: ResourceTypeDef = USER_RESOURCE) => toQuery(compileSort(sortBy, sortOrder, type)).sql;

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    return error as ApiError;
  }
  throw new Error("expected a 400 ApiError");
}

describe("compileFilter: parameters", () => {
  it("binds every literal, never inlines it", () => {
    const hostile = [`'; DROP TABLE users; --`, `x' OR '1'='1`, `a"b`, `%_\\`, `$.evil`, `\u0000`];
    for (const value of hostile) {
      for (const f of [`userName eq ${JSON.stringify(value)}`, `title co ${JSON.stringify(value)}`, `emails[value sw ${JSON.stringify(value)}]`, `externalId ew ${JSON.stringify(value)}`, `${ENTERPRISE}:department gt ${JSON.stringify(value)}`]) {
        const q = where(f);
        expect(q.sql).not.toContain(value);
        expect(q.params.length).toBe(1);
        expect(String(q.params[0]).toLowerCase()).toBe(value.toLowerCase());
      }
    }
  });

  it("uses user_name_norm with the folded literal for userName", () => {
    const q = where('UserName eq "Alice@Example.COM"');
    expect(q.sql).toBe('("users"."user_name_norm" = ?)');
    expect(q.params).toEqual(["alice@example.com"]);
    expect(where('userName sw "ÄB"')).toEqual({ sql: '(instr("users"."user_name_norm", ?) = 1)', params: ["äb"], typings: ["none"] });
    expect(where('userName co "b"').sql).toBe('(instr("users"."user_name_norm", ?) > 0)');
    expect(where('userName ew "xy"').sql).toBe('(substr("users"."user_name_norm", -2) = ?)');
    expect(where('userName gt "m"').sql).toBe('("users"."user_name_norm" > ?)');
  });

  it("uses display_name_norm, external_id and id columns for groups", () => {
    expect(where('displayName eq "Eng"', GROUP_RESOURCE)).toMatchObject({ sql: '("groups"."display_name_norm" = ?)', params: ["eng"] });
    expect(where('externalId eq "E1"', GROUP_RESOURCE)).toMatchObject({
      sql: '("groups"."external_id" IS NOT NULL AND "groups"."external_id" = ?)',
      params: ["E1"],
    });
    expect(where('id eq "g1"', GROUP_RESOURCE).sql).toBe('("groups"."id" = ?)');
  });

  it("compares caseExact attributes raw and others with lower() on both sides", () => {
    expect(where('externalId eq "AbC"').sql).toBe('("users"."external_id" IS NOT NULL AND "users"."external_id" = ?)');
    const q = where('name.givenName eq "Ann"');
    expect(q.sql).toBe(`(coalesce(json_type("users"."data", '$.name.givenName'), '') IN ('text') AND lower(json_extract("users"."data", '$.name.givenName')) = lower(?))`);
    expect(q.params).toEqual(["Ann"]);
  });

  it("normalises date literals to toISOString() and compares the timestamp columns", () => {
    expect(where('meta.created gt "2024-01-01"')).toMatchObject({ sql: '("users"."created_at" > ?)', params: ["2024-01-01T00:00:00.000Z"] });
    expect(where('meta.lastModified le "2024-01-01T02:00:00+02:00"')).toMatchObject({
      sql: '("users"."updated_at" <= ?)',
      params: ["2024-01-01T00:00:00.000Z"],
    });
    expect(where('meta.created eq "2024-01-01T00:00:00Z"', GROUP_RESOURCE).sql).toBe('("groups"."created_at" = ?)');
    const e = apiError(() => where('meta.created gt "not a date"'));
    expect(e.scimType).toBe("invalidFilter");
    expect(e.detail).toContain("ISO 8601");
  });

  it("compiles booleans without parameters", () => {
    expect(where("active eq true")).toMatchObject({ sql: '("users"."active" = 1)', params: [] });
    expect(where('active eq "False"').sql).toBe('("users"."active" = 0)');
    expect(where("active ne true").sql).toBe('(NOT ("users"."active" = 1))');
    expect(where("emails[primary eq true]").sql).toContain(`json_type(j.value, '$.primary') = 'true'`);
  });

  it("limits the number of bound parameters", () => {
    const ok = Array.from({ length: MAX_FILTER_PARAMETERS }, (_, i) => `title eq "${i}"`).join(" or ");
    expect(where(ok).params.length).toBe(MAX_FILTER_PARAMETERS);
    const tooMany = Array.from({ length: MAX_FILTER_PARAMETERS + 1 }, (_, i) => `title eq "${i}"`).join(" or ");
    const e = apiError(() => where(tooMany));
    expect(e.scimType).toBe("invalidFilter");
    expect(e.detail).toContain(`at most ${MAX_FILTER_PARAMETERS} values`);
  });
});

describe("compileFilter: shapes", () => {
  it("quotes the extension URN in JSON paths", () => {
    expect(jsonPath([ENTERPRISE, "manager", "value"])).toBe(`$."${ENTERPRISE}".manager.value`);
    const q = where(`${ENTERPRISE}:manager.value eq "m"`);
    expect(q.sql).toContain(`json_extract("users"."data", '$."${ENTERPRISE}".manager.value')`);
  });

  it("uses json_each for multi-valued attributes", () => {
    const q = where('emails.value eq "a@x.com"');
    expect(q.sql).toBe(
      `EXISTS (SELECT 1 FROM json_each("users"."data", '$.emails') AS j WHERE j.type = 'object' AND (coalesce(json_type(j.value, '$.value'), '') IN ('text') AND lower(json_extract(j.value, '$.value')) = lower(?)))`,
    );
    expect(where('emails eq "a@x.com"').sql).toBe(q.sql);
    expect(where('emails[type eq "work"].value eq "a@x.com"').params).toEqual(["work", "a@x.com"]);
  });

  it("uses group_members for members and groups", () => {
    const members = where('members.value eq "u1"', GROUP_RESOURCE);
    expect(members.sql).toBe(
      `EXISTS (SELECT 1 FROM "group_members" AS gm WHERE gm.tenant_id = "groups"."tenant_id" AND gm.group_id = "groups"."id" AND (gm.member_id = ?))`,
    );
    expect(members.params).toEqual(["u1"]);
    expect(where('members eq "u1"', GROUP_RESOURCE).sql).toBe(members.sql);
    expect(where("members pr", GROUP_RESOURCE).sql).toBe(
      `EXISTS (SELECT 1 FROM "group_members" AS gm WHERE gm.tenant_id = "groups"."tenant_id" AND gm.group_id = "groups"."id")`,
    );
    expect(where('members[value eq "a" or value eq "b"]', GROUP_RESOURCE).params).toEqual(["a", "b"]);
    const groups = where('groups.value eq "G1"');
    expect(groups.sql).toBe(
      `EXISTS (SELECT 1 FROM "group_members" AS gm WHERE gm.tenant_id = "users"."tenant_id" AND gm.member_id = "users"."id" AND (lower(gm.group_id) = lower(?)))`,
    );
  });

  it("rejects what it cannot filter on, with a reason", () => {
    let e = apiError(() => where('members.display eq "Bob"', GROUP_RESOURCE));
    expect(e.scimType).toBe("invalidFilter");
    expect(e.detail).toBe('Invalid filter: "members.display" cannot be used in a filter; filter on members.value instead.');
    e = apiError(() => where('groups.display eq "Eng"'));
    expect(e.detail).toContain("filter on groups.value instead");
    e = apiError(() => where('meta.location eq "x"'));
    expect(e.detail).toBe('Invalid filter: "meta.location" cannot be used in a filter.');
    e = apiError(() => where('foo eq "x"'));
    expect(e.detail).toBe('Invalid filter: unknown attribute "foo" for resource type User.');
    e = apiError(() => where('userName eq "x"', GROUP_RESOURCE));
    expect(e.detail).toContain('unknown attribute "userName" for resource type Group');
  });

  it("keeps predicates two-valued for not/ne over missing values", () => {
    expect(where('title ne "x"').sql).toBe(
      `(NOT (coalesce(json_type("users"."data", '$.title'), '') IN ('text') AND lower(json_extract("users"."data", '$.title')) = lower(?)))`,
    );
    expect(where("title eq null").sql).toMatch(/^\(NOT \(json_extract\("users"."data", '\$.title'\) >= -9e999 AND CASE json_type/);
  });

  it("flattens long and/or chains instead of nesting them", () => {
    const chain = Array.from({ length: 300 }, (_, i) => `title pr`).join(" or ");
    const q = where(chain);
    let depth = 0;
    let max = 0;
    for (const ch of q.sql) {
      if (ch === "(") max = Math.max(max, ++depth);
      if (ch === ")") depth--;
    }
    expect(max).toBeLessThan(6);
    expect(q.sql.split(" OR ").length).toBe(300);
  });

  it("escapes nothing into LIKE: co/sw/ew use instr/substr", () => {
    const q = where('title co "50%_off"');
    expect(q.sql).not.toMatch(/LIKE/i);
    expect(q.params).toEqual(["50%_off"]);
    expect(where('title ew "é!"').sql).toContain("substr(lower(json_extract(\"users\".\"data\", '$.title')), -2) = lower(?)");
    expect(where('title ew ""').sql).toBe(`(coalesce(json_type("users"."data", '$.title'), '') IN ('text') AND 1)`);
  });
});

describe("compileSort", () => {
  it("defaults to created_at, id", () => {
    expect(order()).toBe('"users"."created_at" ASC, "users"."id" ASC');
    expect(order(undefined, "descending", GROUP_RESOURCE)).toBe('"groups"."created_at" ASC, "groups"."id" ASC');
  });

  it("sorts by promoted columns with a stable tie-break", () => {
    expect(order("userName")).toBe('"users"."user_name_norm" ASC, "users"."created_at" ASC, "users"."id" ASC');
    expect(order("USERNAME", "Descending")).toBe('"users"."user_name_norm" DESC, "users"."created_at" ASC, "users"."id" ASC');
    expect(order("meta.lastModified", "ascending")).toBe('"users"."updated_at" ASC, "users"."created_at" ASC, "users"."id" ASC');
    expect(order("displayName", undefined, GROUP_RESOURCE)).toBe('"groups"."display_name_norm" ASC, "groups"."created_at" ASC, "groups"."id" ASC');
  });

  it("puts missing values last when ascending and first when descending", () => {
    expect(order("name.givenName")).toBe(
      `(nullif(lower(json_extract("users"."data", '$.name.givenName')), '')) IS NULL ASC, nullif(lower(json_extract("users"."data", '$.name.givenName')), '') ASC, "users"."created_at" ASC, "users"."id" ASC`,
    );
    expect(order(`${ENTERPRISE}:department`, "descending")).toMatch(/IS NULL DESC, .* DESC, "users"."created_at" ASC, "users"."id" ASC$/);
  });

  it("sorts multi-valued attributes by the primary (else first) element", () => {
    const sql = order("emails");
    expect(sql).toContain(`(SELECT json_extract(j.value, '$.value') FROM json_each("users"."data", '$.emails') AS j ORDER BY`);
    expect(sql).toContain("json_extract(j.value, '$.primary') IS 1) DESC, j.id LIMIT 1");
    expect(order("emails.type")).toContain("SELECT json_extract(j.value, '$.type')");
  });

  it("rejects bad sortOrder and unknown or unsortable sortBy with invalidValue", () => {
    const cases: [string | undefined, string | undefined, ResourceTypeDef, string][] = [
      ["userName", "up", USER_RESOURCE, 'Invalid sortOrder "up": expected "ascending" or "descending".'],
      ["nope", undefined, USER_RESOURCE, 'Invalid sortBy "nope": unknown attribute "nope" for resource type User.'],
      ["a.b.c", undefined, USER_RESOURCE, "at most one sub-attribute"],
      ["name", undefined, USER_RESOURCE, '"name" is complex; sort by one of its sub-attributes.'],
      ["members", undefined, GROUP_RESOURCE, "members cannot be sorted on"],
      ["groups.value", undefined, USER_RESOURCE, "groups cannot be sorted on"],
      ["meta.location", undefined, USER_RESOURCE, "sort by meta.created or meta.lastModified"],
      ["addresses", undefined, USER_RESOURCE, "is complex"],
    ];
    for (const [sortBy, sortOrder, type, detail] of cases) {
      const e = apiError(() => compileSort(sortBy, sortOrder, type));
      expect(e.scimType).toBe("invalidValue");
      expect(e.detail).toContain(detail);
    }
  });
});

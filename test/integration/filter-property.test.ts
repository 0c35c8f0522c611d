// The SQL compiler agrees with the in-memory evaluator on real D1: for random users and random
// filters, `WHERE tenant_id = ? AND (compileFilter(f))` returns exactly the users `matchesFilter`
// accepts; and `ORDER BY compileSort(...)` orders them as a reference sort does.
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { groupMembers, groups, users } from "../../src/db/tenant/schema";
import type { AttributePath, CompareOperator, Filter, FilterValue } from "../../src/scim/filter/ast";
import { matchesFilter } from "../../src/scim/filter/evaluate";
import { formatPath, parseFilter } from "../../src/scim/filter/parse";
import { compileFilter, compileSort } from "../../src/scim/filter/sql";
import { GROUP_RESOURCE, USER_RESOURCE } from "../../src/scim/schema";
import { foldCase } from "../../src/scim/text";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE = "urn:ietf:params:scim:schemas:core:2.0:User";

const DATES = [
  "2021-05-04T03:02:01.000Z",
  "2022-12-31T23:59:59.999Z",
  "2023-01-01T00:00:00.000Z",
  "2024-02-29T12:00:00.000Z",
  "2024-02-29T12:00:00.001Z",
  "2025-07-01T08:00:00.000Z",
];
const DATE_LITERALS = [...DATES, "2023-01-01", "2024-02-29T14:00:00+02:00", "2024-02-29T12:00:00", "2030-01-01T00:00:00Z", "2000-01-01"];
const GROUP_IDS = ["g1", "g2", "G3"];

// ---------------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------------

/** Small alphabets, so that random literals actually match random values. */
const small = fc.string({ unit: fc.constantFrom("a", "A", "b", "B"), maxLength: 3 });
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
/** Sometimes an explicit JSON null, which must behave like absence. */
const maybeNull = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: optional(arb) }, { weight: 1, arbitrary: fc.constant(null) });

const emailArb = fc.record(
  {
    value: fc.tuple(small, fc.constantFrom("@x.com", "@y.org", "")).map(([a, b]) => a + b),
    type: fc.constantFrom("work", "home", "other", "Work"),
    primary: fc.boolean(),
  },
  { requiredKeys: ["value"] },
);

interface Generated {
  doc: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  groups: string[];
}

const userArb: fc.Arbitrary<Generated> = fc
  .record({
    userName: fc.string({ unit: fc.constantFrom("a", "A", "b", "B", ".", "@"), minLength: 1, maxLength: 5 }),
    externalId: maybeNull(small),
    displayName: maybeNull(small),
    title: maybeNull(small),
    name: optional(fc.record({ givenName: maybeNull(small), familyName: optional(small) }, { requiredKeys: [] })),
    emails: optional(fc.array(emailArb, { maxLength: 3 })),
    // Sometimes missing (a PATCH removed it): read as active on both sides.
    active: optional(fc.boolean()),
    enterprise: optional(
      fc.record({ department: maybeNull(small), manager: optional(fc.record({ value: optional(small) }, { requiredKeys: [] })) }, { requiredKeys: [] }),
    ),
    createdAt: fc.constantFrom(...DATES),
    updatedAt: fc.constantFrom(...DATES),
    groups: fc.subarray(GROUP_IDS),
  })
  .map(({ enterprise, createdAt, updatedAt, groups, ...core }) => {
    const doc: Record<string, unknown> = { schemas: [CORE, ...(enterprise ? [ENTERPRISE] : [])], ...core };
    if (enterprise) doc[ENTERPRISE] = enterprise;
    // What the writer stores is JSON: undefined members simply do not exist.
    return { doc: JSON.parse(JSON.stringify(doc)) as Record<string, unknown>, createdAt, updatedAt, groups };
  });

const usersArb = fc.uniqueArray(userArb, { minLength: 30, maxLength: 50, selector: (u) => foldCase(u.doc.userName as string) });

interface Stored {
  id: string;
  representation: Record<string, unknown>;
  createdAt: string;
}

/** Inserts the users under a fresh tenant; returns the tenant and the client representations. */
async function store(generated: Generated[]): Promise<{ tenant: string; stored: Stored[] }> {
  const db = drizzle(env.TENANT_DEFAULT);
  const tenant = crypto.randomUUID();
  const stored: Stored[] = [];
  const statements = [];
  for (const g of generated) {
    const id = crypto.randomUUID();
    const doc = g.doc;
    const emails = (doc.emails as { value: string; primary?: boolean }[] | undefined) ?? [];
    const email = (emails.find((e) => e.primary) ?? emails[0])?.value.toLowerCase() ?? null;
    statements.push(
      db.insert(users).values({
        tenantId: tenant,
        id,
        userName: doc.userName as string,
        userNameNorm: foldCase(doc.userName as string),
        externalId: (doc.externalId as string | null | undefined) ?? null,
        displayName: (doc.displayName as string | null | undefined) ?? null,
        email,
        active: doc.active !== false,
        data: doc,
        version: 1,
        createdAt: g.createdAt,
        updatedAt: g.updatedAt,
      }),
    );
    for (const groupId of g.groups) {
      statements.push(db.insert(groupMembers).values({ tenantId: tenant, groupId, memberId: id, createdAt: g.createdAt }));
    }
    const representation: Record<string, unknown> = {
      ...doc,
      id,
      meta: { resourceType: "User", created: g.createdAt, lastModified: g.updatedAt },
    };
    if (g.groups.length) representation.groups = g.groups.map((value) => ({ value }));
    stored.push({ id, representation, createdAt: g.createdAt });
  }
  await db.batch(statements as [(typeof statements)[number], ...(typeof statements)[number][]]);
  return { tenant, stored };
}

// ---------------------------------------------------------------------------------------------
// Filters
// ---------------------------------------------------------------------------------------------

const p = (attribute: string, subAttribute?: string, schema?: string): AttributePath => ({
  attribute,
  ...(subAttribute ? { subAttribute } : {}),
  ...(schema ? { schema } : {}),
});

const STRING_PATHS: AttributePath[] = [
  p("userName"),
  p("USERNAME"),
  p("userName", undefined, CORE),
  p("externalId"),
  p("displayName"),
  p("title"),
  p("name", "givenName"),
  p("name", "familyName"),
  p("department", undefined, ENTERPRISE),
  p("manager", "value", ENTERPRISE),
  p("emails", "value"),
  p("emails", "type"),
  p("emails"),
  p("groups", "value"),
  p("groups"),
];
const BOOLEAN_PATHS = [p("active"), p("emails", "primary")];
const DATE_PATHS = [p("meta", "created"), p("meta", "lastModified")];
const COMPLEX_PATHS = [p("name"), p("manager", undefined, ENTERPRISE), p("meta"), p("emails"), p("groups"), p("id")];

const ALL_OPS: CompareOperator[] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];
const stringValue: fc.Arbitrary<FilterValue> = fc.oneof(
  { weight: 5, arbitrary: small },
  { weight: 2, arbitrary: fc.constantFrom("work", "WORK", "home", "@x.com", ".com", "g1", "G3", "g2") },
  { weight: 1, arbitrary: fc.constant(7) }, // an unquoted number compares as text
);
const booleanValue = fc.constantFrom<FilterValue>(true, false, "true", "FALSE");

const compare = (paths: AttributePath[], ops: CompareOperator[], values: fc.Arbitrary<FilterValue>): fc.Arbitrary<Filter> =>
  fc.record({ kind: fc.constant("compare" as const), path: fc.constantFrom(...paths), op: fc.constantFrom(...ops), value: values });
const present = (paths: AttributePath[]): fc.Arbitrary<Filter> => fc.record({ kind: fc.constant("present" as const), path: fc.constantFrom(...paths) });

/** Boolean combinations of `leaf`. */
function combine(leaf: fc.Arbitrary<Filter>): fc.Arbitrary<Filter> {
  return fc.letrec<{ f: Filter }>((tie) => ({
    f: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf,
      fc.record({ kind: fc.constant("and" as const), left: tie("f"), right: tie("f") }),
      fc.record({ kind: fc.constant("or" as const), left: tie("f"), right: tie("f") }),
      fc.record({ kind: fc.constant("not" as const), filter: tie("f") }),
    ),
  })).f;
}

/** A value filter over `path` whose inner filter uses the given sub-attributes. */
function valuePath(path: AttributePath, strings: string[], booleans: string[]): fc.Arbitrary<Filter> {
  const subs = (names: string[]) => names.map((n) => p(n));
  const leaves = [compare(subs(strings), ALL_OPS, stringValue), present(subs([...strings, ...booleans])), compare(subs(strings), ["eq", "ne"], fc.constant(null))];
  if (booleans.length) leaves.push(compare(subs(booleans), ["eq", "ne"], booleanValue));
  return fc.record({ kind: fc.constant("valuePath" as const), path: fc.constant(path), filter: combine(fc.oneof(...leaves)) });
}

const leafArb: fc.Arbitrary<Filter> = fc.oneof(
  { weight: 6, arbitrary: compare(STRING_PATHS, ALL_OPS, stringValue) },
  { weight: 2, arbitrary: compare(BOOLEAN_PATHS, ["eq", "ne"], booleanValue) },
  { weight: 2, arbitrary: compare(DATE_PATHS, ["eq", "ne", "gt", "ge", "lt", "le"], fc.constantFrom(...DATE_LITERALS)) },
  { weight: 1, arbitrary: compare([...STRING_PATHS, ...BOOLEAN_PATHS], ["eq", "ne"], fc.constant(null)) },
  { weight: 1, arbitrary: compare([p("meta", "resourceType")], ["eq", "ne", "sw"], fc.constantFrom("User", "user", "Us")) },
  { weight: 3, arbitrary: present([...STRING_PATHS, ...BOOLEAN_PATHS, ...DATE_PATHS, ...COMPLEX_PATHS]) },
  { weight: 2, arbitrary: valuePath(p("emails"), ["value", "type"], ["primary"]) },
  { weight: 1, arbitrary: valuePath(p("name"), ["givenName", "familyName"], []) },
  { weight: 1, arbitrary: valuePath(p("manager", undefined, ENTERPRISE), ["value"], []) },
  { weight: 1, arbitrary: valuePath(p("groups"), ["value"], []) },
);
const filterArb = combine(leafArb);

/** For failure messages: the filter as text. */
function show(f: Filter): string {
  switch (f.kind) {
    case "compare":
      return `${formatPath(f.path)} ${f.op} ${JSON.stringify(f.value)}`;
    case "present":
      return `${formatPath(f.path)} pr`;
    case "and":
    case "or":
      return `(${show(f.left)} ${f.kind} ${show(f.right)})`;
    case "not":
      return `not (${show(f.filter)})`;
    case "valuePath":
      return `${formatPath(f.path)}[${show(f.filter)}]`;
  }
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe("filter SQL ≡ in-memory evaluation (D1)", () => {
  it("returns exactly the users matchesFilter accepts", async () => {
    const db = drizzle(env.TENANT_DEFAULT);
    let nonTrivial = 0;
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(usersArb, fc.array(filterArb, { minLength: 25, maxLength: 25 }), async (generated, filters) => {
        const { tenant, stored } = await store(generated);
        for (const filter of filters) {
          const expected = stored.filter((s) => matchesFilter(filter, s.representation, USER_RESOURCE)).map((s) => s.id).sort();
          const rows = await db
            .select({ id: users.id })
            .from(users)
            .where(and(eq(users.tenantId, tenant), compileFilter(filter, USER_RESOURCE)));
          const actual = rows.map((r) => r.id).sort();
          expect({ filter: show(filter), ids: actual }).toEqual({ filter: show(filter), ids: expected });
          checked++;
          if (expected.length > 0 && expected.length < stored.length) nonTrivial++;
        }
      }),
      { numRuns: 8 },
    );
    // The generators must produce filters that split the population, or the property proves little.
    expect(checked).toBeGreaterThanOrEqual(200);
    expect(nonTrivial).toBeGreaterThan(checked / 4);
  });

  it("orders by compileSort as the reference sort does", async () => {
    const db = drizzle(env.TENANT_DEFAULT);
    const SORTS = ["userName", "name.givenName", "title", "externalId", "emails", "emails.type", "meta.created", "meta.lastModified", `${ENTERPRISE}:department`, "active", "displayName"];
    await fc.assert(
      fc.asyncProperty(usersArb, fc.array(fc.tuple(fc.constantFrom(...SORTS), fc.constantFrom("ascending", "descending", "DESCENDING", undefined)), { minLength: 6, maxLength: 6 }), async (generated, sorts) => {
        const { tenant, stored } = await store(generated);
        for (const [sortBy, sortOrder] of sorts) {
          const rows = await db.select({ id: users.id }).from(users).where(eq(users.tenantId, tenant)).orderBy(compileSort(sortBy, sortOrder, USER_RESOURCE));
          const expected = referenceSort(stored, sortBy, (sortOrder ?? "ascending").toLowerCase() === "descending");
          expect({ sortBy, sortOrder, ids: rows.map((r) => r.id) }).toEqual({ sortBy, sortOrder, ids: expected });
        }
      }),
      { numRuns: 4 },
    );
  });
});

/** RFC 7644 §3.4.2.3 as this server implements it (see compileSort). */
function referenceSort(stored: Stored[], sortBy: string, descending: boolean): string[] {
  const key = (s: Stored): string | number | undefined => {
    const r = s.representation as Record<string, any>;
    const text = (v: unknown, fold = true) => (typeof v === "string" && v !== "" ? (fold ? v.toLowerCase() : v) : undefined);
    const primaryOrFirst = () => {
      const list = (r.emails ?? []) as Record<string, unknown>[];
      return list.find((e) => e.primary === true) ?? list[0];
    };
    switch (sortBy) {
      case "userName":
        return foldCase(r.userName);
      case "name.givenName":
        return text(r.name?.givenName);
      case "title":
        return text(r.title);
      case "displayName":
        return text(r.displayName);
      case "externalId":
        return text(r.externalId, false);
      case "emails":
        return text(primaryOrFirst()?.value);
      case "emails.type":
        return text(primaryOrFirst()?.type);
      case "meta.created":
        return r.meta.created;
      case "meta.lastModified":
        return r.meta.lastModified;
      case "active":
        return r.active !== false ? 1 : 0;
      default:
        return text(r[ENTERPRISE]?.department);
    }
  };
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  return [...stored]
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      let c = 0;
      if (ka === undefined || kb === undefined) c = ka === kb ? 0 : ka === undefined ? 1 : -1; // missing last …
      else c = cmp(ka, kb);
      if (descending) c = -c; // … and first when descending
      return c || cmp(a.createdAt, b.createdAt) || cmp(a.id, b.id);
    })
    .map((s) => s.id);
}

describe("group filters on D1", () => {
  it("filters groups by displayName, externalId, members and dates", async () => {
    const db = drizzle(env.TENANT_DEFAULT);
    const tenant = crypto.randomUUID();
    const [eng, ops, empty] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const [u1, u2] = ["user-" + crypto.randomUUID(), "user-" + crypto.randomUUID()];
    const group = (id: string, displayName: string, externalId: string | null, createdAt: string) =>
      db.insert(groups).values({ tenantId: tenant, id, displayName, displayNameNorm: foldCase(displayName), externalId, data: { displayName }, createdAt, updatedAt: createdAt });
    const member = (groupId: string, memberId: string) => db.insert(groupMembers).values({ tenantId: tenant, groupId, memberId, createdAt: DATES[0] });
    await db.batch([
      group(eng, "Engineering", "E-1", DATES[1]),
      group(ops, "Ops Team", null, DATES[3]),
      group(empty, "Empty", "e-1", DATES[5]),
      member(eng, u1),
      member(eng, u2),
      member(ops, u2),
    ]);
    const names: Record<string, string> = { [eng]: "Engineering", [ops]: "Ops Team", [empty]: "Empty" };
    const select = async (filter: string) => {
      const rows = await db
        .select({ id: groups.id })
        .from(groups)
        .where(and(eq(groups.tenantId, tenant), compileFilter(parseFilter(filter), GROUP_RESOURCE)))
        .orderBy(compileSort("displayName", "ascending", GROUP_RESOURCE));
      return rows.map((r) => names[r.id]);
    };
    expect(await select('displayName eq "engineering"')).toEqual(["Engineering"]);
    expect(await select('displayName sw "E"')).toEqual(["Empty", "Engineering"]);
    expect(await select('externalId eq "E-1"')).toEqual(["Engineering"]); // caseExact
    expect(await select("externalId pr")).toEqual(["Empty", "Engineering"]);
    expect(await select(`members.value eq "${u2}"`)).toEqual(["Engineering", "Ops Team"]);
    expect(await select(`members eq "${u1}"`)).toEqual(["Engineering"]);
    expect(await select(`members eq "${u1.toUpperCase()}"`)).toEqual([]); // members.value is caseExact
    expect(await select(`members[value eq "${u1}" or value eq "nobody"] and displayName co "ring"`)).toEqual(["Engineering"]);
    expect(await select("members pr")).toEqual(["Engineering", "Ops Team"]);
    expect(await select("not (members pr)")).toEqual(["Empty"]);
    expect(await select(`members ne "${u1}"`)).toEqual(["Empty", "Ops Team"]);
    expect(await select(`meta.created ge "${DATES[3]}"`)).toEqual(["Empty", "Ops Team"]);
    expect(await select('meta.resourceType eq "Group"')).toEqual(["Empty", "Engineering", "Ops Team"]);

    // A user's `groups` is the same membership seen from the member side.
    await db.insert(users).values({ tenantId: tenant, id: u1, userName: "u1", userNameNorm: "u1", data: { userName: "u1" }, createdAt: DATES[0], updatedAt: DATES[0] });
    const usersWhere = async (filter: string) =>
      (await db.select({ id: users.id }).from(users).where(and(eq(users.tenantId, tenant), compileFilter(parseFilter(filter), USER_RESOURCE)))).map((r) => r.id);
    expect(await usersWhere(`groups.value eq "${eng.toUpperCase()}"`)).toEqual([u1]); // groups.value is not caseExact
    expect(await usersWhere(`groups eq "${ops}"`)).toEqual([]);
    expect(await usersWhere("groups pr")).toEqual([u1]);
    expect(await usersWhere(`not (groups[value eq "${eng}"])`)).toEqual([]);
  });
});

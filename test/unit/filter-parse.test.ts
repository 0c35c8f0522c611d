import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/scim/errors";
import type { AttributePath, CompareOperator, Filter, FilterValue } from "../../src/scim/filter/ast";
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, formatPath, parseAttributePath, parseFilter } from "../../src/scim/filter/parse";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";

const cmp = (attribute: string, op: CompareOperator, value: FilterValue, extra: Partial<AttributePath> = {}): Filter => ({
  kind: "compare",
  path: { attribute, ...extra },
  op,
  value,
});
const pr = (attribute: string): Filter => ({ kind: "present", path: { attribute } });
const and = (left: Filter, right: Filter): Filter => ({ kind: "and", left, right });
const or = (left: Filter, right: Filter): Filter => ({ kind: "or", left, right });
const not = (filter: Filter): Filter => ({ kind: "not", filter });

/** Parses and expects a 400 invalidFilter; returns the detail. */
function parseError(text: string): string {
  try {
    parseFilter(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    const e = error as ApiError;
    expect(e.status).toBe(400);
    expect(e.scimType).toBe("invalidFilter");
    expect(e.detail).toMatch(/^Invalid filter: /);
    return e.detail;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parseFilter: comparisons", () => {
  it.each(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] as const)("parses %s", (op) => {
    expect(parseFilter(`title ${op} "x"`)).toEqual(cmp("title", op, "x"));
  });

  it("parses pr", () => {
    expect(parseFilter("title pr")).toEqual(pr("title"));
  });

  it("accepts operators and keywords in any case, and keeps the attribute's spelling", () => {
    expect(parseFilter('UserName EQ "x"')).toEqual(cmp("UserName", "eq", "x"));
    expect(parseFilter('a Eq "1" AnD b pR OR NOT (c sW "z")')).toEqual(or(and(cmp("a", "eq", "1"), pr("b")), not(cmp("c", "sw", "z"))));
  });

  it("parses Okta's forms", () => {
    expect(parseFilter('userName eq "a@b.com"')).toEqual(cmp("userName", "eq", "a@b.com"));
    expect(parseFilter('displayName eq "Engineering"')).toEqual(cmp("displayName", "eq", "Engineering"));
  });

  it("parses literals: strings, numbers, booleans, null", () => {
    expect(parseFilter("active eq true")).toEqual(cmp("active", "eq", true));
    expect(parseFilter("active eq FALSE")).toEqual(cmp("active", "eq", false));
    expect(parseFilter("title eq null")).toEqual(cmp("title", "eq", null));
    expect(parseFilter("n gt 42")).toEqual(cmp("n", "gt", 42));
    expect(parseFilter("n gt -1.5e3")).toEqual(cmp("n", "gt", -1500));
    expect(parseFilter('n eq "42"')).toEqual(cmp("n", "eq", "42"));
  });

  it("decodes JSON string escapes", () => {
    expect(parseFilter(String.raw`title eq "a\"b\\c\u00e9\/\n\t"`)).toEqual(cmp("title", "eq", 'a"b\\cé/\n\t'));
    expect(parseFilter(String.raw`title eq "\ud83d\ude00"`)).toEqual(cmp("title", "eq", "😀"));
    expect(parseFilter('title eq ""')).toEqual(cmp("title", "eq", ""));
    expect(parseFilter('title eq "a ) or ( b"')).toEqual(cmp("title", "eq", "a ) or ( b"));
  });

  it("tolerates extra whitespace (including tabs/newlines) and no space before a quote", () => {
    expect(parseFilter('  userName   eq\t"x"  ')).toEqual(cmp("userName", "eq", "x"));
    expect(parseFilter('userName eq"x"')).toEqual(cmp("userName", "eq", "x"));
    expect(parseFilter('(userName eq "x")or(title pr)')).toEqual(or(cmp("userName", "eq", "x"), pr("title")));
  });
});

describe("parseFilter: Entra ID forms", () => {
  it("reads unquoted values as strings", () => {
    expect(parseFilter("externalId eq jyoung")).toEqual(cmp("externalId", "eq", "jyoung"));
    expect(parseFilter("userName eq a@b.com")).toEqual(cmp("userName", "eq", "a@b.com"));
    expect(parseFilter("(userName eq a@b.com) and active eq True")).toEqual(and(cmp("userName", "eq", "a@b.com"), cmp("active", "eq", true)));
    expect(parseFilter("emails[value eq a@b.com]")).toEqual({ kind: "valuePath", path: { attribute: "emails" }, filter: cmp("value", "eq", "a@b.com") });
  });

  it("reads an unquoted number as a number and quoted externalIds as strings", () => {
    expect(parseFilter("externalId eq 12345")).toEqual(cmp("externalId", "eq", 12345));
    expect(parseFilter('externalId eq "0f3a-77"')).toEqual(cmp("externalId", "eq", "0f3a-77"));
    expect(parseFilter("externalId eq 007")).toEqual(cmp("externalId", "eq", "007"));
  });

  it('folds emails[type eq "work"].value eq "x" into the value filter', () => {
    expect(parseFilter('emails[type eq "work"].value eq "a@x"')).toEqual({
      kind: "valuePath",
      path: { attribute: "emails" },
      filter: and(cmp("type", "eq", "work"), cmp("value", "eq", "a@x")),
    });
    expect(parseFilter('emails[type eq "work"].value pr')).toEqual({
      kind: "valuePath",
      path: { attribute: "emails" },
      filter: and(cmp("type", "eq", "work"), pr("value")),
    });
    expect(parseFilter('emails[type eq work].value CO x.com or userName eq u')).toEqual(
      or(
        { kind: "valuePath", path: { attribute: "emails" }, filter: and(cmp("type", "eq", "work"), cmp("value", "co", "x.com")) },
        cmp("userName", "eq", "u"),
      ),
    );
  });

  it("explains that values with spaces must be quoted", () => {
    const detail = parseError("displayName eq John Smith");
    expect(detail).toContain('expected "and", "or" or the end of the filter');
    expect(detail).toContain("must be quoted");
    expect(detail).toContain('position 21, found "Smith"');
  });
});

describe("parseFilter: precedence, grouping, not", () => {
  it("binds and tighter than or", () => {
    const a = cmp("a", "eq", "1");
    const b = cmp("b", "eq", "2");
    const c = cmp("c", "eq", "3");
    expect(parseFilter('a eq "1" or b eq "2" and c eq "3"')).toEqual(or(a, and(b, c)));
    expect(parseFilter('a eq "1" and b eq "2" or c eq "3"')).toEqual(or(and(a, b), c));
    expect(parseFilter('a eq "1" and (b eq "2" or c eq "3")')).toEqual(and(a, or(b, c)));
  });

  it("chains left-associatively", () => {
    expect(parseFilter("a pr or b pr or c pr")).toEqual(or(or(pr("a"), pr("b")), pr("c")));
    expect(parseFilter("a pr and b pr and c pr")).toEqual(and(and(pr("a"), pr("b")), pr("c")));
  });

  it("parses not with and without a space before the parenthesis", () => {
    expect(parseFilter("not (a pr)")).toEqual(not(pr("a")));
    expect(parseFilter("not(a pr) and b pr")).toEqual(and(not(pr("a")), pr("b")));
    expect(parseFilter("not (not (a pr or b pr))")).toEqual(not(not(or(pr("a"), pr("b")))));
    expect(parseFilter("((a pr))")).toEqual(pr("a"));
  });

  it("does not take attribute names starting with a keyword for the keyword", () => {
    expect(parseFilter("notes pr or orders pr and andy pr")).toEqual(or(pr("notes"), and(pr("orders"), pr("andy"))));
  });
});

describe("parseFilter: paths", () => {
  it("parses sub-attributes", () => {
    expect(parseFilter('name.givenName eq "Ann"')).toEqual(cmp("name", "eq", "Ann", { subAttribute: "givenName" }));
  });

  it("splits URN-qualified paths at the last colon", () => {
    expect(parseFilter(`${ENTERPRISE}:manager.value eq "m1"`)).toEqual(cmp("manager", "eq", "m1", { schema: ENTERPRISE, subAttribute: "value" }));
    expect(parseFilter(`${ENTERPRISE}:department eq "R&D"`)).toEqual(cmp("department", "eq", "R&D", { schema: ENTERPRISE }));
    expect(parseFilter(`${CORE_USER}:userName eq "x"`)).toEqual(cmp("userName", "eq", "x", { schema: CORE_USER }));
    expect(parseFilter(`${CORE_USER}:name.familyName pr`)).toEqual({ kind: "present", path: { schema: CORE_USER, attribute: "name", subAttribute: "familyName" } });
  });

  it("parses value paths with complex inner filters", () => {
    expect(parseFilter('emails[type eq "work" and value co "@x.com"]')).toEqual({
      kind: "valuePath",
      path: { attribute: "emails" },
      filter: and(cmp("type", "eq", "work"), cmp("value", "co", "@x.com")),
    });
    expect(parseFilter('emails[not (type eq "home") or primary eq true] and userName sw "a"')).toEqual(
      and(
        { kind: "valuePath", path: { attribute: "emails" }, filter: or(not(cmp("type", "eq", "home")), cmp("primary", "eq", true)) },
        cmp("userName", "sw", "a"),
      ),
    );
  });

  it("accepts $ref as a name", () => {
    expect(parseFilter('members[$ref pr]')).toEqual({ kind: "valuePath", path: { attribute: "members" }, filter: pr("$ref") });
  });

  it("parseAttributePath and formatPath round-trip", () => {
    for (const text of ["userName", "name.givenName", `${ENTERPRISE}:manager.value`, `${CORE_USER}:emails`]) {
      expect(formatPath(parseAttributePath(text))).toBe(text);
    }
    expect(() => parseAttributePath("a.b.c")).toThrow(/at most one sub-attribute/);
  });
});

describe("parseFilter: errors (positions are 1-based)", () => {
  it("names the missing operator and where", () => {
    const detail = parseError("userName");
    expect(detail).toBe(
      'Invalid filter: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "userName" at position 9, found the end of the filter.',
    );
    expect(parseError('userName xx "a"')).toContain('after "userName" at position 10, found "xx"');
    expect(parseError('userName equals "a"')).toContain('at position 10, found "equals"');
  });

  it("rejects a missing value", () => {
    expect(parseError("userName eq")).toContain('expected a value (a quoted string, a number, true, false or null) after "eq" at position 12');
    expect(parseError("(userName eq )")).toContain("expected a value");
  });

  it("rejects empty and blank filters", () => {
    expect(parseError("")).toContain("expected an attribute path");
    expect(parseError("   ")).toContain("position 1");
  });

  it("rejects unbalanced quotes", () => {
    expect(parseError('userName eq "abc')).toBe(
      "Invalid filter: expected a closing '\"' for the string starting at position 13, found the end of the filter.",
    );
    expect(parseError('userName eq "a\\"')).toContain("expected a closing");
  });

  it("rejects unbalanced parentheses and brackets", () => {
    expect(parseError('(userName eq "a"')).toContain('expected "and", "or" or ")" (closing the "(" at position 1) at position 17, found the end of the filter');
    expect(parseError('userName eq "a")')).toContain('expected "and", "or" or the end of the filter at position 16, found ")"');
    expect(parseError('emails[type eq "work"')).toContain('expected "and", "or" or "]" (closing the "[" at position 7) at position 22');
    expect(parseError('emails type eq "work"]')).toContain("expected a comparison operator");
    expect(parseError("()")).toContain('expected an attribute path, "(" or "not" at position 2, found ")"');
  });

  it("rejects dangling and/or/not", () => {
    expect(parseError('userName eq "a" and')).toContain('expected an attribute path, "(" or "not" at position 20, found the end of the filter');
    expect(parseError('or userName eq "a"')).toContain("expected a comparison operator");
    expect(parseError('not userName eq "a"')).toContain('expected "(" after "not" at position 5');
  });

  it("rejects invalid escapes", () => {
    expect(parseError(String.raw`title eq "a\q"`)).toContain("expected a valid escape");
    expect(parseError(String.raw`title eq "\u12"`)).toContain("at position 11");
  });

  it("rejects nested value filters and filters on sub-attributes", () => {
    expect(parseError('emails[type[value eq "x"] pr]')).toContain("value filters cannot be nested");
    expect(parseError('name.givenName[value eq "x"]')).toContain("not to the sub-attribute");
  });

  it("rejects malformed paths", () => {
    expect(parseError('a.b.c eq "x"')).toContain("at most one sub-attribute");
    expect(parseError('foo:bar eq "x"')).toContain('must start with "urn:"');
    expect(parseError(`${ENTERPRISE}: eq "x"`)).toContain("expected an attribute name after the schema URN");
    expect(parseError('1abc eq "x"')).toContain('"1abc" is not a valid attribute name');
  });

  it("rejects SQL injection attempts as syntax errors", () => {
    expect(parseError('"; DROP TABLE users; --')).toContain('expected an attribute path, "(" or "not" at position 1');
    expect(parseError('userName eq "x"; DROP TABLE users; --')).toContain('expected "and", "or" or the end of the filter at position 16');
    expect(parseError("userName eq x' OR '1'='1")).toContain("expected");
    // Inside a quoted string it is just a value.
    expect(parseFilter('userName eq "x\\"; DROP TABLE users; --"')).toEqual(cmp("userName", "eq", 'x"; DROP TABLE users; --'));
  });
});

describe("parseFilter: limits", () => {
  it("rejects filters longer than the limit without parsing them", () => {
    const long = `userName eq "${"a".repeat(10_000)}"`;
    expect(parseError(long)).toBe(`Invalid filter: the filter is ${long.length} characters long; at most ${MAX_FILTER_LENGTH} are allowed.`);
    const justUnder = `userName eq "${"a".repeat(MAX_FILTER_LENGTH - 14)}"`;
    expect(justUnder.length).toBe(MAX_FILTER_LENGTH);
    expect(parseFilter(justUnder)).toEqual(cmp("userName", "eq", "a".repeat(MAX_FILTER_LENGTH - 14)));
  });

  it("rejects 1000 nested parentheses with a 400, not a stack overflow", () => {
    const deep = "(".repeat(1000) + "a pr" + ")".repeat(1000);
    expect(parseError(deep)).toBe(`Invalid filter: nesting is deeper than ${MAX_FILTER_DEPTH} levels of parentheses/brackets at position 33.`);
    expect(parseError("not (".repeat(500) + "a pr" + ")".repeat(500))).toContain("nesting is deeper than 32");
  });

  it("accepts nesting up to the limit", () => {
    const ok = "(".repeat(MAX_FILTER_DEPTH) + "a pr" + ")".repeat(MAX_FILTER_DEPTH);
    expect(parseFilter(ok)).toEqual(pr("a"));
    const deepValuePath = "(".repeat(MAX_FILTER_DEPTH - 1) + 'emails[type eq "w"]' + ")".repeat(MAX_FILTER_DEPTH - 1);
    expect(parseFilter(deepValuePath).kind).toBe("valuePath");
    expect(parseError("(".repeat(MAX_FILTER_DEPTH) + 'emails[type eq "w"]' + ")".repeat(MAX_FILTER_DEPTH))).toContain("nesting");
  });

  it("parses a long flat chain without recursion trouble", () => {
    const chain = Array.from({ length: 350 }, (_, i) => `a${i} pr`).join(" or ");
    expect(chain.length).toBeLessThanOrEqual(MAX_FILTER_LENGTH);
    let f = parseFilter(chain);
    let n = 1;
    while (f.kind === "or") {
      expect(f.right).toEqual(pr(`a${350 - n}`));
      f = f.left;
      n++;
    }
    expect(n).toBe(350);
  });

  it("never throws anything but a 400 invalidFilter on arbitrary input", () => {
    const alphabet = fc.constantFrom(..."ab ()[]\".\\:eqorandtpnu0-1".split(""), " eq ", " and ", " or ", "not ", "urn:", "[", "]");
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 60 }).map((parts) => parts.join("")), (text) => {
        try {
          parseFilter(text);
        } catch (error) {
          expect(error).toBeInstanceOf(ApiError);
          expect((error as ApiError).status).toBe(400);
          expect((error as ApiError).scimType).toBe("invalidFilter");
          expect((error as ApiError).detail).toMatch(/expected|nesting|cannot|not a valid|sub-attribute/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

// -------------------------------------------------------------------------------------------------
// Round trip: any AST, printed in canonical form (with random keyword case and spacing), parses back.
// -------------------------------------------------------------------------------------------------

const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,6}$/).filter((s) => !["and", "or", "not"].includes(s.toLowerCase()));
const pathArb: fc.Arbitrary<AttributePath> = fc.record(
  { schema: fc.constantFrom(ENTERPRISE, CORE_USER), attribute: name, subAttribute: name },
  { requiredKeys: ["attribute"] },
);
const valueArb: fc.Arbitrary<FilterValue> = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)));
const opArb = fc.constantFrom<CompareOperator>("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le");

const { filter: filterArb } = fc.letrec<{ filter: Filter; leaf: Filter; inner: Filter; innerLeaf: Filter }>((tie) => ({
  leaf: fc.oneof(
    fc.record({ kind: fc.constant("compare" as const), path: pathArb, op: opArb, value: valueArb }),
    fc.record({ kind: fc.constant("present" as const), path: pathArb }),
    fc.record({ kind: fc.constant("valuePath" as const), path: fc.record({ attribute: name }), filter: tie("inner") }),
  ),
  innerLeaf: fc.oneof(
    fc.record({ kind: fc.constant("compare" as const), path: fc.record({ attribute: name }), op: opArb, value: valueArb }),
    fc.record({ kind: fc.constant("present" as const), path: fc.record({ attribute: name }) }),
  ),
  inner: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("innerLeaf"),
    fc.record({ kind: fc.constant("and" as const), left: tie("inner"), right: tie("inner") }),
    fc.record({ kind: fc.constant("or" as const), left: tie("inner"), right: tie("inner") }),
    fc.record({ kind: fc.constant("not" as const), filter: tie("inner") }),
  ),
  filter: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("leaf"),
    fc.record({ kind: fc.constant("and" as const), left: tie("filter"), right: tie("filter") }),
    fc.record({ kind: fc.constant("or" as const), left: tie("filter"), right: tie("filter") }),
    fc.record({ kind: fc.constant("not" as const), filter: tie("filter") }),
  ),
}));

function print(f: Filter, upper: boolean): string {
  const kw = (k: string) => (upper ? k.toUpperCase() : k);
  switch (f.kind) {
    case "compare":
      return `${formatPath(f.path)} ${kw(f.op)} ${JSON.stringify(f.value)}`;
    case "present":
      return `${formatPath(f.path)} ${kw("pr")}`;
    case "and":
    case "or":
      // Parenthesise both sides: the printer need not know precedence.
      return `(${print(f.left, upper)}) ${kw(f.kind)} (${print(f.right, upper)})`;
    case "not":
      return `${kw("not")} (${print(f.filter, upper)})`;
    case "valuePath":
      return `${formatPath(f.path)}[${print(f.filter, upper)}]`;
  }
}

describe("parseFilter: round trip", () => {
  it("parses the printed form of any AST back to the same AST", () => {
    fc.assert(
      fc.property(filterArb, fc.boolean(), (filter, upper) => {
        const text = print(filter, upper);
        fc.pre(text.length <= MAX_FILTER_LENGTH && !/\({33}/.test(text));
        try {
          expect(parseFilter(text)).toEqual(filter);
        } catch (error) {
          // Deep random trees may exceed the nesting limit; that must be the only failure.
          expect((error as ApiError).detail).toContain("nesting is deeper than");
        }
      }),
      { numRuns: 500 },
    );
  });
});

// Malformed filters are 400 invalidFilter, never a 200 that silently matches nothing, and no text
// whatever makes the parser or the SQL compiler fail any other way (issue 23 §7).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/scim/errors";
import { parseFilter } from "../../src/scim/filter/parse";
import { compileFilter } from "../../src/scim/filter/sql";
import { GROUP_RESOURCE, USER_RESOURCE } from "../../src/scim/schema";

function outcome(text: string, type = USER_RESOURCE): "ok" | "invalidFilter" {
  try {
    compileFilter(parseFilter(text), type);
    return "ok";
  } catch (error) {
    expect(error, text).toBeInstanceOf(ApiError);
    expect((error as ApiError).status, text).toBe(400);
    expect((error as ApiError).scimType, text).toBe("invalidFilter");
    return "invalidFilter";
  }
}

describe("malformed filters", () => {
  it("values that could only match nothing are refused, saying why", () => {
    for (const text of [`userName eq 'a'`, `userName eq 'a b'`, `displayName eq {}`, `userName eq 1e999`, `userName gt -1e400`, `emails[value eq 'x']`]) {
      expect(outcome(text), text).toBe("invalidFilter");
    }
    expect(() => parseFilter(`userName eq 'a'`)).toThrow(/double quotes/);
    expect(() => parseFilter(`userName eq 1e999`)).toThrow(/within/);
  });

  it("the documented leniencies still parse: Entra's bare words, apostrophes inside words, big finite numbers", () => {
    for (const text of [`externalId eq jyoung`, `userName eq a@b.com`, `displayName eq O'Brien`, `externalId eq 1e300`, `userName eq 1.2.3`]) {
      expect(outcome(text), text).toBe("ok");
    }
  });

  it("any text built from filter tokens either compiles or is 400 invalidFilter, for Users and Groups", () => {
    const token = fc.constantFrom(
      "userName", "displayName", "emails", "emails.value", "members", "meta.lastModified", "name.givenName", "active", "id",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
      "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "and", "or", "not",
      "(", ")", "[", "]", ".", '"a"', '"2024-01-01T00:00:00Z"', "'a'", "1", "1e999", "-0", "true", "null", "{}", "\\", '"', " ",
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 12 }), fc.boolean(), (tokens, spaced) => {
        const text = tokens.join(spaced ? " " : "");
        outcome(text, USER_RESOURCE);
        outcome(text, GROUP_RESOURCE);
      }),
      { numRuns: 3000 },
    );
  });
});

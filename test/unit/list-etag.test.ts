import { describe, expect, it } from "vitest";
import { etagOf, ifMatchAllows, versionsIn } from "../../src/scim/etag";
import { DEFAULT_PAGE_SIZE, listResponse, MAX_PAGE_SIZE, parseListParams } from "../../src/scim/list";

describe("parseListParams", () => {
  it("defaults, clamps and matches names case-insensitively", () => {
    expect(parseListParams({})).toMatchObject({ startIndex: 1, count: DEFAULT_PAGE_SIZE });
    expect(parseListParams({ STARTINDEX: "0", Count: "-5" })).toMatchObject({ startIndex: 1, count: 0 });
    expect(parseListParams({ count: String(MAX_PAGE_SIZE * 10) }).count).toBe(MAX_PAGE_SIZE);
    expect(parseListParams({ startIndex: 3, count: 7 })).toMatchObject({ startIndex: 3, count: 7 });
    expect(parseListParams({ attributes: "userName, name.givenName", excludedAttributes: ["emails", "meta"] })).toMatchObject({
      attributes: ["userName", "name.givenName"],
      excludedAttributes: ["emails", "meta"],
    });
    expect(() => parseListParams({ count: "ten" })).toThrow(/count/);
  });

  it("builds a ListResponse with integer fields", () => {
    expect(listResponse([{ id: "a" }], 5, 2)).toEqual({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 5, startIndex: 2, itemsPerPage: 1, Resources: [{ id: "a" }] });
  });
});

describe("ETags", () => {
  it("are weak, from the version, and If-Match accepts weak, strong, lists and *", () => {
    expect(etagOf(4)).toBe('W/"4"');
    expect(versionsIn('W/"3", "4"')).toEqual([3, 4]);
    expect(ifMatchAllows(undefined, 1)).toBe(true);
    expect(ifMatchAllows("*", 9)).toBe(true);
    expect(ifMatchAllows('W/"2"', 2)).toBe(true);
    expect(ifMatchAllows('"2"', 3)).toBe(false);
    expect(ifMatchAllows("garbage", 1)).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { executionOrder, parseBulkRequest, referencedBulkIds, resolveBulkIds, type BulkOperation } from "../../src/scim/bulk";
import { ApiError } from "../../src/scim/errors";

const post = (bulkId: string, data: Record<string, unknown> = {}, path = "/Users"): BulkOperation => ({ method: "POST", path, bulkId, data });

describe("parseBulkRequest", () => {
  it("reads operations with case-insensitive keys and upper-cases methods", () => {
    expect(parseBulkRequest({ operations: [{ Method: "post", PATH: "/Users", bulkId: "a", data: { userName: "x" } }], failOnErrors: 2 })).toEqual({
      failOnErrors: 2,
      operations: [{ method: "POST", path: "/Users", bulkId: "a", data: { userName: "x" } }],
    });
  });

  it("refuses malformed requests with 400 and too many operations with 413 tooMany", () => {
    const bad = [{}, { Operations: [{ method: "GET", path: "/Users" }] }, { Operations: [{ method: "POST", path: "/Users", data: {} }] }, { Operations: [post("a"), post("a")] }, { Operations: [], failOnErrors: 0 }];
    for (const body of bad) expect(() => parseBulkRequest(body as Record<string, unknown>)).toThrow(ApiError);
    try {
      parseBulkRequest({ Operations: Array.from({ length: 1001 }, () => ({ method: "DELETE", path: "/Users/x" })) });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ status: 413, scimType: "tooMany" });
    }
  });
});

describe("bulkId references", () => {
  it("finds references in paths and nested data, and resolves them", () => {
    const op: BulkOperation = { method: "PATCH", path: "/Groups/bulkId:g", data: { Operations: [{ op: "add", path: "members", value: [{ value: "bulkId:u" }, { value: "plain" }] }] } };
    expect(referencedBulkIds(op).sort()).toEqual(["g", "u"]);
    expect(resolveBulkIds(op, new Map([["g", "G1"], ["u", "U1"]]))).toEqual({
      method: "PATCH",
      path: "/Groups/G1",
      data: { Operations: [{ op: "add", path: "members", value: [{ value: "U1" }, { value: "plain" }] }] },
    });
  });

  it("orders operations after the ones they reference and reports cycles and unknown ids", () => {
    const ops = [post("g", { members: [{ value: "bulkId:u" }] }, "/Groups"), post("u"), post("c1", { x: "bulkId:c2" }), post("c2", { x: "bulkId:c1" }), post("z", { x: "bulkId:missing" })];
    const { order, unresolvable } = executionOrder(ops);
    expect(order).toEqual([1, 0]);
    expect([...unresolvable.keys()].sort()).toEqual([2, 3, 4]);
    expect(unresolvable.get(4)).toContain("'missing'");
    expect(unresolvable.get(2)).toContain("circular");
  });
});

/**
 * /Bulk (RFC 7644 §3.7): the request envelope and `bulkId` references, pure. Execution lives in the
 * route, which runs each operation through the same services as the single-resource endpoints.
 */
import { ApiError, badRequest } from "./errors";
import { fieldOf } from "./json";
import { BULK_MAX_OPERATIONS, MAX_BODY_BYTES } from "./limits";

export type BulkMethod = "POST" | "PUT" | "PATCH" | "DELETE";

export interface BulkOperation {
  method: BulkMethod;
  bulkId?: string;
  version?: string;
  path: string;
  data?: Record<string, unknown>;
}

export interface BulkRequest {
  failOnErrors?: number;
  operations: BulkOperation[];
}

const METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function parseBulkRequest(body: Record<string, unknown>): BulkRequest {
  const operations = fieldOf(body, "Operations");
  if (!Array.isArray(operations)) throw badRequest("invalidSyntax", "A BulkRequest needs an 'Operations' array.");
  if (operations.length > BULK_MAX_OPERATIONS) {
    // RFC 7644 §3.7.4: over maxOperations is a 413; scimType says which limit.
    throw new ApiError(413, `The bulk request has ${operations.length} operations; the maximum is ${BULK_MAX_OPERATIONS} (see /ServiceProviderConfig bulk.maxOperations).`, { scimType: "tooMany" });
  }
  const failOnErrors = fieldOf(body, "failOnErrors");
  if (failOnErrors !== undefined && (typeof failOnErrors !== "number" || !Number.isInteger(failOnErrors) || failOnErrors < 1)) {
    throw badRequest("invalidValue", "'failOnErrors' must be a positive integer.");
  }
  const seen = new Set<string>();
  const parsed = operations.map((raw, index): BulkOperation => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw badRequest("invalidSyntax", `Operations[${index}] must be an object.`);
    const op = raw as Record<string, unknown>;
    const method = String(fieldOf(op, "method") ?? "").toUpperCase();
    if (!METHODS.has(method)) throw badRequest("invalidSyntax", `Operations[${index}].method must be POST, PUT, PATCH or DELETE.`);
    const path = fieldOf(op, "path");
    if (typeof path !== "string" || !path.startsWith("/")) throw badRequest("invalidSyntax", `Operations[${index}].path must be a resource path such as "/Users" or "/Groups/{id}".`);
    const bulkId = fieldOf(op, "bulkId");
    if (bulkId !== undefined && (typeof bulkId !== "string" || !bulkId)) throw badRequest("invalidSyntax", `Operations[${index}].bulkId must be a non-empty string.`);
    if (method === "POST" && bulkId === undefined) throw badRequest("invalidSyntax", `Operations[${index}]: a POST needs a bulkId.`);
    if (typeof bulkId === "string") {
      if (seen.has(bulkId)) throw badRequest("invalidSyntax", `Operations[${index}]: bulkId '${bulkId}' is used twice.`);
      seen.add(bulkId);
    }
    const data = fieldOf(op, "data");
    if (method !== "DELETE" && (typeof data !== "object" || data === null || Array.isArray(data))) {
      throw badRequest("invalidSyntax", `Operations[${index}].data must be an object for ${method}.`);
    }
    const version = fieldOf(op, "version");
    return {
      method: method as BulkMethod,
      path,
      ...(typeof bulkId === "string" ? { bulkId } : {}),
      ...(typeof version === "string" ? { version } : {}),
      ...(method !== "DELETE" ? { data: data as Record<string, unknown> } : {}),
    };
  });
  return { operations: parsed, ...(typeof failOnErrors === "number" ? { failOnErrors } : {}) };
}

const REFERENCE = /^bulkId:(.+)$/;

/** Every `bulkId:x` an operation refers to, in its path or anywhere in its data. */
export function referencedBulkIds(operation: BulkOperation): string[] {
  const found = new Set<string>();
  const visit = (value: unknown) => {
    if (typeof value === "string") {
      const match = REFERENCE.exec(value);
      if (match) found.add(match[1]);
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === "object" && value !== null) Object.values(value).forEach(visit);
  };
  for (const segment of operation.path.split("/")) visit(segment);
  visit(operation.data);
  return [...found];
}

/** The operation with every `bulkId:x` replaced by the id the operation with bulkId x created. */
export function resolveBulkIds(operation: BulkOperation, ids: Map<string, string>): BulkOperation {
  const swap = (value: unknown): unknown => {
    if (typeof value === "string") {
      const match = REFERENCE.exec(value);
      return match && ids.has(match[1]) ? ids.get(match[1]) : value;
    }
    if (Array.isArray(value)) return value.map(swap);
    if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, swap(v)]));
    return value;
  };
  return {
    ...operation,
    path: operation.path.split("/").map((segment) => swap(segment) as string).join("/"),
    ...(operation.data ? { data: swap(operation.data) as Record<string, unknown> } : {}),
  };
}

/**
 * The order to run operations in: as given, except that an operation waits for the operations
 * whose bulkIds it references (RFC 7644 §3.7.2 lets a client reference one defined later).
 * Operations in a reference cycle, or referring to an unknown bulkId, come back in `unresolvable`.
 */
export function executionOrder(operations: BulkOperation[]): { order: number[]; unresolvable: Map<number, string> } {
  const byBulkId = new Map<string, number>();
  operations.forEach((op, i) => op.bulkId && byBulkId.set(op.bulkId, i));
  const order: number[] = [];
  const unresolvable = new Map<number, string>();
  const state = new Map<number, "visiting" | "done">();
  const visit = (i: number): boolean => {
    if (state.get(i) === "done") return !unresolvable.has(i);
    if (state.get(i) === "visiting") return false;
    state.set(i, "visiting");
    for (const ref of referencedBulkIds(operations[i])) {
      const target = byBulkId.get(ref);
      if (target === undefined) {
        unresolvable.set(i, `bulkId '${ref}' is not defined by any operation in this request.`);
      } else if (target === i || !visit(target)) {
        unresolvable.set(i, unresolvable.get(target) ?? `bulkId '${ref}' is part of a circular reference.`);
      }
    }
    state.set(i, "done");
    if (!unresolvable.has(i)) order.push(i);
    return !unresolvable.has(i);
  };
  operations.forEach((_, i) => visit(i));
  return { order, unresolvable };
}

/**
 * An operation's `data` over the size its own endpoint accepts (1 MB; a group write's PUT or PATCH
 * takes up to the Bulk's own limit, as `PUT`/`PATCH /Groups/{id}` do): refused alone with 413, so a
 * Bulk never writes what the single-resource endpoint would have refused.
 */
export function operationTooLarge(operation: BulkOperation): ApiError | null {
  if (!operation.data) return null;
  if ((operation.method === "PUT" || operation.method === "PATCH") && /^\/Groups\/[^/]+$/.test(operation.path)) return null;
  const bytes = new TextEncoder().encode(JSON.stringify(operation.data)).length;
  return bytes > MAX_BODY_BYTES
    ? new ApiError(413, `This operation's data is ${bytes} bytes; ${operation.method} ${operation.path.split("/").slice(0, 2).join("/")} takes at most ${MAX_BODY_BYTES}.`, { scimType: "tooLarge" })
    : null;
}

/**
 * POST /Bulk (RFC 7644 §3.7). Each operation runs through the same services as the single-resource
 * endpoints (creates directly, writes to existing resources through their Durable Object), so a
 * bulk write is validated, serialised and logged exactly like any other.
 */
import type { Context } from "hono";
import { createRouter, type AppEnv } from "../../lib/hono";
import { readJsonObject, scimErrorBody, scimJson } from "../../lib/respond";
import { toApiError } from "../../middleware/errors";
import { runWrite, type WriteCommand } from "../../services/commands";
import { createGroup } from "../../services/groups";
import { createUser } from "../../services/users";
import { executionOrder, operationTooLarge, parseBulkRequest, referencedBulkIds, resolveBulkIds, type BulkOperation } from "../../scim/bulk";
import { etagOf } from "../../scim/etag";
import { ApiError } from "../../scim/errors";
import { SCHEMA } from "../../scim/schema";
import { scimContext } from "./context";
import type { WriteContext } from "../../services/write-context";
import { coalescedDb } from "../../tenancy/coalesced-d1";

interface OperationResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: unknown;
}

const RESOURCES = { Users: "user", Groups: "group" } as const;

/** `write`: where creates write (the request's, or one whose batches coalesce with other creates'). */
async function execute(c: Context<AppEnv>, op: BulkOperation, write: WriteContext): Promise<{ id?: string; version?: number; status: number; location?: string }> {
  const { tenant, actor, baseUrl, via } = scimContext(c);
  const [, collection, id, ...rest] = op.path.split("/");
  const kind = RESOURCES[collection as keyof typeof RESOURCES];
  if (!kind || rest.length > 0 || (op.method === "POST") !== (id === undefined || id === "")) {
    throw new ApiError(404, `Bulk path '${op.path}' with ${op.method} is not a resource endpoint: use POST /Users, /Groups or PUT|PATCH|DELETE /Users/{id}, /Groups/{id}.`);
  }
  if (op.method === "POST") {
    const row = kind === "user" ? await createUser(write, op.data!) : await createGroup(write, op.data!);
    return { id: row.id, version: row.version, status: 201, location: `${baseUrl}/${collection}/${row.id}` };
  }
  const command = {
    kind: `${kind}.${op.method === "PUT" ? "replace" : op.method.toLowerCase()}`,
    id,
    ...(op.data ? { body: op.data } : {}),
    ...(op.version ? { ifMatch: op.version } : {}),
  } as WriteCommand;
  const row = await runWrite<{ version: number } | undefined>(c.env, tenant, actor, command, via);
  return { id, version: row?.version, status: op.method === "DELETE" ? 204 : 200, location: `${baseUrl}/${collection}/${id}` };
}

/** Creates run together, their D1 writes in one batch (about 150 statements). */
const CREATES_AT_ONCE = 50;

/**
 * The creates at `order[at]` onwards that may run together (at most `limit`): consecutive POSTs
 * none of which references a bulkId another of them defines. With failOnErrors, `limit` is the
 * errors still allowed, so no operation runs that a one-by-one run would have skipped.
 */
function createsAtOnce(operations: BulkOperation[], order: number[], at: number, limit: number): number[] {
  const together: number[] = [];
  const defined = new Set<string>();
  for (let i = at; i < order.length && together.length < limit; i++) {
    const op = operations[order[i]!]!;
    if (op.method !== "POST" || referencedBulkIds(op).some((ref) => defined.has(ref))) break;
    together.push(order[i]!);
    if (op.bulkId) defined.add(op.bulkId);
  }
  return together;
}

export const bulkRoutes = createRouter().post("/", async (c) => {
  const request = parseBulkRequest(await readJsonObject(c));
  const { order, unresolvable } = executionOrder(request.operations);
  const results = new Map<number, OperationResult>();
  const createdIds = new Map<string, string>();
  let errors = 0;

  const fail = (index: number, error: ApiError) => {
    const op = request.operations[index];
    errors += 1;
    results.set(index, { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), status: String(error.status), response: scimErrorBody(error) });
  };

  const run = async (index: number, write: WriteContext) => {
    const missing = referencedBulkIds(request.operations[index]).filter((ref) => !createdIds.has(ref));
    if (missing.length) {
      fail(index, new ApiError(409, `Operation depends on bulkId '${missing[0]}', whose operation failed.`, { scimType: "invalidValue" }));
      return;
    }
    const op = resolveBulkIds(request.operations[index], createdIds);
    const tooLarge = operationTooLarge(op);
    if (tooLarge) {
      fail(index, tooLarge);
      return;
    }
    try {
      const outcome = await execute(c, op, write);
      if (op.bulkId && outcome.id) createdIds.set(op.bulkId, outcome.id);
      results.set(index, {
        method: op.method,
        ...(op.bulkId ? { bulkId: op.bulkId } : {}),
        ...(outcome.version !== undefined ? { version: etagOf(outcome.version) } : {}),
        ...(outcome.location ? { location: outcome.location } : {}),
        status: String(outcome.status),
      });
    } catch (error) {
      fail(index, toApiError(error));
    }
  };

  // Creates run CREATES_AT_ONCE at a time with their D1 batches coalesced into one (see
  // tenancy/coalesced-d1.ts), so 1,000 creates make about 20 D1 calls, not 1,000. Writes to existing
  // resources go one by one to their Durable Objects (which make the D1 calls, in their own invocations).
  const { write } = scimContext(c);
  const coalesced = { ...write, db: coalescedDb(write.db).db };
  for (let at = 0; at < order.length; ) {
    const remaining = request.failOnErrors === undefined ? Infinity : request.failOnErrors - errors;
    if (remaining <= 0) break;
    const together = createsAtOnce(request.operations, order, at, Math.min(CREATES_AT_ONCE, remaining));
    if (together.length <= 1) await run(order[at]!, write);
    else await Promise.all(together.map((index) => run(index, coalesced)));
    at += Math.max(1, together.length);
  }
  for (const [index, reason] of unresolvable) {
    if (request.failOnErrors !== undefined && errors >= request.failOnErrors) break;
    fail(index, new ApiError(409, `Unresolvable reference: ${reason}`, { scimType: "invalidValue" }));
  }
  const operations = [...results.entries()].sort(([a], [b]) => a - b).map(([, result]) => result);
  return scimJson(c, { schemas: [SCHEMA.bulkResponse], Operations: operations });
});

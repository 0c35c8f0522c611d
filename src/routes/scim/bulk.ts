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
import { executionOrder, parseBulkRequest, referencedBulkIds, resolveBulkIds, type BulkOperation } from "../../scim/bulk";
import { etagOf } from "../../scim/etag";
import { ApiError } from "../../scim/errors";
import { SCHEMA } from "../../scim/schema";
import { scimContext } from "./context";

interface OperationResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: unknown;
}

const RESOURCES = { Users: "user", Groups: "group" } as const;

async function execute(c: Context<AppEnv>, op: BulkOperation): Promise<{ id?: string; version?: number; status: number; location?: string }> {
  const { tenant, actor, write, baseUrl, via } = scimContext(c);
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

  for (const index of order) {
    if (request.failOnErrors !== undefined && errors >= request.failOnErrors) break;
    const missing = referencedBulkIds(request.operations[index]).filter((ref) => !createdIds.has(ref));
    if (missing.length) {
      fail(index, new ApiError(409, `Operation depends on bulkId '${missing[0]}', whose operation failed.`, { scimType: "invalidValue" }));
      continue;
    }
    const op = resolveBulkIds(request.operations[index], createdIds);
    try {
      const outcome = await execute(c, op);
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
  }
  for (const [index, reason] of unresolvable) {
    if (request.failOnErrors !== undefined && errors >= request.failOnErrors) break;
    fail(index, new ApiError(409, `Unresolvable reference: ${reason}`, { scimType: "invalidValue" }));
  }
  const operations = [...results.entries()].sort(([a], [b]) => a - b).map(([, result]) => result);
  return scimJson(c, { schemas: [SCHEMA.bulkResponse], Operations: operations });
});

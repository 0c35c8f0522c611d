/**
 * Deleting a tenant (design.md §4c). In order:
 *   1. its token digest copies in its own database go (the SCIM auth path may check those);
 *   2. one CONTROL_DB batch marks it deleting and revokes its live token: from then on every lookup
 *      misses it (admin API 404, its token 401);
 *   3. the audit trail records who asked, with the row counts about to be erased;
 *   4. its rows are erased from every table of its database in bounded passes (other tenants on a
 *      shared database untouched), within the request for a small tenant, else off the response
 *      path and, if that runs out of time, by the hourly job (`resumeTenantDeletions`);
 *   5. last, its CONTROL_DB rows (tenant, tokens, setup links) go and the audit record says "erased".
 * The audit trail keeps the record (slug, tenant id, actor, counts): it is the operator's evidence
 * that the erasure happened, and holds no tenant data.
 */
import type { Env } from "../env";
import { WorkBudget } from "../lib/budget";
import type { AdminActor } from "../lib/hono";
import { controlDb } from "../repo/control";
import {
  countTenantRows,
  deleteTenantControlRows,
  deleteTenantTokenCopies,
  eraseTenantRows,
  listDeletingTenants,
  markTenantDeleting,
  rewriteLatestAuditDetail,
  TENANT_TABLES,
  type RowCounts,
  type TenantTable,
} from "../repo/tenant-erasure";
import { latestMove } from "../repo/tenant-moves";
import { deleteUserCount } from "../repo/user-counts";
import { ApiError } from "../scim/errors";
import { tenantDb, tenantRefOf, type TenantRef } from "../tenancy/tenant-db";
import { recordAdminAction } from "./audit";

/** Rows per table per pass: one DELETE of this many rows stays well inside D1's per-query limits. */
export const ERASE_BATCH_ROWS = 5000;

/** Erasure within the request: one pass over every tenant table and 4 more DELETEs, so a small tenant is erased before the answer. */
export const IN_REQUEST_ERASE = { maxStatements: TENANT_TABLES.length + 4, maxMs: 5_000 };
/** Off the response path (waitUntil): the rest, within the time a Worker keeps running after responding. */
export const BACKGROUND_ERASE = { maxStatements: 400, maxMs: 20_000 };

export const DELETE_ACTION = "tenant.delete";
const STARTED = "erasing";
const FINISHED = "erased";

function logErasureFailure(slug: string, error: unknown): void {
  console.error(JSON.stringify({ level: "error", job: "tenant-erasure", tenant: slug, error: String((error as Error)?.stack ?? error) }));
}

function describeCounts(counts: RowCounts): string {
  return TENANT_TABLES.map((table) => `${table} ${counts[table] ?? 0}`).join(", ");
}

/** Steps 1–3: after this the tenant is gone for every lookup and its token is refused. 404 if it already was. */
export async function startTenantDeletion(env: Env, tenant: TenantRef, actor: AdminActor, ip?: string | null): Promise<RowCounts> {
  const moving = await latestMove(controlDb(env.CONTROL_DB), tenant.id);
  if (moving && !moving.finishedAt) {
    throw new ApiError(409, `The tenant is being moved to ${moving.toDatabase} (state ${moving.state}); delete it once the move has finished (GET …/move).`);
  }
  const db = tenantDb(env, tenant);
  await deleteTenantTokenCopies(db, tenant.id);
  const at = new Date().toISOString();
  if (!(await markTenantDeleting(controlDb(env.CONTROL_DB), tenant.id, at))) {
    throw new ApiError(404, `No tenant with slug '${tenant.slug}'.`);
  }
  // Its user count goes now: nothing creates users for a tenant being deleted.
  await deleteUserCount(db, tenant.id);
  const counts = await countTenantRows(db, tenant.id);
  await recordAdminAction(env, {
    action: DELETE_ACTION,
    actor,
    tenant: tenantRefOf(tenant),
    // The tenant's own log is being erased: the record lives in the audit trail alone.
    tenantLog: false,
    ip,
    detail: `${STARTED}: ${describeCounts(counts)} (database ${tenant.database}); token revoked at ${at}`,
  });
  return counts;
}

/**
 * Steps 4–5 within `budget` (one unit per DELETE statement). True when the tenant is fully erased
 * and its control rows are gone; false when the budget ran out first (call again to continue).
 */
export async function eraseTenant(env: Env, tenant: TenantRef, budget: WorkBudget, batchRows = ERASE_BATCH_ROWS): Promise<boolean> {
  const db = tenantDb(env, tenant);
  let pending: TenantTable[] = [...TENANT_TABLES];
  while (pending.length) {
    // One pass: a bounded DELETE on every table that may still hold rows, as one batch.
    const pass: TenantTable[] = [];
    for (const table of pending) {
      if (!budget.take()) break;
      pass.push(table);
    }
    if (!pass.length) return false;
    const erased = await eraseTenantRows(db, pass, tenant.id, batchRows);
    pending = pending.filter((table) => {
      const i = pass.indexOf(table);
      return i === -1 || erased[i] === batchRows;
    });
  }
  const control = controlDb(env.CONTROL_DB);
  await deleteTenantControlRows(control, tenant.id);
  await rewriteLatestAuditDetail(control, tenant.id, DELETE_ACTION, STARTED, `${FINISHED} at ${new Date().toISOString()}`);
  return true;
}

/** The hourly job's part: continues every deletion that has not finished. Slugs of tenants finished now. */
export async function resumeTenantDeletions(env: Env, budget: WorkBudget, batchRows = ERASE_BATCH_ROWS): Promise<{ finished: string[]; pending: string[] }> {
  const finished: string[] = [];
  const pending: string[] = [];
  for (const tenant of await listDeletingTenants(controlDb(env.CONTROL_DB))) {
    let done = false;
    try {
      done = !budget.exhausted && (await eraseTenant(env, tenantRefOf(tenant), budget, batchRows));
    } catch (error) {
      // One tenant that cannot be erased (say, its database binding was removed) must not stop the others or retention.
      logErasureFailure(tenant.slug, error);
    }
    (done ? finished : pending).push(tenant.slug);
  }
  return { finished, pending };
}

/**
 * The whole deletion as the admin API and the console run it: "erased" when it finished within the
 * request, "erasing" when the rest continues through `waitUntil` (and the hourly job after that).
 */
export async function deleteTenant(
  env: Env,
  tenant: TenantRef,
  actor: AdminActor,
  ip: string | null,
  waitUntil: (work: Promise<unknown>) => void,
): Promise<"erased" | "erasing"> {
  await startTenantDeletion(env, tenant, actor, ip);
  if (await eraseTenant(env, tenant, WorkBudget.of(IN_REQUEST_ERASE.maxStatements, IN_REQUEST_ERASE.maxMs))) return "erased";
  waitUntil(
    eraseTenant(env, tenant, WorkBudget.of(BACKGROUND_ERASE.maxStatements, BACKGROUND_ERASE.maxMs)).catch((error) => {
      logErasureFailure(tenant.slug, error);
    }),
  );
  return "erasing";
}

/**
 * Placement's service (design.md §4h): starting a tenant's move to another tenant database, its
 * progress, the 429 a write meets while the tenant is frozen, and re-arming stalled moves.
 */
import type { TenantMoveRow } from "../db/control/schema";
import type { Env } from "../env";
import type { AdminActor } from "../lib/hono";
import { controlDb } from "../repo/control";
import { tableSpecs } from "../repo/placement";
import { insertMove, latestMove, unfinishedMoves } from "../repo/tenant-moves";
import { ApiError } from "../scim/errors";
import { recordAdminAction } from "../services/audit";
import { isTenantBinding, tenantBindings, tenantDb, type TenantRef } from "../tenancy/tenant-db";
import { checkNumbering, copiedTables, NumberingConflict } from "./mover";

export interface MoveView {
  id: string;
  tenant: string;
  from: string;
  to: string;
  state: string;
  progress: { rowsTotal: number; rowsCopied: number; changesApplied: number; rowsErased: number; percent: number };
  startedAt: string;
  updatedAt: string;
  frozenAt: string | null;
  switchedAt: string | null;
  finishedAt: string | null;
  writesRefusedMs: number | null;
  error: string | null;
}

const STATE_WEIGHT: Record<string, number> = { preparing: 0, copying: 0, catching_up: 80, frozen: 85, switched: 90, erasing: 92, done: 100, rolling_back: 0, failed: 0 };

export function moveView(move: TenantMoveRow): MoveView {
  const copied = move.rowsTotal > 0 ? Math.min(1, move.rowsCopied / move.rowsTotal) : move.state === "preparing" ? 0 : 1;
  const percent = move.state === "copying" ? Math.floor(copied * 80) : (STATE_WEIGHT[move.state] ?? 0);
  return {
    id: move.id,
    tenant: move.tenantSlug,
    from: move.fromDatabase,
    to: move.toDatabase,
    state: move.state,
    progress: { rowsTotal: move.rowsTotal, rowsCopied: move.rowsCopied, changesApplied: move.changesApplied, rowsErased: move.rowsErased, percent },
    startedAt: move.startedAt,
    updatedAt: move.updatedAt,
    frozenAt: move.frozenAt,
    switchedAt: move.switchedAt,
    finishedAt: move.finishedAt,
    writesRefusedMs: move.writesRefusedMs,
    error: move.error,
  };
}

function mover(env: Env, moveId: string) {
  return env.PLACEMENT_MOVER.get(env.PLACEMENT_MOVER.idFromName(moveId));
}

/** Starts moving `tenant` to `database`: 400 for a binding this deployment lacks or the tenant's own, 409 when one runs or the numbering clashes. */
export async function startMove(env: Env, tenant: TenantRef, database: string, actor: AdminActor, ip: string | null): Promise<TenantMoveRow> {
  if (!isTenantBinding(env, database)) {
    throw new ApiError(400, `database: '${database}' is not a tenant D1 binding of this deployment. Known: ${tenantBindings(env).join(", ")}.`);
  }
  if (database === tenant.database) throw new ApiError(400, `database: the tenant is already on ${database}.`);
  const control = controlDb(env.CONTROL_DB);
  const running = await latestMove(control, tenant.id);
  if (running && !running.finishedAt) throw new ApiError(409, `The tenant is already moving to ${running.toDatabase} (state ${running.state}); see GET …/move.`);
  const source = tenantDb(env, tenant);
  try {
    await checkNumbering(source, tenantDb(env, { database }), await tableSpecs(source, copiedTables()), tenant.id);
  } catch (error) {
    if (error instanceof NumberingConflict) throw new ApiError(409, `database: ${error.message}`);
    throw error;
  }
  const at = new Date().toISOString();
  const move = await insertMove(control, {
    id: crypto.randomUUID(),
    tenantId: tenant.id,
    tenantSlug: tenant.slug,
    fromDatabase: tenant.database,
    toDatabase: database,
    state: "preparing",
    actor: { ...actor },
    startedAt: at,
    updatedAt: at,
  });
  if (!move) throw new ApiError(409, "The tenant is already moving; see GET …/move.");
  await recordAdminAction(env, { action: "tenant.move", actor, tenant, status: 202, detail: `move ${move.id} from ${tenant.database} to ${database} started`, ip });
  await mover(env, move.id).start(move.id);
  return move;
}

/** The tenant's latest move; null when it was never moved. */
export function currentMove(env: Env, tenant: TenantRef): Promise<TenantMoveRow | null> {
  return latestMove(controlDb(env.CONTROL_DB), tenant.id);
}

/** Unfinished moves by tenant id, for the console's tenant cards (one query). */
export async function movesInProgress(env: Env): Promise<Map<string, MoveView>> {
  return new Map((await unfinishedMoves(controlDb(env.CONTROL_DB))).map((m) => [m.tenantId, moveView(m)]));
}

/** How long a move may go without recording a step before the cron re-arms its object. */
const STALLED_MS = 120_000;

/** Re-arms the object of every unfinished move that has not advanced for two minutes (its alarm lost). */
export async function resumeStalledMoves(env: Env, now = Date.now()): Promise<number> {
  const stalled = (await unfinishedMoves(controlDb(env.CONTROL_DB))).filter((m) => now - Date.parse(m.updatedAt) > STALLED_MS);
  for (const move of stalled) await mover(env, move.id).start(move.id);
  return stalled.length;
}

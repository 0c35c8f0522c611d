/** Placement's control rows (CONTROL_DB `tenant_moves`): one per move, the move's whole state. */
import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import { tenantMoves, tenants, type TenantMoveRow } from "../db/control/schema";
import { chunk, MAX_IN_LIST, runBatch } from "./batch";
import type { ControlDb } from "./control";

export type NewTenantMove = typeof tenantMoves.$inferInsert;

/** Inserts a move; null when the tenant already has an unfinished one (the partial unique index decides). */
export async function insertMove(db: ControlDb, move: NewTenantMove): Promise<TenantMoveRow | null> {
  const rows = await db.insert(tenantMoves).values(move).onConflictDoNothing().returning();
  return rows[0] ?? null;
}

export async function getMove(db: ControlDb, id: string): Promise<TenantMoveRow | null> {
  const rows = await db.select().from(tenantMoves).where(eq(tenantMoves.id, id)).limit(1);
  return rows[0] ?? null;
}

/** The tenant's latest move (its unfinished one if any: moves of a tenant do not overlap). */
export async function latestMove(db: ControlDb, tenantId: string): Promise<TenantMoveRow | null> {
  const rows = await db.select().from(tenantMoves).where(eq(tenantMoves.tenantId, tenantId)).orderBy(desc(tenantMoves.startedAt)).limit(1);
  return rows[0] ?? null;
}

export function unfinishedMoves(db: ControlDb): Promise<TenantMoveRow[]> {
  return db.select().from(tenantMoves).where(isNull(tenantMoves.finishedAt)).orderBy(tenantMoves.startedAt).limit(100);
}

/** Records a step's progress, only if the move is still in `state` (a stale step changes nothing). */
export async function updateMove(db: ControlDb, id: string, state: string, patch: Partial<TenantMoveRow>, steps?: number): Promise<boolean> {
  const result = await db
    .update(tenantMoves)
    .set(patch)
    .where(and(eq(tenantMoves.id, id), eq(tenantMoves.state, state), steps === undefined ? undefined : eq(tenantMoves.steps, steps)));
  return result.meta.changes === 1;
}

/**
 * The switch: the tenant's row names the target database, in one transaction with the move's
 * state, and only if the tenant still names the source (nothing else moved it meanwhile).
 */
export async function switchTenantDatabase(db: ControlDb, move: TenantMoveRow, patch: Partial<TenantMoveRow>): Promise<boolean> {
  const [switched] = await runBatch(db, [
    db
      .update(tenants)
      .set({ database: move.toDatabase })
      .where(and(eq(tenants.id, move.tenantId), eq(tenants.database, move.fromDatabase), isNull(tenants.deletingAt))),
    db
      .update(tenantMoves)
      .set(patch)
      .where(
        and(
          eq(tenantMoves.id, move.id),
          eq(tenantMoves.state, move.state),
          eq(tenantMoves.steps, move.steps),
          sql`EXISTS (SELECT 1 FROM ${tenants} WHERE ${tenants.id} = ${move.tenantId} AND ${tenants.database} = ${move.toDatabase})`,
        ),
      ),
  ]);
  return switched!.meta.changes === 1;
}

/** Where each of `tenantIds` lives now (tenant id → binding name); tenants deleted meanwhile are absent. */
export async function databasesOf(db: ControlDb, tenantIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const ids of chunk([...new Set(tenantIds)], MAX_IN_LIST)) {
    const rows = await db.select({ id: tenants.id, database: tenants.database }).from(tenants).where(inArray(tenants.id, ids));
    for (const row of rows) out.set(row.id, row.database);
  }
  return out;
}

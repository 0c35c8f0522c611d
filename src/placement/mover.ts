/**
 * A tenant's move between tenant D1 databases (design.md §4h Placement), as a sequence of bounded
 * steps. The move's row in CONTROL_DB is its whole state; a step reads it, does one bounded piece
 * of work and records how far it got, and every step is idempotent, so a step killed half-way
 * (a deploy, an evicted Durable Object) is simply run again.
 *
 *   preparing    clear leftovers of an earlier attempt from the target; check and reserve the
 *                target's AUTOINCREMENT numbering; create the change-tracking triggers on the source
 *   copying      copy every table of the tenant, page by page in key order (writes continue; each
 *                write after the triggers exist is recorded by key)
 *   catching_up  apply recorded changes (re-read each named row from the source: upsert or delete)
 *                until few remain
 *   frozen       refuse the tenant's writes on the source (triggers raising `tenant_moving`,
 *                answered 429 + Retry-After), apply the last changes, compare the two copies, and
 *                switch the tenant's row to the target in one statement
 *   switched     wait until no isolate can still hold the old binding (its tenant memory expires)
 *   erasing      erase the tenant's rows from the source in bounded batches, then drop the triggers
 *   done
 * A move that keeps failing before the switch rolls back (rolling_back → failed): triggers dropped,
 * the target's partial copy erased, the tenant never having left its database.
 */
import type { TenantMoveRow } from "../db/control/schema";
import type { Env } from "../env";
import { controlDb, type ControlDb } from "../repo/control";
import {
  applyChanges,
  clearMovedAway,
  markMovedAway,
  copyPage,
  countChanges,
  counter,
  dropChanges,
  dropTriggers,
  forgetChanges,
  FREEZE,
  groupSizeTotals,
  installFreeze,
  installTracking,
  lowestKey,
  pendingChanges,
  releaseCounter,
  reserveCounter,
  resourceTotals,
  tableSpecs,
  TRACKING,
  type Key,
  type TableSpec,
} from "../repo/placement";
import { countTenantRows, eraseTenantRows, TENANT_TABLES, type RowCounts, type TenantTable } from "../repo/tenant-erasure";
import { getMove, switchTenantDatabase, updateMove } from "../repo/tenant-moves";
import { tenantDb, type TenantDb } from "../tenancy/tenant-db";

/**
 * Tables whose rows the tenant database's own triggers keep (migrations/tenant/0003): never copied,
 * since inserting the rows they count into the target counts them there. Every other table of
 * TENANT_TABLES is copied, so a table another migration adds is moved without a change here
 * (its key is read from the database) unless triggers keep it: then it belongs in this list.
 */
export const TRIGGER_KEPT_TABLES: readonly string[] = ["resource_counts", "group_sizes"];

/**
 * Tables that triggers on other tables update when a row of those is deleted (deactivation_guard's
 * active-user count, on users): erased first from the source, so those triggers find no row to
 * update, since the source's freeze still refuses the tenant's updates while its rows are erased.
 */
const ERASED_FIRST: readonly TenantTable[] = ["deactivation_guard"];
const ERASE_ORDER: readonly TenantTable[] = [...ERASED_FIRST, ...TENANT_TABLES.filter((t) => !ERASED_FIRST.includes(t))];

export function copiedTables(): string[] {
  return TENANT_TABLES.filter((t) => !TRIGGER_KEPT_TABLES.includes(t));
}

export const COPY_PAGE_ROWS = 500;
/** Queries after which a copy step stops moving on to the next table (well inside the 1,000 an invocation may make). */
const COPY_STEP_QUERIES = 200;
export const CATCH_UP_CHANGES = 200;
/** Writes are refused once fewer changes than this wait (the final catch-up is then one step). */
export const FREEZE_BELOW = CATCH_UP_CHANGES;
/** Catch-up steps after which the move freezes whatever the backlog (writes outpacing the copy). */
const MAX_CATCH_UP_STEPS = 100;
const ERASE_BATCH_ROWS = 500;
/** Headroom reserved in the target's numbering for the source's AUTOINCREMENT keys handed out during the move. */
export const NUMBERING_HEADROOM = 2 ** 32;
/** Failed steps in a row after which a move that has not switched rolls back. */
export const MAX_FAILURES = 5;
/** Default wait between the switch and erasing the source (longer than an isolate remembers a tenant: 60 s). */
export const DEFAULT_ERASE_DELAY_SECONDS = 90;

export type MoveState = "preparing" | "copying" | "catching_up" | "frozen" | "switched" | "erasing" | "done" | "rolling_back" | "failed";
export const FINISHED: readonly string[] = ["done", "failed"];

export interface StepResult {
  /** D1 queries the step used (the invocation's budget is 1,000). */
  queries: number;
  /** Run the next step after this many ms (0: now); null: the move is finished. */
  nextInMs: number | null;
}

export class NumberingConflict extends Error {}
/** Another runner recorded a step first (two alarms overlapping): this one's work was idempotent, and is dropped. */
class StaleStep extends Error {}

function eraseDelayMs(env: Env): number {
  const configured = Number(env.PLACEMENT_ERASE_DELAY_SECONDS);
  return (Number.isFinite(configured) && configured >= 0 ? configured : DEFAULT_ERASE_DELAY_SECONDS) * 1000;
}

function now(): string {
  return new Date().toISOString();
}

function sumRows(counts: RowCounts, tables: readonly string[]): number {
  return tables.reduce((n, t) => n + Number(counts[t as keyof RowCounts] ?? 0), 0);
}

/**
 * Whether the target's AUTOINCREMENT numbering leaves room for the tenant's keys unchanged: every
 * key the tenant has, or will get from the source during the move, must be above what the target
 * has handed out. Throws NumberingConflict naming the table otherwise. Returns the counters to reserve.
 */
export async function checkNumbering(source: TenantDb, target: TenantDb, specs: TableSpec[], tenantId: string): Promise<{ table: string; reserve: number }[]> {
  const out: { table: string; reserve: number }[] = [];
  for (const spec of specs.filter((s) => s.autoincrement)) {
    const [sourceCounter, targetCounter, lowest] = await Promise.all([counter(source, spec), counter(target, spec), lowestKey(source, spec, tenantId)]);
    const floor = lowest ?? sourceCounter + 1;
    if (targetCounter >= floor) {
      throw new NumberingConflict(
        `the target database has already numbered ${spec.table} up to ${targetCounter}, past this tenant's ${floor}: the tenant's keys (change-feed cursors, log ids) could not move unchanged. Move it to a database that has not held other tenants' data.`,
      );
    }
    out.push({ table: spec.table, reserve: Math.max(sourceCounter, targetCounter) + NUMBERING_HEADROOM });
  }
  return out;
}

interface Ctx {
  env: Env;
  control: ControlDb;
  move: TenantMoveRow;
  source: TenantDb;
  target: TenantDb;
}

/** Runs one step of the move `moveId`. */
export async function runStep(env: Env, moveId: string): Promise<StepResult> {
  const control = controlDb(env.CONTROL_DB);
  const move = await getMove(control, moveId);
  if (!move || FINISHED.includes(move.state)) return { queries: 1, nextInMs: null };
  const ctx: Ctx = { env, control, move, source: tenantDb(env, { database: move.fromDatabase }), target: tenantDb(env, { database: move.toDatabase }) };
  try {
    const result = await stepOf(ctx);
    return { queries: result.queries + 2, nextInMs: result.nextInMs };
  } catch (error) {
    if (error instanceof StaleStep) return { queries: 3, nextInMs: 0 };
    const failures = move.failures + 1;
    const rollBack = failures >= MAX_FAILURES && ["preparing", "copying", "catching_up", "frozen"].includes(move.state);
    const message = String((error as Error)?.message ?? error).slice(0, 500);
    console.error(JSON.stringify({ level: "error", msg: "tenant move step failed", move: move.id, state: move.state, failures, error: message }));
    await updateMove(control, move.id, move.state, rollBack ? { state: "rolling_back", failures: 0, error: message, updatedAt: now() } : { failures, error: message, updatedAt: now() });
    return { queries: 3, nextInMs: rollBack ? 0 : Math.min(60_000, 500 * 2 ** failures) };
  }
}

async function advance(ctx: Ctx, patch: Partial<TenantMoveRow>): Promise<void> {
  const ok = await updateMove(ctx.control, ctx.move.id, ctx.move.state, { ...patch, steps: ctx.move.steps + 1, failures: 0, updatedAt: now() }, ctx.move.steps);
  if (!ok) throw new StaleStep();
}

async function stepOf(ctx: Ctx): Promise<StepResult> {
  const { move } = ctx;
  const copied = copiedTables();
  switch (move.state as MoveState) {
    case "preparing": {
      // Leftovers of an earlier, rolled-back attempt (or a crash in this one's preparation) go first.
      const leftovers = await countTenantRows(ctx.target, move.tenantId);
      if (sumRows(leftovers, TENANT_TABLES) > 0) {
        await eraseTenantRows(ctx.target, TENANT_TABLES, move.tenantId, ERASE_BATCH_ROWS);
        return { queries: 2 * TENANT_TABLES.length, nextInMs: 0 };
      }
      await clearMovedAway(ctx.target, move.tenantId);
      const specs = await tableSpecs(ctx.source, copied);
      const reservations = await checkNumbering(ctx.source, ctx.target, specs, move.tenantId);
      for (const r of reservations) await reserveCounter(ctx.target, r.table, r.reserve);
      const triggers = await installTracking(ctx.source, move.id, move.tenantId, specs);
      // Counted after the triggers exist: the denominator of the progress shown, not a check.
      const total = sumRows(await countTenantRows(ctx.source, move.tenantId), copied);
      await advance(ctx, { state: "copying", tableIndex: 0, afterKey: null, rowsTotal: total });
      return { queries: 2 * TENANT_TABLES.length + 2 + reservations.length * 5 + triggers, nextInMs: 0 };
    }
    case "copying": {
      // Pages in key order; a table that ends within its page hands over to the next in the same
      // step, so the many small tables of a tenant (one per capability) cost no step each.
      let tableIndex = move.tableIndex;
      let after = move.afterKey ? (JSON.parse(move.afterKey) as Key) : null;
      let rows = 0;
      let queries = 2;
      for (;;) {
        const table = copied[tableIndex];
        if (!table) {
          await advance(ctx, { state: "catching_up", tableIndex: 0, afterKey: null, rowsCopied: move.rowsCopied + rows });
          return { queries, nextInMs: 0 };
        }
        const [spec] = await tableSpecs(ctx.source, [table]);
        const page = await copyPage(ctx.source, ctx.target, spec!, move.tenantId, after, COPY_PAGE_ROWS);
        queries += page.queries + 1;
        rows += page.rows;
        if (page.lastKey) {
          after = page.lastKey;
          break;
        }
        tableIndex += 1;
        after = null;
        if (queries >= COPY_STEP_QUERIES) break;
      }
      await advance(ctx, { tableIndex, afterKey: after ? JSON.stringify(after) : null, rowsCopied: move.rowsCopied + rows });
      return { queries, nextInMs: 0 };
    }
    case "catching_up": {
      const waiting = await countChanges(ctx.source, move.id, FREEZE_BELOW);
      if (waiting < FREEZE_BELOW || move.tableIndex >= MAX_CATCH_UP_STEPS) {
        // Writes stop here: from the moment the triggers exist, nothing of the tenant commits on the source.
        const frozenAt = now();
        const freeze = await installFreeze(ctx.source, move.id, move.tenantId, await tableSpecs(ctx.source, copied));
        await advance(ctx, { state: "frozen", frozenAt });
        return { queries: freeze + 4, nextInMs: 0 };
      }
      const applied = await catchUp(ctx, copied);
      await advance(ctx, { changesApplied: move.changesApplied + applied.changes, tableIndex: move.tableIndex + 1 });
      return { queries: applied.queries + 2, nextInMs: 0 };
    }
    case "frozen": {
      const specs = await tableSpecs(ctx.source, copied);
      // Again (idempotent): the record of a crash between creating them and recording the state.
      const freeze = await installFreeze(ctx.source, move.id, move.tenantId, specs);
      const applied = await catchUp(ctx, copied, specs);
      if (applied.changes > 0) {
        await advance(ctx, { changesApplied: move.changesApplied + applied.changes });
        return { queries: freeze + applied.queries + 3, nextInMs: 0 };
      }
      await verifyCopy(ctx, copied);
      const switchedAt = now();
      const refused = Date.parse(switchedAt) - Date.parse(move.frozenAt ?? switchedAt);
      const switched = await switchTenantDatabase(ctx.control, move, { state: "switched", switchedAt, writesRefusedMs: refused, steps: move.steps + 1, failures: 0, updatedAt: switchedAt });
      if (!switched) throw new Error("the tenant's row no longer names the source database (deleted or moved meanwhile)");
      return { queries: freeze + applied.queries + 4 * TENANT_TABLES.length + 6, nextInMs: 0 };
    }
    case "switched": {
      const wait = Date.parse(move.switchedAt!) + eraseDelayMs(ctx.env) - Date.now();
      if (wait > 0) return { queries: 1, nextInMs: wait };
      // Nothing can write the source copy any more (every isolate has forgotten it): stop tracking,
      // and let deletes through so the erasure can run (inserts and updates stay refused).
      await markMovedAway(ctx.source, move.tenantId, move.toDatabase);
      const dropped = await dropTriggers(ctx.source, move.id, copied, [...TRACKING, "fd"]);
      await advance(ctx, { state: "erasing" });
      return { queries: dropped + 1, nextInMs: 0 };
    }
    case "erasing": {
      const erased = await eraseTenantRows(ctx.source, ERASE_ORDER, move.tenantId, ERASE_BATCH_ROWS);
      const changes = await dropChanges(ctx.source, move.id, ERASE_BATCH_ROWS);
      const rows = erased.reduce((a, b) => a + b, 0);
      if (rows > 0 || changes > 0) {
        await advance(ctx, { rowsErased: move.rowsErased + rows });
        return { queries: TENANT_TABLES.length + 2, nextInMs: 0 };
      }
      const dropped = await dropTriggers(ctx.source, move.id, copied, FREEZE);
      await advance(ctx, { state: "done", finishedAt: now(), error: null });
      return { queries: TENANT_TABLES.length + 2 + dropped, nextInMs: null };
    }
    case "rolling_back": {
      const dropped = await dropTriggers(ctx.source, move.id, copied, [...TRACKING, ...FREEZE]);
      const erased = await eraseTenantRows(ctx.target, TENANT_TABLES, move.tenantId, ERASE_BATCH_ROWS);
      const changes = await dropChanges(ctx.source, move.id, ERASE_BATCH_ROWS);
      if (erased.some((n) => n > 0) || changes > 0) {
        await advance(ctx, {});
        return { queries: dropped + TENANT_TABLES.length + 2, nextInMs: 0 };
      }
      // The target's numbering back where it was, so a later move to it is not refused for this one's reservation.
      const specs = (await tableSpecs(ctx.target, copied)).filter((s) => s.autoincrement);
      for (const spec of specs) await releaseCounter(ctx.target, spec);
      await advance(ctx, { state: "failed", finishedAt: now() });
      return { queries: dropped + TENANT_TABLES.length + 2, nextInMs: null };
    }
    default:
      return { queries: 0, nextInMs: null };
  }
}

/** Applies the oldest recorded changes to the target, then forgets them. */
async function catchUp(ctx: Ctx, copied: string[], known?: TableSpec[]): Promise<{ changes: number; queries: number }> {
  const changes = await pendingChanges(ctx.source, ctx.move.id, CATCH_UP_CHANGES);
  if (changes.length === 0) return { changes: 0, queries: 1 };
  const specs = known ?? (await tableSpecs(ctx.source, copied));
  const queries = await applyChanges(ctx.source, ctx.target, specs, ctx.move.tenantId, changes);
  await forgetChanges(ctx.source, ctx.move.id, changes[changes.length - 1]!.id);
  return { changes: changes.length, queries: queries + 3 };
}

/** The two copies, writes stopped, hold the same number of rows in every table and the same totals. */
async function verifyCopy(ctx: Ctx, copied: string[]): Promise<void> {
  const [from, to, fromTotals, toTotals, fromSizes, toSizes] = await Promise.all([
    countTenantRows(ctx.source, ctx.move.tenantId),
    countTenantRows(ctx.target, ctx.move.tenantId),
    resourceTotals(ctx.source, ctx.move.tenantId),
    resourceTotals(ctx.target, ctx.move.tenantId),
    groupSizeTotals(ctx.source, ctx.move.tenantId),
    groupSizeTotals(ctx.target, ctx.move.tenantId),
  ]);
  const differing = copied.filter((t) => Number(from[t as keyof RowCounts] ?? 0) !== Number(to[t as keyof RowCounts] ?? 0));
  for (const resource of new Set([...Object.keys(fromTotals), ...Object.keys(toTotals)])) {
    if ((fromTotals[resource] ?? 0) !== (toTotals[resource] ?? 0)) differing.push(`resource_counts.${resource}`);
  }
  if (fromSizes.members !== toSizes.members) differing.push("group_sizes");
  if (differing.length) throw new Error(`the copy differs from the source in ${differing.join(", ")}`);
}

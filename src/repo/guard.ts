/**
 * The deactivation hold (design.md §4g) in the tenant database.
 *
 * Its bookkeeping rides in each user write's own batch (one D1 transaction, no round trip of its
 * own): a deactivation (or deletion of an active user) is counted in `deactivation_window`; the
 * guard trips, by a guarded UPDATE, in the batch whose count first exceeds the larger of
 * `threshold` and `percent` % of the active users before the wave; from then on (and for every
 * later write to a user already held) the write's change events go to `held_changes` instead of
 * `change_events`. D1 runs batches one at a time, so concurrent deactivations each see the
 * count of the ones committed before them: exactly `limit` of a wave pass, the rest are held.
 * Release moves the held events into change_events in their original order (new `seq`s, after
 * everything in the feed; the same ids and `occurred_at`).
 */
import { and, asc, count, eq, gt, inArray, sql, type SQL } from "drizzle-orm";
import { deactivationGuard, heldChanges, type DeactivationGuardRow, type HeldChangeRow } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";
import { runBatch } from "./batch";
import { dispatchedAtFor, insertChangeWhen, type NewChangeEvent } from "./change-events";
import { insertEventWhen, type NewEvent } from "./events";
import type { HoldPlan } from "./users";

/** The settings a tenant without a row has (design.md §4g). */
export const DEFAULT_GUARD = { enabled: true, threshold: 50, percent: 10, windowMinutes: 10 } as const;

export type GuardSettings = { enabled: boolean; threshold: number; percent: number; windowMinutes: number };

/** Window rows older than this go, a few per write: no window is longer (the settings allow at most a day). */
const PRUNE_AFTER_MINUTES = 24 * 60;
const PRUNE_PER_WRITE = 20;

/** Tripped and still on: switching the guard off lets later deactivations through (those held stay held until released). */
const isTripped = (tenantId: string) => sql`EXISTS (SELECT 1 FROM deactivation_guard WHERE tenant_id = ${tenantId} AND tripped_at IS NOT NULL AND enabled = 1)`;
const hasHeld = (tenantId: string, userId: string) => sql`EXISTS (SELECT 1 FROM held_changes WHERE tenant_id = ${tenantId} AND resource_id = ${userId})`;

/** What a user write is, for the hold. */
export type UserWriteKind = "deactivate" | "reactivate" | "delete" | "other";

export interface TripNotice {
  /** The tripped event (design.md §4b's shape, `connection` and `guard`), emitted only by the write that trips. */
  change: NewChangeEvent;
  /** Its provisioning-log row. */
  log: NewEvent;
}

/**
 * The hold's statements for one user write (see HoldPlan). `kind` "deactivate" and "delete" (of an
 * active user) count towards the guard and are held once it has tripped; every write to a user
 * with held events is held behind them; a reactivation of a held user cancels the held events and
 * emits nothing itself (or, when it or the held events carried other changes, one `user.updated`).
 */
export function holdPlan(tenantId: string, userId: string, kind: UserWriteKind, at: string, trip: TripNotice, options: { otherChanges?: boolean } = {}): HoldPlan {
  return (written, emit) => {
    const notHeld = (held: SQL) => sql`${written} AND NOT ${held}`;
    const heldNow = (held: SQL) => sql`${written} AND ${held}`;
    if (kind === "reactivate") {
      const heldUser = hasHeld(tenantId, userId);
      const otherHeld = sql`EXISTS (SELECT 1 FROM held_changes WHERE tenant_id = ${tenantId} AND resource_id = ${userId} AND type NOT IN ('user.deactivated', 'user.reactivated'))`;
      return [
        ...emit(notHeld(heldUser)),
        // The app never saw the user go: what it has not seen is the other changes, if any.
        ...emit(options.otherChanges ? sql`${written} AND ${heldUser}` : sql`${written} AND ${otherHeld}`, "change_events", "user.updated"),
        sql`DELETE FROM held_changes WHERE tenant_id = ${tenantId} AND resource_id = ${userId} AND ${written}`,
      ];
    }
    if (kind === "other") {
      const heldUser = hasHeld(tenantId, userId);
      return [...emit(notHeld(heldUser)), ...emit(heldNow(heldUser), "held_changes")];
    }
    const tripId = crypto.randomUUID();
    const trippedHere = sql`EXISTS (SELECT 1 FROM deactivation_guard WHERE tenant_id = ${tenantId} AND trip_id = ${tripId})`;
    const held = sql`(${isTripped(tenantId)} OR ${hasHeld(tenantId, userId)})`;
    const windowStart = sql`max(strftime('%Y-%m-%dT%H:%M:%fZ', ${at}, '-' || g.window_minutes || ' minutes'), coalesce(g.released_at, ''))`;
    const inWindow = sql`(SELECT count(*) FROM deactivation_window w WHERE w.tenant_id = ${tenantId} AND w.at > ${windowStart})`;
    return [
      sql`DELETE FROM deactivation_window WHERE id IN (SELECT id FROM deactivation_window WHERE tenant_id = ${tenantId}
        AND at < strftime('%Y-%m-%dT%H:%M:%fZ', ${at}, '-${sql.raw(String(PRUNE_AFTER_MINUTES))} minutes') ORDER BY at LIMIT ${PRUNE_PER_WRITE})`,
      sql`INSERT INTO deactivation_window (tenant_id, at, user_id) SELECT ${tenantId}, ${at}, ${userId} WHERE ${written} AND NOT ${isTripped(tenantId)}`,
      // Trips when the window's count exceeds the larger of threshold and percent % of the active users
      // before the wave (those active now plus those the window took away).
      sql`UPDATE deactivation_guard AS g SET tripped_at = ${at}, trip_id = ${tripId}
        WHERE g.tenant_id = ${tenantId} AND g.tripped_at IS NULL AND g.enabled = 1 AND ${written}
          AND ${inWindow} > max(g.threshold, (g.active_users + ${inWindow}) * g.percent / 100.0)`,
      ...emit(notHeld(held)),
      ...emit(heldNow(held), "held_changes"),
      // After the write's own events, so their log_id stays the write's log row.
      insertChangeWhen(trip.change, trippedHere),
      insertEventWhen(trip.log, trippedHere),
    ];
  };
}

export interface GuardState extends GuardSettings {
  activeUsers: number;
  trippedAt: string | null;
  releasedAt: string | null;
}

export async function readGuard(db: TenantDb, tenantId: string): Promise<GuardState> {
  const rows = await db.select().from(deactivationGuard).where(eq(deactivationGuard.tenantId, tenantId)).limit(1);
  const row: Partial<DeactivationGuardRow> = rows[0] ?? {};
  return {
    enabled: row.enabled ?? DEFAULT_GUARD.enabled,
    threshold: row.threshold ?? DEFAULT_GUARD.threshold,
    percent: row.percent ?? DEFAULT_GUARD.percent,
    windowMinutes: row.windowMinutes ?? DEFAULT_GUARD.windowMinutes,
    activeUsers: row.activeUsers ?? 0,
    trippedAt: row.trippedAt ?? null,
    releasedAt: row.releasedAt ?? null,
  };
}

/**
 * Writes the settings (a tenant without a row gets one; `active_users` is counted then, once, in
 * case the tenant has never had a row: the triggers keep it from there).
 */
export async function writeGuardSettings(db: TenantDb, tenantId: string, settings: GuardSettings): Promise<void> {
  const enabled = settings.enabled ? 1 : 0;
  await runBatch(db, [
    sql`INSERT INTO deactivation_guard (tenant_id, enabled, threshold, percent, window_minutes, active_users)
      VALUES (${tenantId}, ${enabled}, ${settings.threshold}, ${settings.percent}, ${settings.windowMinutes},
              (SELECT count(*) FROM users WHERE tenant_id = ${tenantId} AND active = 1))
      ON CONFLICT (tenant_id) DO UPDATE SET enabled = excluded.enabled, threshold = excluded.threshold, percent = excluded.percent, window_minutes = excluded.window_minutes`,
  ]);
}

export interface HeldSummary {
  /** Held deactivations and deletions (one per user), and every held event. */
  users: number;
  events: number;
  firstAt: string | null;
  lastAt: string | null;
}

const HELD_USER_TYPES = ["user.deactivated", "user.deleted"];

/**
 * SQL: the user row `alias` has its deactivation or deletion held (design.md §4g), for statements
 * that must see users as TheStorage's app does (sign-in's batch, src/repo/sso.ts).
 */
export const heldUserSql = (alias: string) =>
  sql.raw(`EXISTS (SELECT 1 FROM held_changes h WHERE h.tenant_id = ${alias}.tenant_id AND h.resource_id = ${alias}.id AND h.type IN ('user.deactivated', 'user.deleted'))`);

export async function heldSummary(db: TenantDb, tenantId: string): Promise<HeldSummary> {
  const [byType, all] = await db.batch([
    db
      .select({ n: count(), firstAt: sql<string | null>`min(${heldChanges.occurredAt})`, lastAt: sql<string | null>`max(${heldChanges.occurredAt})` })
      .from(heldChanges)
      .where(and(eq(heldChanges.tenantId, tenantId), inArray(heldChanges.type, HELD_USER_TYPES))),
    db.select({ n: count() }).from(heldChanges).where(eq(heldChanges.tenantId, tenantId)),
  ]);
  return { users: byType[0]?.n ?? 0, events: all[0]?.n ?? 0, firstAt: byType[0]?.firstAt ?? null, lastAt: byType[0]?.lastAt ?? null };
}

/** Held deactivations and deletions, oldest first, a page at a time (`after`: the last `seq` seen). */
export async function listHeld(db: TenantDb, tenantId: string, limit: number, after = 0): Promise<HeldChangeRow[]> {
  return db
    .select()
    .from(heldChanges)
    .where(and(eq(heldChanges.tenantId, tenantId), gt(heldChanges.seq, after), inArray(heldChanges.type, HELD_USER_TYPES)))
    .orderBy(asc(heldChanges.seq))
    .limit(limit);
}

/**
 * Moves up to `limit` of the oldest held events into the change feed, in their order, and when
 * none is left un-trips the guard (its window restarts now). One batch: a reader of the feed sees
 * all of a chunk or none of it. Returns how many moved and how many are left.
 */
export async function releaseHeldChunk(db: TenantDb, tenantId: string, limit: number, at: string): Promise<{ moved: number; remaining: number }> {
  const chunk = sql`SELECT seq FROM held_changes WHERE tenant_id = ${tenantId} ORDER BY seq LIMIT ${limit}`;
  const [moved, , , remaining] = await runBatch(db, [
    sql`INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data, log_id, dispatched_at)
      SELECT id, tenant_id, type, occurred_at, resource_id, version, data, log_id, ${dispatchedAtFor(sql`tenant_id`)}
      FROM held_changes WHERE seq IN (${chunk}) ORDER BY seq`,
    sql`DELETE FROM held_changes WHERE seq IN (${chunk})`,
    sql`UPDATE deactivation_guard SET tripped_at = NULL, trip_id = NULL, released_at = ${at}
      WHERE tenant_id = ${tenantId} AND NOT EXISTS (SELECT 1 FROM held_changes WHERE tenant_id = ${tenantId})`,
    sql`SELECT count(*) AS n FROM held_changes WHERE tenant_id = ${tenantId}`,
  ]);
  return { moved: moved!.meta.changes, remaining: Number((remaining!.results[0] as { n: number }).n) };
}

/**
 * Whether the app should still treat this user as active although the directory says otherwise:
 * its deactivation (or deletion) is held (design.md §4g). For sign-in and the RPC.
 */
export async function isDeactivationHeld(db: TenantDb, tenantId: string, userId: string): Promise<boolean> {
  const rows = await db
    .select({ one: sql`1` })
    .from(heldChanges)
    .where(and(eq(heldChanges.tenantId, tenantId), eq(heldChanges.resourceId, userId), inArray(heldChanges.type, HELD_USER_TYPES)))
    .limit(1);
  return rows.length > 0;
}

/** Of `userIds`, those whose deactivation or deletion is held. */
export async function heldUserIds(db: TenantDb, tenantId: string, userIds: string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await db
    .selectDistinct({ id: heldChanges.resourceId })
    .from(heldChanges)
    .where(and(eq(heldChanges.tenantId, tenantId), inArray(heldChanges.resourceId, userIds), inArray(heldChanges.type, HELD_USER_TYPES)));
  return new Set(rows.map((r) => r.id!));
}

/**
 * The `user` payload of a held deletion, for a user the directory no longer has but the app must
 * still see: by id, or by folded userName (read from the held events of the tenant, which are few).
 */
export async function heldDeletedUser(db: TenantDb, tenantId: string, match: { id: string } | { userNameNorm: string }): Promise<Record<string, unknown> | null> {
  const where =
    "id" in match
      ? eq(heldChanges.resourceId, match.id)
      : sql`lower(json_extract(${heldChanges.data}, '$.user.userName')) = ${match.userNameNorm}`;
  const rows = await db
    .select({ data: heldChanges.data })
    .from(heldChanges)
    .where(and(eq(heldChanges.tenantId, tenantId), eq(heldChanges.type, "user.deleted"), where))
    .limit(1);
  const user = rows[0]?.data.user as Record<string, unknown> | undefined;
  return user ?? null;
}

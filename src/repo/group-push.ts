/**
 * The statements of a large membership push (src/services/group-push.ts): its commit, its chunks
 * and its finish, each one bounded D1 batch. Member ids travel as one JSON array per chunk
 * (json_each), so a chunk's size is not bounded by D1's 100 bound parameters but by PUSH_CHUNK.
 */
import { and, eq, sql, type SQL } from "drizzle-orm";
import { groupMembers, groupPushes, groups } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";
import { runBatch } from "./batch";
import { insertChangeWhen, insertMembershipChangesWhen, type NewChangeEvent } from "./change-events";
import { insertEventWhen, type NewEvent } from "./events";
import type { GroupChanges } from "./groups";
import { refreshMembersRoles, type RoleScope } from "./roles";

/**
 * Member ids one chunk adds or removes: its batch writes that many membership rows, as many change
 * events and the group's version. Measured on the local D1 engine, a 1,000-member chunk holds the
 * database for tens of milliseconds, so another tenant's request waits at most that long.
 */
export const PUSH_CHUNK = 1000;

/** Member ids read per query when a push reads the group's current members. */
export const MEMBER_PAGE = 10_000;

/** Everything a chunk needs to know about its push (kept by the writer with the plan). */
export interface PushRef {
  pushId: string;
  tenantId: string;
  groupId: string;
  logId: number;
  /** The membership events' base: tenant slug and group payload (its version is set per chunk). */
  membership: Omit<NewChangeEvent, "type">;
  /** The role scope of the push's write: a mapped group's chunk recomputes its members' roles. */
  roles?: RoleScope;
}

/**
 * A group's member ids in the order added, read MEMBER_PAGE at a time along its index (keyset),
 * so no single query reads a 100,000-member group.
 */
export async function pagedMemberIds(db: TenantDb, tenantId: string, groupId: string): Promise<string[]> {
  const ids: string[] = [];
  let after: { createdAt: string; memberId: string } | null = null;
  for (;;) {
    const rows: { createdAt: string; memberId: string }[] = await db
      .select({ createdAt: groupMembers.createdAt, memberId: groupMembers.memberId })
      .from(groupMembers)
      .where(
        and(
          eq(groupMembers.tenantId, tenantId),
          eq(groupMembers.groupId, groupId),
          after ? sql`(${groupMembers.createdAt}, ${groupMembers.memberId}) > (${after.createdAt}, ${after.memberId})` : undefined,
        ),
      )
      .orderBy(groupMembers.createdAt, groupMembers.memberId)
      .limit(MEMBER_PAGE);
    for (const row of rows) ids.push(row.memberId);
    if (rows.length < MEMBER_PAGE) return ids;
    after = rows[rows.length - 1]!;
  }
}

/**
 * The push's commit point, one batch: the group row at `version + 1` (compare-and-swap), the
 * write's log row, the group's own change events, and the push row that says the rest must follow.
 * Returns the log row's id, or null when the version moved (nothing written).
 */
export async function commitPush(
  db: TenantDb,
  push: { pushId: string; tenantId: string; groupId: string; version: number; changes: GroupChanges },
  event: NewEvent,
  groupEvents: NewChangeEvent[],
): Promise<number | null> {
  const { pushId, tenantId, groupId, version, changes } = push;
  const written = sql`EXISTS (SELECT 1 FROM groups WHERE id = ${groupId} AND version = ${version + 1})`;
  const results = await runBatch(db, [
    db
      .update(groups)
      .set({ ...changes, version: version + 1 })
      .where(and(eq(groups.tenantId, tenantId), eq(groups.id, groupId), eq(groups.version, version))),
    insertEventWhen(event, written),
    ...groupEvents.map((change) => insertChangeWhen(change, written)),
    sql`INSERT INTO group_pushes (push_id, tenant_id, group_id, log_id, started_at)
      SELECT ${pushId}, ${tenantId}, ${groupId}, (SELECT max(id) FROM events WHERE tenant_id = ${tenantId}), ${changes.updatedAt} WHERE ${written}`,
    sql`SELECT log_id FROM group_pushes WHERE push_id = ${pushId}`,
  ]);
  const row = results[results.length - 1]!.results[0] as { log_id: number } | undefined;
  return row ? Number(row.log_id) : null;
}

/** The push row, if the push committed and is not finished. */
export async function findPush(db: TenantDb, pushId: string) {
  const rows = await db.select().from(groupPushes).where(eq(groupPushes.pushId, pushId)).limit(1);
  return rows[0] ?? null;
}

/**
 * Chunk number `index`, one batch, applied only while the push row says it is next (exactly once:
 * run again after it committed, it does nothing). For `ids`, the users of the tenant that this
 * chunk adds (not members yet) or removes (members now): each membership change gets its change
 * event carrying the group's version after the chunk, and the group moves up one version if
 * anything changed. The push row counts what it did (added, removed, skipped ids that are no users
 * of the tenant) before the rows change, then moves on to the next chunk. Does nothing once the
 * push row is gone (finished, or the tenant erased). True when it applied.
 */
export async function applyPushChunk(db: TenantDb, push: PushRef, index: number, op: "add" | "remove", ids: string[], at: string): Promise<boolean> {
  const { pushId, tenantId, groupId } = push;
  const list = JSON.stringify(ids);
  const named = sql`u.tenant_id = ${tenantId} AND u.id IN (SELECT value FROM json_each(${list}))`;
  const isMember = sql`EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = ${tenantId} AND m.group_id = ${groupId} AND m.member_id = u.id)`;
  const targets = sql`SELECT u.id FROM users u WHERE ${named} AND ${op === "add" ? sql`NOT ` : sql``}${isMember}`;
  const unknown = sql`SELECT j.value AS id FROM json_each(${list}) j WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ${tenantId} AND u.id = j.value) ORDER BY j.key`;
  const turn = sql`EXISTS (SELECT 1 FROM group_pushes WHERE push_id = ${pushId} AND next_chunk = ${index})`;
  const version = sql`(SELECT version FROM groups WHERE tenant_id = ${tenantId} AND id = ${groupId})`;
  const counts =
    op === "add"
      ? sql`added = added + (SELECT count(*) FROM (${targets})), skipped = skipped + (SELECT count(*) FROM (${unknown})),
          skipped_sample = CASE WHEN json_array_length(skipped_sample) >= 5 THEN skipped_sample
            ELSE (SELECT json_group_array(id) FROM (SELECT id FROM (SELECT value AS id FROM json_each(skipped_sample) UNION ALL SELECT id FROM (${unknown})) LIMIT 5)) END`
      : sql`removed = removed + (SELECT count(*) FROM (${targets}))`;
  const results = await runBatch(db, [
    // Counted first: the statements below change who the targets are.
    sql`UPDATE group_pushes SET ${counts} WHERE push_id = ${pushId} AND next_chunk = ${index}`,
    sql`UPDATE groups SET version = version + 1, updated_at = ${at} WHERE tenant_id = ${tenantId} AND id = ${groupId} AND ${turn} AND EXISTS (${targets})`,
    insertMembershipChangesWhen({ ...push.membership, occurredAt: at }, op === "add" ? "group.user_added" : "group.user_removed", targets, turn, { version, logId: push.logId }),
    op === "add"
      ? sql`INSERT INTO group_members (tenant_id, group_id, member_id, created_at)
          SELECT ${tenantId}, ${groupId}, u.id, ${at} FROM users u WHERE ${named} AND ${turn}
          ON CONFLICT DO NOTHING`
      : sql`DELETE FROM group_members WHERE tenant_id = ${tenantId} AND group_id = ${groupId} AND member_id IN (SELECT value FROM json_each(${list})) AND ${turn}`,
    // A mapped group's members named here get their roles recomputed, in the chunk's own batch.
    ...refreshMembersRoles(push.roles, groupId, list, turn),
    sql`UPDATE group_pushes SET next_chunk = next_chunk + 1 WHERE push_id = ${pushId} AND next_chunk = ${index} RETURNING next_chunk`,
  ]);
  return results[results.length - 1]!.results.length > 0;
}

/**
 * The push's end, one batch: the log row gets its final detail (what was added, removed,
 * skipped), the push row goes. False when it was already finished.
 */
export async function finishPush(
  db: TenantDb,
  push: Pick<PushRef, "pushId" | "logId">,
  detail: (counts: { added: number; removed: number; skipped: number; skippedSample: string[] }) => string,
): Promise<boolean> {
  const row = await findPush(db, push.pushId);
  if (!row) return false;
  await runBatch(db, [
    sql`UPDATE events SET detail = ${detail({ ...row, skippedSample: JSON.parse(row.skippedSample) as string[] })} WHERE id = ${push.logId}`,
    sql`DELETE FROM group_pushes WHERE push_id = ${push.pushId}`,
  ]);
  return true;
}

/** Users in a tenant database. Every query is scoped by tenant_id: tenants may share a database. */
import { and, asc, count, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import { groupMembers, groups, users, type UserRow } from "../db/tenant/schema";
import type { GroupRef } from "../scim/users";
import type { TenantDb } from "../tenancy/tenant-db";
import { readInChunks, runBatch } from "./batch";
import { insertChangeWhen, insertRemovedFromGroupsWhen, type NewChangeEvent } from "./change-events";
import { insertEvent, insertEventWhen, type NewEvent } from "./events";
import { countUserAddedWhen, countUserRemovedWhen } from "./user-counts";

export async function getUser(db: TenantDb, tenantId: string, id: string): Promise<UserRow | null> {
  const rows = await db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.id, id)))
    .limit(1);
  return rows[0] ?? null;
}

/** Creates the user, its log event and change event atomically; false when the userName is taken (the unique index decides). */
export async function insertUser(db: TenantDb, row: UserRow, event: NewEvent, change: NewChangeEvent): Promise<boolean> {
  const created = sql`EXISTS (SELECT 1 FROM users WHERE id = ${row.id})`;
  const [inserted] = await runBatch(db, [
    db.insert(users).values(row).onConflictDoNothing(),
    insertEventWhen(event, created),
    insertChangeWhen(change, created),
    countUserAddedWhen(row.tenantId, created),
  ]);
  return inserted.meta.changes === 1;
}

export type UserChanges = Partial<Omit<UserRow, "tenantId" | "id" | "version" | "createdAt">> & { updatedAt: string };

/**
 * Writes `changes` only if the row is still at `version` (compare-and-swap), bumping it, with the
 * log event and change event in the same batch. Returns false when the version moved (the caller
 * re-reads and retries).
 */
export async function updateUser(
  db: TenantDb,
  tenantId: string,
  id: string,
  version: number,
  changes: UserChanges,
  event: NewEvent,
  change: NewChangeEvent,
): Promise<{ written: boolean; groups: GroupRef[] }> {
  const written = sql`EXISTS (SELECT 1 FROM users WHERE id = ${id} AND version = ${version + 1})`;
  const results = await runBatch(db, [
    db
      .update(users)
      .set({ ...changes, version: version + 1 })
      .where(and(eq(users.tenantId, tenantId), eq(users.id, id), eq(users.version, version))),
    insertEventWhen(event, written),
    insertChangeWhen(change, written),
    // The response's `groups`, read in the same round trip: memberships change through group writes too.
    membershipsQuery(db, tenantId, eq(groupMembers.memberId, id)),
  ]);
  return { written: results[0].meta.changes === 1, groups: groupRefsFromBatch(results[3]) };
}

/** Logs a write that changed nothing, and reads the user's groups for the response, in one round trip. */
export async function logUnchangedUser(db: TenantDb, tenantId: string, id: string, event: NewEvent): Promise<GroupRef[]> {
  const results = await runBatch(db, [insertEvent(db, event), membershipsQuery(db, tenantId, eq(groupMembers.memberId, id))]);
  return groupRefsFromBatch(results[1]);
}

/** Rows of membershipsQuery as a raw D1 batch returns them (named by column). */
function groupRefsFromBatch(result: D1Result): GroupRef[] {
  return (result.results as { id: string; display_name: string }[]).map((r) => ({ id: r.id, displayName: r.display_name }));
}

/**
 * Deletes the user at `version` and its memberships, atomically, with the log row and change events:
 * a `group.user_removed` per group it leaves, then `user.deleted` (a receiver applying them in order
 * never holds a membership of a user it has deleted), and each of those groups' version bumped (its
 * member list changed, so its ETag must). Every statement up to the delete is guarded by "the user
 * is still at `version`", so all of it happens only if the delete does.
 */
export async function deleteUser(db: TenantDb, tenantId: string, tenantSlug: string, id: string, version: number, event: NewEvent, change: NewChangeEvent): Promise<boolean> {
  const atVersion = sql`EXISTS (SELECT 1 FROM users WHERE tenant_id = ${tenantId} AND id = ${id} AND version = ${version})`;
  const [, , , , deleted] = await runBatch(db, [
    insertEventWhen(event, atVersion),
    insertRemovedFromGroupsWhen({ tenantId, tenantSlug, occurredAt: change.occurredAt }, id, atVersion),
    insertChangeWhen(change, atVersion),
    sql`UPDATE groups SET version = version + 1, updated_at = ${change.occurredAt}
      WHERE tenant_id = ${tenantId} AND id IN (SELECT group_id FROM group_members WHERE tenant_id = ${tenantId} AND member_id = ${id}) AND ${atVersion}`,
    db.delete(users).where(and(eq(users.tenantId, tenantId), eq(users.id, id), eq(users.version, version))),
    db.delete(groupMembers).where(and(eq(groupMembers.tenantId, tenantId), eq(groupMembers.memberId, id), sql`NOT EXISTS (SELECT 1 FROM users WHERE id = ${id})`)),
    countUserRemovedWhen(tenantId, sql`NOT EXISTS (SELECT 1 FROM users WHERE id = ${id})`),
  ]);
  return deleted!.meta.changes === 1;
}

export interface ListQuery {
  where?: SQL;
  orderBy: SQL;
  offset: number;
  limit: number;
}

/**
 * One page of users and the total, and optionally their group memberships, in a single D1 round
 * trip (a batch of reads): list requests are the hot path of Okta's lookups and imports.
 */
export async function listUsers(
  db: TenantDb,
  tenantId: string,
  query: ListQuery,
  options: { withGroups?: boolean } = {},
): Promise<{ total: number; rows: UserRow[]; groups: Map<string, GroupRef[]> }> {
  const where = and(eq(users.tenantId, tenantId), query.where);
  const totalQuery = db.select({ total: count() }).from(users).where(where);
  if (query.limit <= 0) {
    const [totals] = await db.batch([totalQuery]);
    return { total: totals[0]?.total ?? 0, rows: [], groups: new Map() };
  }
  const rowsQuery = db.select().from(users).where(where).orderBy(query.orderBy).limit(query.limit).offset(query.offset);
  if (!options.withGroups) {
    const [totals, rows] = await db.batch([totalQuery, rowsQuery]);
    return { total: totals[0]?.total ?? 0, rows, groups: new Map() };
  }
  const page = db.select({ id: users.id }).from(users).where(where).orderBy(query.orderBy).limit(query.limit).offset(query.offset);
  const [totals, rows, memberships] = await db.batch([totalQuery, rowsQuery, membershipsQuery(db, tenantId, inArray(groupMembers.memberId, page))]);
  return { total: totals[0]?.total ?? 0, rows, groups: groupRefsByUser(rows.map((r) => r.id), memberships) };
}

/** A user and its group memberships in one round trip. */
export async function getUserWithGroups(db: TenantDb, tenantId: string, id: string): Promise<{ row: UserRow; groups: GroupRef[] } | null> {
  const [rows, memberships] = await db.batch([
    db
      .select()
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.id, id)))
      .limit(1),
    membershipsQuery(db, tenantId, eq(groupMembers.memberId, id)),
  ]);
  return rows[0] ? { row: rows[0], groups: groupRefsByUser([id], memberships).get(id) ?? [] } : null;
}

function membershipsQuery(db: TenantDb, tenantId: string, members: SQL | undefined) {
  return db
    .select({ userId: groupMembers.memberId, id: groups.id, displayName: groups.displayName })
    .from(groupMembers)
    .innerJoin(groups, eq(groups.id, groupMembers.groupId))
    .where(and(eq(groupMembers.tenantId, tenantId), members))
    .orderBy(asc(groups.displayNameNorm));
}

function groupRefsByUser(userIds: string[], memberships: { userId: string; id: string; displayName: string }[]): Map<string, GroupRef[]> {
  const result = new Map<string, GroupRef[]>(userIds.map((id) => [id, []]));
  for (const row of memberships) result.get(row.userId)?.push({ id: row.id, displayName: row.displayName });
  return result;
}

/** The admin console's search: substring of userName, displayName or email, case-insensitively. */
export function userSearch(q: string): SQL {
  const pattern = `%${q.toLowerCase().replace(/[%_\\]/g, "\\$&")}%`;
  const likeEscaped = (column: SQL | typeof users.userNameNorm) => sql`lower(${column}) LIKE ${pattern} ESCAPE '\\'`;
  return or(likeEscaped(users.userNameNorm), likeEscaped(sql`coalesce(${users.displayName}, '')`), likeEscaped(sql`coalesce(${users.email}, '')`))!;
}

/** Direct group memberships of each user, for the read-only `groups` attribute. */
export async function groupsOfUsers(db: TenantDb, tenantId: string, userIds: string[]): Promise<Map<string, GroupRef[]>> {
  const memberships = await readInChunks(db, userIds, (ids) => membershipsQuery(db, tenantId, inArray(groupMembers.memberId, ids)));
  return groupRefsByUser(userIds, memberships);
}

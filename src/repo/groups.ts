/**
 * Groups and their membership rows in a tenant database. Membership is written as idempotent,
 * chunked `INSERT … ON CONFLICT DO NOTHING` / `DELETE … WHERE` statements (D1 allows 100 bound
 * parameters per statement), each guarded by the group's new version so that the whole change,
 * group row, members and event, lands atomically in one batch or not at all.
 */
import { and, asc, count, eq, inArray, sql, type SQL } from "drizzle-orm";
import { groupMembers, groupSizes, groups, users, type GroupRow } from "../db/tenant/schema";
import type { MemberRef } from "../scim/groups";
import { foldCase } from "../scim/text";
import type { TenantDb } from "../tenancy/tenant-db";
import { chunk, MAX_IN_LIST, readInChunks, runBatch, type BatchStatement } from "./batch";
import { insertChangeWhen, insertMembershipChangesWhen, type NewChangeEvent } from "./change-events";
import { insertEventWhen, type NewEvent } from "./events";
import { refreshForDeletedGroup, refreshMembersRoles, type RoleScope } from "./roles";
import { storedTotal, type ListQuery } from "./users";

export async function getGroup(db: TenantDb, tenantId: string, id: string): Promise<GroupRow | null> {
  const rows = await db
    .select()
    .from(groups)
    .where(and(eq(groups.tenantId, tenantId), eq(groups.id, id)))
    .limit(1);
  return rows[0] ?? null;
}

/** A group and its members in one round trip. */
export async function getGroupWithMembers(db: TenantDb, tenantId: string, id: string): Promise<{ row: GroupRow; members: MemberRef[] } | null> {
  const [rows, members] = await db.batch([
    db
      .select()
      .from(groups)
      .where(and(eq(groups.tenantId, tenantId), eq(groups.id, id)))
      .limit(1),
    membersQuery(db, tenantId, eq(groupMembers.groupId, id)),
  ]);
  return rows[0] ? { row: rows[0], members: membersByGroup([id], members).get(id) ?? [] } : null;
}

/** Which of `ids` are users of this tenant (a member id from another tenant is simply unknown here). */
export async function existingUserIds(db: TenantDb, tenantId: string, ids: string[]): Promise<Set<string>> {
  // One round trip for any number of ids: a 5,000-member Push Now checks them in one batch.
  const rows = await readInChunks(db, ids, (part) => db.select({ id: users.id }).from(users).where(and(eq(users.tenantId, tenantId), inArray(users.id, part))));
  return new Set(rows.map((r) => r.id));
}

function membersQuery(db: TenantDb, tenantId: string, groupsWanted: SQL) {
  return db
    .select({ groupId: groupMembers.groupId, id: users.id, displayName: users.displayName, userName: users.userName })
    .from(groupMembers)
    .innerJoin(users, eq(users.id, groupMembers.memberId))
    .where(and(eq(groupMembers.tenantId, tenantId), groupsWanted))
    .orderBy(asc(groupMembers.createdAt), asc(groupMembers.memberId));
}

function membersByGroup(groupIds: string[], rows: { groupId: string; id: string; displayName: string | null; userName: string }[]): Map<string, MemberRef[]> {
  const result = new Map<string, MemberRef[]>(groupIds.map((id) => [id, []]));
  for (const row of rows) result.get(row.groupId)?.push({ id: row.id, display: row.displayName ?? row.userName });
  return result;
}

/** Members with their display names (userName when displayName is empty), for several groups at once. */
export async function membersOfGroups(db: TenantDb, tenantId: string, groupIds: string[]): Promise<Map<string, MemberRef[]>> {
  return membersByGroup(groupIds, await readInChunks(db, groupIds, (ids) => membersQuery(db, tenantId, inArray(groupMembers.groupId, ids))));
}

export async function listMembers(db: TenantDb, tenantId: string, groupId: string) {
  return db
    .select({ id: users.id, userName: users.userName, displayName: users.displayName, active: users.active })
    .from(groupMembers)
    .innerJoin(users, eq(users.id, groupMembers.memberId))
    .where(and(eq(groupMembers.tenantId, tenantId), eq(groupMembers.groupId, groupId)))
    .orderBy(asc(users.userNameNorm));
}

/**
 * The change events of a group write: the group's own (created, updated, deleted; none when only
 * membership changed) and the base of its membership events (tenant, version, group), one of which
 * is written per member added or removed.
 */
export interface GroupChangeEvents {
  group: NewChangeEvent[];
  membership: Omit<NewChangeEvent, "type">;
  /** Members added or removed have their roles recomputed when the group is mapped (repo/roles). */
  roles?: RoleScope;
}

/** Change-event inserts after the write's log row: the group's own, then one per member added/removed. */
function changeStatements(changes: GroupChangeEvents, add: string[], remove: string[], guard: SQL): BatchStatement[] {
  return [
    ...changes.group.map((change) => insertChangeWhen(change, guard)),
    ...chunk(add, MAX_IN_LIST).map((part) => insertMembershipChangesWhen(changes.membership, "group.user_added", part, guard)),
    ...chunk(remove, MAX_IN_LIST).map((part) => insertMembershipChangesWhen(changes.membership, "group.user_removed", part, guard)),
  ];
}

/** The membership statements for a batch, each applied only if `guard` holds (the group write above happened). */
function membershipStatements(tenantId: string, groupId: string, add: string[], remove: string[], at: string, guard: SQL): BatchStatement[] {
  const statements: BatchStatement[] = [];
  for (const part of chunk(add, MAX_IN_LIST)) {
    // Selecting from users re-checks, at write time, that each member is a user of this tenant.
    statements.push(sql`INSERT INTO group_members (tenant_id, group_id, member_id, created_at)
      SELECT ${tenantId}, ${groupId}, u.id, ${at} FROM users u
      WHERE u.tenant_id = ${tenantId} AND u.id IN (${sql.join(part.map((id) => sql`${id}`), sql`, `)}) AND ${guard}
      ON CONFLICT DO NOTHING`);
  }
  for (const part of chunk(remove, MAX_IN_LIST)) {
    statements.push(sql`DELETE FROM group_members
      WHERE tenant_id = ${tenantId} AND group_id = ${groupId} AND member_id IN (${sql.join(part.map((id) => sql`${id}`), sql`, `)}) AND ${guard}`);
  }
  return statements;
}

/** Creates the group with its members and event atomically; false when the displayName is taken. */
export async function insertGroup(db: TenantDb, row: GroupRow, memberIds: string[], event: NewEvent, changes: GroupChangeEvents): Promise<boolean> {
  const created = sql`EXISTS (SELECT 1 FROM groups WHERE id = ${row.id})`;
  const [inserted] = await runBatch(db, [
    db.insert(groups).values(row).onConflictDoNothing(),
    ...membershipStatements(row.tenantId, row.id, memberIds, [], row.createdAt, created),
    insertEventWhen(event, created),
    ...changeStatements(changes, memberIds, [], created),
  ]);
  return inserted.meta.changes > 0;
}

export type GroupChanges = Partial<Pick<GroupRow, "displayName" | "displayNameNorm" | "externalId" | "data">> & { updatedAt: string };

/** Compare-and-swap update of the group row plus membership changes and the event, in one batch. */
export async function updateGroup(
  db: TenantDb,
  tenantId: string,
  id: string,
  version: number,
  changes: GroupChanges,
  membership: { add: string[]; remove: string[] },
  event: NewEvent,
  changeEvents: GroupChangeEvents,
  options: { readMembers?: boolean } = {},
): Promise<{ written: boolean; members?: MemberRef[] }> {
  const written = sql`EXISTS (SELECT 1 FROM groups WHERE id = ${id} AND version = ${version + 1})`;
  const results = await runBatch(db, [
    db
      .update(groups)
      .set({ ...changes, version: version + 1 })
      .where(and(eq(groups.tenantId, tenantId), eq(groups.id, id), eq(groups.version, version))),
    ...membershipStatements(tenantId, id, membership.add, membership.remove, changes.updatedAt, written),
    insertEventWhen(event, written),
    ...changeStatements(changeEvents, membership.add, membership.remove, written),
    ...refreshMembersRoles(changeEvents.roles, id, [...membership.add, ...membership.remove], written),
    // The response's members, as the write left them, in the same round trip.
    ...(options.readMembers ? [membersQuery(db, tenantId, eq(groupMembers.groupId, id))] : []),
  ]);
  const members = options.readMembers
    ? (results[results.length - 1].results as { id: string; display_name: string | null; user_name: string }[]).map((r) => ({ id: r.id, display: r.display_name ?? r.user_name }))
    : undefined;
  return { written: results[0].meta.changes > 0, members };
}

/**
 * A membership PATCH that names its members (`present`: ids it wants members, `absent`: ids it
 * wants gone), with any attribute changes, in ONE batch that decides the membership facts itself
 * instead of reading them first. Every statement before the membership writes sees the members
 * as they were, so: the group's version moves only if something changes; the log row's action and
 * detail (added / removed / skipped unknown ids) are computed in SQL from the same sets the writes
 * use; a `group.user_added` event is inserted for each user not yet a member, a `group.user_removed`
 * one for each member named to go; then the memberships are written. The ids travel as one JSON
 * array each (json_each), whatever their number. The last statement reads the version back:
 * `version + 1` written, `version` nothing to change (logged as such), anything else raced.
 */
export async function patchNamedMembers(
  db: TenantDb,
  tenantId: string,
  id: string,
  version: number,
  changes: GroupChanges,
  changedAttributes: string[],
  membership: { present: string[]; absent: string[] },
  /** `status`: what the client gets; `detail`: appended to the detail computed here (empty for none). */
  event: Pick<NewEvent, "at" | "resourceType" | "resourceId" | "target" | "tokenPrefix" | "actor" | "status" | "detail">,
  changeEvents: GroupChangeEvents,
): Promise<"written" | "unchanged" | "raced"> {
  const present = JSON.stringify(membership.present);
  const absent = JSON.stringify(membership.absent);
  const isMember = (member: SQL) => sql`EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = ${tenantId} AND m.group_id = ${id} AND m.member_id = ${member})`;
  /** Users named present that are not members yet: the ones this write adds. */
  const toAdd = sql`SELECT u.id FROM users u WHERE u.tenant_id = ${tenantId} AND u.id IN (SELECT value FROM json_each(${present})) AND NOT ${isMember(sql`u.id`)}`;
  /** Members named absent: the ones this write removes. */
  const toRemove = sql`SELECT u.id FROM users u WHERE u.tenant_id = ${tenantId} AND u.id IN (SELECT value FROM json_each(${absent})) AND ${isMember(sql`u.id`)}`;
  /** Ids named present that are neither users of this tenant nor members, in the order named. */
  const skipped = sql`SELECT j.value AS id FROM json_each(${present}) j WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = ${tenantId} AND u.id = j.value) AND NOT ${isMember(sql`j.value`)} ORDER BY j.key`;
  const changedAny = changedAttributes.length > 0 ? 1 : 0;
  const written = sql`EXISTS (SELECT 1 FROM groups WHERE id = ${id} AND version = ${version + 1})`;
  const unchanged = sql`EXISTS (SELECT 1 FROM groups WHERE id = ${id} AND version = ${version})`;
  const plural = (n: SQL, word: string) => sql`${n} || ' ${sql.raw(word)}' || CASE WHEN ${n} = 1 THEN '' ELSE 's' END`;
  const changedPart = changedAny ? `; changed: ${changedAttributes.join(", ")}` : "";
  const notePart = event.detail ? `; ${event.detail}` : "";
  // The detail as membershipDetail() words it (services/groups.ts), clipped like clipDetail().
  const detail = sql`CASE WHEN ${written} THEN substr(${changedPart}
        || CASE WHEN c.added > 0 THEN '; added ' || ${plural(sql`c.added`, "member")} ELSE '' END
        || CASE WHEN c.removed > 0 THEN '; removed ' || ${plural(sql`c.removed`, "member")} ELSE '' END
        || c.skipped_part || ${notePart}, 3)
      ELSE 'no changes' || c.skipped_part || ${notePart} END`;
  const logInsert = sql`WITH c AS (
      SELECT (SELECT count(*) FROM (${toAdd})) AS added, (SELECT count(*) FROM (${toRemove})) AS removed,
             (SELECT CASE WHEN count(*) = 0 THEN '' ELSE '; skipped ' || ${plural(sql`count(*)`, "unknown member id")} || ': '
                 || (SELECT group_concat(id, ', ') FROM (SELECT id FROM (${skipped}) LIMIT 5))
                 || CASE WHEN count(*) > 5 THEN ' and ' || (count(*) - 5) || ' more' ELSE '' END END
               FROM (${skipped})) AS skipped_part
    ), d AS (SELECT ${detail} AS detail, CASE WHEN ${written} AND (c.added > 0 OR c.removed > 0) THEN 'group.members' ELSE 'group.update' END AS action FROM c)
    INSERT INTO events (tenant_id, at, action, resource_type, resource_id, target, outcome, status, detail, token_prefix, actor)
    SELECT ${tenantId}, ${event.at}, d.action, ${event.resourceType}, ${event.resourceId}, ${event.target}, 'success', ${event.status},
           CASE WHEN length(d.detail) > 500 THEN substr(d.detail, 1, 499) || '…' ELSE d.detail END, ${event.tokenPrefix}, ${event.actor ? JSON.stringify(event.actor) : null}
    FROM d WHERE ${written} OR ${unchanged}`;
  const results = await runBatch(db, [
    db
      .update(groups)
      .set({ ...changes, version: version + 1 })
      .where(and(eq(groups.tenantId, tenantId), eq(groups.id, id), eq(groups.version, version), sql`(${changedAny} OR EXISTS (${toAdd}) OR EXISTS (${toRemove}))`)),
    logInsert,
    ...changeEvents.group.map((change) => insertChangeWhen(change, written)),
    // Before the membership writes below, which would change who these select.
    insertMembershipChangesWhen(changeEvents.membership, "group.user_added", toAdd, written),
    insertMembershipChangesWhen(changeEvents.membership, "group.user_removed", toRemove, written),
    sql`INSERT INTO group_members (tenant_id, group_id, member_id, created_at)
      SELECT ${tenantId}, ${id}, u.id, ${changes.updatedAt} FROM users u
      WHERE u.tenant_id = ${tenantId} AND u.id IN (SELECT value FROM json_each(${present})) AND ${written}
      ON CONFLICT DO NOTHING`,
    sql`DELETE FROM group_members WHERE tenant_id = ${tenantId} AND group_id = ${id} AND member_id IN (SELECT value FROM json_each(${absent})) AND ${written}`,
    ...refreshMembersRoles(changeEvents.roles, id, JSON.stringify([...membership.present, ...membership.absent]), written),
    sql`SELECT version FROM groups WHERE tenant_id = ${tenantId} AND id = ${id}`,
  ]);
  const now = (results[results.length - 1].results[0] as { version?: number } | undefined)?.version;
  return now === version + 1 ? "written" : now === version ? "unchanged" : "raced";
}

/** Deletes the group at `version` and its membership rows (never the users), with the event. */
export async function deleteGroup(db: TenantDb, tenantId: string, id: string, version: number, event: NewEvent, change: NewChangeEvent, roles?: RoleScope): Promise<boolean> {
  const gone = sql`NOT EXISTS (SELECT 1 FROM groups WHERE id = ${id})`;
  const [deleted] = await runBatch(db, [
    db.delete(groups).where(and(eq(groups.tenantId, tenantId), eq(groups.id, id), eq(groups.version, version))),
    // Its members' roles as if they had left it, and its rules removed, before its membership rows go.
    ...refreshForDeletedGroup(roles, id, gone),
    db.delete(groupMembers).where(and(eq(groupMembers.tenantId, tenantId), eq(groupMembers.groupId, id), gone)),
    insertEventWhen(event, gone),
    insertChangeWhen(change, gone),
  ]);
  return deleted.meta.changes > 0;
}

/**
 * At most this many members on one GET /Groups page: a page holds fewer groups than `count` when
 * their members would exceed it (RFC 7644 §3.4.2.4 allows fewer); a larger group still comes, alone.
 */
export const MAX_PAGE_MEMBERS = 10_000;

/**
 * One page of groups and the total, and optionally their members, in a single D1 round trip. With
 * members, the page ends before the group that would take it over MAX_PAGE_MEMBERS (group_sizes
 * holds each group's count); its first group is always on it.
 */
export async function listGroupRows(
  db: TenantDb,
  tenantId: string,
  query: ListQuery,
  options: { withMembers?: boolean; maxMembers?: number } = {},
): Promise<{ total: number; rows: GroupRow[]; members: Map<string, MemberRef[]> }> {
  const where = and(eq(groups.tenantId, tenantId), query.where);
  const totalQuery = query.where ? db.select({ total: count() }).from(groups).where(where) : storedTotal(db, tenantId, "groups");
  if (query.limit <= 0) {
    const [totals] = await db.batch([totalQuery]);
    return { total: totals[0]?.total ?? 0, rows: [], members: new Map() };
  }
  const orderBy = query.orderBy ?? sql`${groups.createdAt} ASC, ${groups.id} ASC`;
  if (!options.withMembers) {
    const rowsQuery = db.select().from(groups).where(where).orderBy(orderBy).limit(query.limit).offset(query.offset);
    const [totals, rows] = await db.batch([totalQuery, rowsQuery]);
    return { total: totals[0]?.total ?? 0, rows, members: new Map() };
  }
  const size = sql`coalesce(gs.members, 0)`;
  // `through`: the page's members up to and including this group.
  const page = sql`SELECT id FROM (
      SELECT id, k, running - first_value(running - size) OVER (ORDER BY k) AS through FROM (
        SELECT ${groups.id} AS id, ${size} AS size, row_number() OVER (ORDER BY ${orderBy}) AS k,
               sum(${size}) OVER (ORDER BY ${orderBy} ROWS UNBOUNDED PRECEDING) AS running
        FROM ${groups} LEFT JOIN group_sizes gs ON gs.group_id = ${groups.id}
        WHERE ${where} ORDER BY ${orderBy} LIMIT ${query.limit} OFFSET ${query.offset}))
    WHERE k = ${query.offset + 1} OR through <= ${options.maxMembers ?? MAX_PAGE_MEMBERS}`;
  const rowsQuery = db.select().from(groups).where(sql`${groups.id} IN (${page})`).orderBy(orderBy);
  const [totals, rows, members] = await db.batch([totalQuery, rowsQuery, membersQuery(db, tenantId, sql`${groupMembers.groupId} IN (${page})`)]);
  return { total: totals[0]?.total ?? 0, rows, members: membersByGroup(rows.map((r) => r.id), members) };
}

/** The admin view: groups with member counts, optionally searched by displayName. */
export async function listGroups(db: TenantDb, tenantId: string, query: { offset: number; limit: number; q?: string }) {
  const search = query.q ? sql`instr(${groups.displayNameNorm}, ${foldCase(query.q)}) > 0` : undefined;
  const { total, rows } = await listGroupRows(db, tenantId, { where: search, orderBy: sql`${groups.displayNameNorm} ASC, ${groups.id} ASC`, offset: query.offset, limit: query.limit });
  // Maintained counts (group_sizes): a 100,000-member group is one row, not a count of its members.
  const found = await readInChunks(db, rows.map((r) => r.id), (ids) => db.select({ groupId: groupSizes.groupId, n: groupSizes.members }).from(groupSizes).where(inArray(groupSizes.groupId, ids)));
  const counts = new Map(found.map((row) => [row.groupId, row.n]));
  return { total, rows: rows.map((row) => ({ ...row, memberCount: counts.get(row.id) ?? 0 })) };
}

/** Users in a tenant database. Every query is scoped by tenant_id: tenants may share a database. */
import { and, asc, count, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import { groupMembers, groups, resourceCounts, users, type UserRow } from "../db/tenant/schema";
import { textCandidates } from "../scim/filter/sql";
import type { GroupRef } from "../scim/users";
import type { TenantDb } from "../tenancy/tenant-db";
import { readInChunks, runBatch } from "./batch";
import { insertChangeWhen, insertRemovedFromGroupsWhen, type ChangeTable, type NewChangeEvent } from "./change-events";
import { insertEvent, insertEventWhen, type NewEvent } from "./events";
import { currentRoleOf, insertRoleChangedAfterWrite, newUserRole, roleOf, type RoleScope } from "./roles";

export async function getUser(db: TenantDb, tenantId: string, id: string): Promise<UserRow | null> {
  const rows = await db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.id, id)))
    .limit(1);
  return rows[0] ?? null;
}

/**
 * Creates the user, its log event and change event atomically; null when the userName is taken
 * (the unique index decides), else the role it was given (computed in the insert: see repo/roles).
 */
export async function insertUser(db: TenantDb, row: UserRow, event: NewEvent, change: NewChangeEvent, roles: RoleScope): Promise<{ role: string } | null> {
  const created = sql`EXISTS (SELECT 1 FROM users WHERE id = ${row.id})`;
  const results = await runBatch(db, [
    db.insert(users).values({ ...row, role: newUserRole(roles, row.idpRole) }).onConflictDoNothing(),
    insertEventWhen(event, created),
    insertChangeWhen(change, created, { set: { path: "$.user.role", value: currentRoleOf(roles, row.id) } }),
    sql`SELECT ${currentRoleOf(roles, row.id)} AS role`,
  ]);
  if (results[0]!.meta.changes === 0) return null;
  return { role: (results[3]!.results[0] as { role: string }).role };
}

/**
 * A write's change-event statements for `condition`, into `table`; `type` replaces the event's own
 * type (a reactivation that cancels a held deactivation but carries other changes).
 */
export type ChangeEmitter = (condition: SQL, table?: ChangeTable, type?: NewChangeEvent["type"]) => SQL[];

/**
 * The deactivation hold's part of a user write's batch (src/repo/guard.ts): given the write's
 * "it happened" condition and its change-event statements, the statements to run in their place.
 * Same batch, so no round trip of its own.
 */
export type HoldPlan = (written: SQL, emit: ChangeEmitter) => SQL[];

export type UserChanges = Partial<Omit<UserRow, "tenantId" | "id" | "version" | "createdAt">> & { updatedAt: string };

/**
 * Writes `changes` only if the row is still at `version` (compare-and-swap), bumping it, with the
 * log event and change event in the same batch. Returns false when the version moved (the caller
 * re-reads and retries). The role is recomputed in the same UPDATE (the pushed role may have
 * changed); `previousRole`: the role before, for the one `user.role_changed` event if it moved.
 */
export async function updateUser(
  db: TenantDb,
  tenantId: string,
  id: string,
  version: number,
  changes: UserChanges,
  event: NewEvent,
  change: NewChangeEvent,
  roles: RoleScope & { previousRole: string },
  hold?: HoldPlan,
): Promise<{ written: boolean; groups: GroupRef[]; role: string }> {
  const written = sql`EXISTS (SELECT 1 FROM users WHERE id = ${id} AND version = ${version + 1})`;
  const role = currentRoleOf(roles, id);
  const emit: ChangeEmitter = (condition, table, type) => [insertChangeWhen(type ? { ...change, type } : change, condition, { set: { path: "$.user.role", value: role }, table })];
  const results = await runBatch(db, [
    db
      .update(users)
      .set({ ...changes, role: roleOf(roles, { kind: "stored" }, "users", changes.idpRole), version: version + 1 })
      .where(and(eq(users.tenantId, tenantId), eq(users.id, id), eq(users.version, version))),
    insertEventWhen(event, written),
    ...(hold ? hold(written, emit) : emit(written)),
    insertRoleChangedAfterWrite(roles, id, version + 1, roles.previousRole),
    // The response's `groups`, read in the same round trip: memberships change through group writes too.
    membershipsQuery(db, tenantId, eq(groupMembers.memberId, id)),
    sql`SELECT ${role} AS role`,
  ]);
  return { written: results[0]!.meta.changes > 0, groups: groupRefsFromBatch(results.at(-2)!), role: (results.at(-1)!.results[0] as { role: string }).role };
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
export async function deleteUser(db: TenantDb, tenantId: string, tenantSlug: string, id: string, version: number, event: NewEvent, change: NewChangeEvent, hold?: HoldPlan): Promise<boolean> {
  const atVersion = sql`EXISTS (SELECT 1 FROM users WHERE tenant_id = ${tenantId} AND id = ${id} AND version = ${version})`;
  const emit: ChangeEmitter = (condition, table) => [
    insertRemovedFromGroupsWhen({ tenantId, tenantSlug, occurredAt: change.occurredAt }, id, condition, table),
    insertChangeWhen(change, condition, { table }),
  ];
  const results = await runBatch(db, [
    insertEventWhen(event, atVersion),
    ...(hold ? hold(atVersion, emit) : emit(atVersion)),
    sql`UPDATE groups SET version = version + 1, updated_at = ${change.occurredAt}
      WHERE tenant_id = ${tenantId} AND id IN (SELECT group_id FROM group_members WHERE tenant_id = ${tenantId} AND member_id = ${id}) AND ${atVersion}`,
    db.delete(users).where(and(eq(users.tenantId, tenantId), eq(users.id, id), eq(users.version, version))),
    db.delete(groupMembers).where(and(eq(groupMembers.tenantId, tenantId), eq(groupMembers.memberId, id), sql`NOT EXISTS (SELECT 1 FROM users WHERE id = ${id})`)),
  ]);
  return results.at(-2)!.meta.changes > 0; // the users delete
}

export interface ListQuery {
  where?: SQL;
  /** Omitted: the default order, `created_at, id`, which an unfiltered page may also read from the end. */
  orderBy?: SQL;
  offset: number;
  limit: number;
  /**
   * Every match is among the text index's candidates for `where` (compileFilterQuery,
   * userSearchIndexed): the candidates drive the query instead of a walk of the tenant's rows.
   */
  textIndexed?: boolean;
}

const DEFAULT_ORDER = sql`${users.createdAt} ASC, ${users.id} ASC`;

/** The maintained total of a tenant's users or groups (resource_counts, kept by triggers). */
export function storedTotal(db: TenantDb, tenantId: string, resource: "users" | "groups") {
  return db
    .select({ total: resourceCounts.n })
    .from(resourceCounts)
    .where(and(eq(resourceCounts.tenantId, tenantId), eq(resourceCounts.resource, resource)));
}

/**
 * The rowids of one unfiltered page in the default order, read from whichever end of the tenant's
 * (created_at, id) index is nearer: the maintained total says which, and an OFFSET past the middle
 * becomes a short one from the end. The branch not taken has LIMIT 0 and reads nothing.
 */
function unfilteredPageRowids(tenantId: string, offset: number, limit: number): SQL {
  const n = sql`coalesce((SELECT n FROM resource_counts WHERE tenant_id = ${tenantId} AND resource = 'users'), 0)`;
  const fromStart = sql`CASE WHEN ${offset} * 2 <= ${n} THEN ${limit} ELSE 0 END`;
  const fromEnd = sql`CASE WHEN ${offset} * 2 > ${n} THEN max(0, min(${limit}, ${n} - ${offset})) ELSE 0 END`;
  return sql`SELECT rowid FROM (SELECT rowid FROM users WHERE tenant_id = ${tenantId} ORDER BY created_at, id LIMIT ${fromStart} OFFSET ${offset})
    UNION ALL SELECT rowid FROM (SELECT rowid FROM users WHERE tenant_id = ${tenantId} ORDER BY created_at DESC, id DESC LIMIT ${fromEnd} OFFSET max(0, ${n} - ${offset} - ${limit}))`;
}

/**
 * One page of users and the total, and optionally their group memberships, in a single D1 round
 * trip (a batch of reads): list requests are the hot path of Okta's lookups and imports. The page
 * skips its OFFSET in an index only (its rowids first, then the rows), the unfiltered total is the
 * maintained one, and an unfiltered page past the middle is read from the end.
 */
export async function listUsers(
  db: TenantDb,
  tenantId: string,
  query: ListQuery,
  options: { withGroups?: boolean } = {},
): Promise<{ total: number; rows: UserRow[]; groups: Map<string, GroupRef[]> }> {
  // `+tenant_id`: not an index term, so the text index's candidates drive the query.
  const scope = query.textIndexed ? sql`+${users.tenantId} = ${tenantId}` : eq(users.tenantId, tenantId);
  const where = and(scope, query.where);
  const totalQuery = query.where ? db.select({ total: count() }).from(users).where(where) : storedTotal(db, tenantId, "users");
  if (query.limit <= 0) {
    const [totals] = await db.batch([totalQuery]);
    return { total: totals[0]?.total ?? 0, rows: [], groups: new Map() };
  }
  const orderBy = query.orderBy ?? DEFAULT_ORDER;
  const pageRowids =
    query.where || query.orderBy
      ? sql`SELECT ${users}.rowid FROM ${users} WHERE ${where} ORDER BY ${orderBy} LIMIT ${query.limit} OFFSET ${query.offset}`
      : unfilteredPageRowids(tenantId, query.offset, query.limit);
  const onPage = sql`${users}.rowid IN (${pageRowids})`;
  const rowsQuery = db.select().from(users).where(onPage).orderBy(orderBy);
  if (!options.withGroups) {
    const [totals, rows] = await db.batch([totalQuery, rowsQuery]);
    return { total: totals[0]?.total ?? 0, rows, groups: new Map() };
  }
  const page = db.select({ id: users.id }).from(users).where(onPage);
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

/**
 * The admin console's search: a substring of userName, displayName or email, case-insensitively
 * (ASCII letters; others as typed). `instr`, not LIKE: D1 refuses LIKE patterns over 50 bytes.
 * From 3 characters on, the text index finds the candidates (see userSearchIndexed).
 */
export function userSearch(q: string): SQL {
  const needle = q.toLowerCase();
  const contains = (column: SQL) => sql`instr(lower(${column}), ${needle}) > 0`;
  const exact = or(contains(sql`${users.userNameNorm}`), contains(sql`coalesce(${users.displayName}, '')`), contains(sql`coalesce(${users.email}, '')`))!;
  const candidates = textCandidates(USER_SEARCH_COLUMNS, needle);
  return candidates ? sql`(${candidates} AND ${exact})` : exact;
}

const USER_SEARCH_COLUMNS = "{user_name display_name email}";

/** Whether userSearch(q) is answered from the text index: pass it as ListQuery.textIndexed. */
export function userSearchIndexed(q: string): boolean {
  return textCandidates(USER_SEARCH_COLUMNS, q.toLowerCase()) !== undefined;
}

/** Direct group memberships of each user, for the read-only `groups` attribute. */
export async function groupsOfUsers(db: TenantDb, tenantId: string, userIds: string[]): Promise<Map<string, GroupRef[]>> {
  const memberships = await readInChunks(db, userIds, (ids) => membershipsQuery(db, tenantId, inArray(groupMembers.memberId, ids)));
  return groupRefsByUser(userIds, memberships);
}

/** Users in a tenant database. Every query is scoped by tenant_id: tenants may share a database. */
import { and, asc, count, eq, inArray, or, sql, type SQL } from "drizzle-orm";
import { groupMembers, groups, users, type UserRow } from "../db/tenant/schema";
import type { GroupRef } from "../scim/users";
import type { TenantDb } from "../tenancy/tenant-db";
import { runBatch } from "./batch";
import { insertEventWhen, type NewEvent } from "./events";

/** D1 allows 100 bound parameters per statement; IN lists are chunked below that. */
export const MAX_IN_LIST = 90;

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function getUser(db: TenantDb, tenantId: string, id: string): Promise<UserRow | null> {
  const rows = await db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.id, id)))
    .limit(1);
  return rows[0] ?? null;
}

export async function userIdByNorm(db: TenantDb, tenantId: string, userNameNorm: string): Promise<string | null> {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.userNameNorm, userNameNorm)))
    .limit(1);
  return rows[0]?.id ?? null;
}

/** Creates the user and its event atomically; false when the userName is taken (the unique index decides). */
export async function insertUser(db: TenantDb, row: UserRow, event: NewEvent): Promise<boolean> {
  const [inserted] = await runBatch(db, [
    db.insert(users).values(row).onConflictDoNothing(),
    insertEventWhen(event, sql`EXISTS (SELECT 1 FROM users WHERE id = ${row.id})`),
  ]);
  return inserted.meta.changes === 1;
}

export type UserChanges = Partial<Omit<UserRow, "tenantId" | "id" | "version" | "createdAt">> & { updatedAt: string };

/**
 * Writes `changes` only if the row is still at `version` (compare-and-swap), bumping it, with the
 * event in the same batch. Returns false when the version moved (the caller re-reads and retries).
 */
export async function updateUser(db: TenantDb, tenantId: string, id: string, version: number, changes: UserChanges, event: NewEvent): Promise<boolean> {
  const [updated] = await runBatch(db, [
    db
      .update(users)
      .set({ ...changes, version: version + 1 })
      .where(and(eq(users.tenantId, tenantId), eq(users.id, id), eq(users.version, version))),
    insertEventWhen(event, sql`EXISTS (SELECT 1 FROM users WHERE id = ${id} AND version = ${version + 1})`),
  ]);
  return updated.meta.changes === 1;
}

/** Deletes the user at `version`, its memberships and logs it, atomically. */
export async function deleteUser(db: TenantDb, tenantId: string, id: string, version: number, event: NewEvent): Promise<boolean> {
  const [deleted] = await runBatch(db, [
    db.delete(users).where(and(eq(users.tenantId, tenantId), eq(users.id, id), eq(users.version, version))),
    insertEventWhen(event, sql`NOT EXISTS (SELECT 1 FROM users WHERE id = ${id})`),
    db.delete(groupMembers).where(and(eq(groupMembers.tenantId, tenantId), eq(groupMembers.memberId, id), sql`NOT EXISTS (SELECT 1 FROM users WHERE id = ${id})`)),
  ]);
  return deleted.meta.changes === 1;
}

export interface ListQuery {
  where?: SQL;
  orderBy: SQL;
  offset: number;
  limit: number;
}

export async function listUsers(db: TenantDb, tenantId: string, query: ListQuery): Promise<{ total: number; rows: UserRow[] }> {
  const where = and(eq(users.tenantId, tenantId), query.where);
  const [totals, rows] = await Promise.all([
    db.select({ total: count() }).from(users).where(where),
    query.limit > 0
      ? db.select().from(users).where(where).orderBy(query.orderBy).limit(query.limit).offset(query.offset)
      : Promise.resolve([] as UserRow[]),
  ]);
  return { total: totals[0]?.total ?? 0, rows };
}

/** The admin console's search: substring of userName, displayName or email, case-insensitively. */
export function userSearch(q: string): SQL {
  const pattern = `%${q.toLowerCase().replace(/[%_\\]/g, "\\$&")}%`;
  const likeEscaped = (column: SQL | typeof users.userNameNorm) => sql`lower(${column}) LIKE ${pattern} ESCAPE '\\'`;
  return or(likeEscaped(users.userNameNorm), likeEscaped(sql`coalesce(${users.displayName}, '')`), likeEscaped(sql`coalesce(${users.email}, '')`))!;
}

/** Direct group memberships of each user, for the read-only `groups` attribute. */
export async function groupsOfUsers(db: TenantDb, tenantId: string, userIds: string[]): Promise<Map<string, GroupRef[]>> {
  const result = new Map<string, GroupRef[]>(userIds.map((id) => [id, []]));
  for (const ids of chunk(userIds, MAX_IN_LIST)) {
    const rows = await db
      .select({ userId: groupMembers.memberId, id: groups.id, displayName: groups.displayName })
      .from(groupMembers)
      .innerJoin(groups, eq(groups.id, groupMembers.groupId))
      .where(and(eq(groupMembers.tenantId, tenantId), inArray(groupMembers.memberId, ids)))
      .orderBy(asc(groups.displayNameNorm));
    for (const row of rows) result.get(row.userId)?.push({ id: row.id, displayName: row.displayName });
  }
  return result;
}


/**
 * Reads for the ScimDirectory RPC (src/rpc/directory.ts). Every query is scoped by tenant_id and
 * answered from an index: the RPC sits on TheStorage's sign-in path.
 */
import { and, asc, eq } from "drizzle-orm";
import { groupMembers, groups, users, type GroupRow, type UserRow } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";

/** A user by its folded userName (users_tenant_user_name_norm). */
export async function userByNorm(db: TenantDb, tenantId: string, userNameNorm: string): Promise<UserRow | null> {
  const rows = await db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.userNameNorm, userNameNorm)))
    .limit(1);
  return rows[0] ?? null;
}

/** Only the id and `active` flag of a user by folded userName: null when there is no such user. */
export async function activeByNorm(db: TenantDb, tenantId: string, userNameNorm: string): Promise<{ id: string; active: boolean } | null> {
  const rows = await db
    .select({ id: users.id, active: users.active })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.userNameNorm, userNameNorm)))
    .limit(1);
  return rows[0] ?? null;
}

/** listUsers pages with the CSV export's keyset read: (createdAt, id) order on users_tenant_created. */
export { usersAfter } from "./user-export";

/** The groups a user belongs to, by displayName. */
export async function groupsOfUser(db: TenantDb, tenantId: string, userId: string): Promise<GroupRow[]> {
  const rows = await db
    .select({ group: groups })
    .from(groupMembers)
    .innerJoin(groups, and(eq(groups.id, groupMembers.groupId), eq(groups.tenantId, tenantId)))
    .where(and(eq(groupMembers.tenantId, tenantId), eq(groupMembers.memberId, userId)))
    .orderBy(asc(groups.displayNameNorm));
  return rows.map((r) => r.group);
}

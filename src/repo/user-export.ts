/** Users in a stable order for exports: keyset paging on (created_at, id), the users_tenant_created index. */
import { and, asc, eq, gt, or } from "drizzle-orm";
import { users, type UserRow } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";

export interface UserCursor {
  createdAt: string;
  id: string;
}

/** Up to `limit` users of the tenant after `after` (from the start when null), oldest first. */
export function usersAfter(db: TenantDb, tenantId: string, after: UserCursor | null, limit: number): Promise<UserRow[]> {
  const afterCursor = after ? or(gt(users.createdAt, after.createdAt), and(eq(users.createdAt, after.createdAt), gt(users.id, after.id))) : undefined;
  return db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), afterCursor))
    .orderBy(asc(users.createdAt), asc(users.id))
    .limit(limit);
}

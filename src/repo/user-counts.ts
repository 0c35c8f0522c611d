/**
 * Users per tenant (`user_counts`), kept in the same batch as every user insert and delete, so the
 * tenant list reads one primary-key row per tenant and never counts users.
 */
import { eq, inArray, sql, type SQL } from "drizzle-orm";
import { userCounts } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";
import { readInChunks } from "./batch";

/** For a user insert's batch: one more user, if `condition` (the insert happened) holds. */
export function countUserAddedWhen(tenantId: string, condition: SQL): SQL {
  return sql`INSERT INTO user_counts (tenant_id, users) SELECT ${tenantId}, 1 WHERE ${condition}
    ON CONFLICT (tenant_id) DO UPDATE SET users = users + 1`;
}

/** For a user delete's batch: one user fewer, if `condition` (the delete happened) holds. */
export function countUserRemovedWhen(tenantId: string, condition: SQL): SQL {
  return sql`UPDATE user_counts SET users = max(users - 1, 0) WHERE tenant_id = ${tenantId} AND ${condition}`;
}

/** Tenant erasure: the count goes with the tenant. */
export async function deleteUserCount(db: TenantDb, tenantId: string): Promise<void> {
  await db.delete(userCounts).where(eq(userCounts.tenantId, tenantId));
}

/** The user counts of `tenantIds` (all in this database); a tenant without a row has 0. */
export async function userCountsOf(db: TenantDb, tenantIds: string[]): Promise<Map<string, number>> {
  const rows = await readInChunks(db, tenantIds, (ids) => db.select().from(userCounts).where(inArray(userCounts.tenantId, ids)));
  const byTenant = new Map(rows.map((r) => [r.tenantId, r.users]));
  return new Map(tenantIds.map((id) => [id, byTenant.get(id) ?? 0]));
}

/**
 * Users per tenant for the console's tenant cards: the `resource_counts` row that triggers keep with
 * every user insert and delete (migrations/tenant/0003), so the tenant list reads one primary-key row
 * per tenant and never counts users.
 */
import { and, eq, inArray } from "drizzle-orm";
import { resourceCounts } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";
import { readInChunks } from "./batch";

/** Tenant erasure: the counts go with the tenant. */
export async function deleteUserCount(db: TenantDb, tenantId: string): Promise<void> {
  await db.delete(resourceCounts).where(eq(resourceCounts.tenantId, tenantId));
}

/** The user counts of `tenantIds` (all in this database); a tenant without a row has 0. */
export async function userCountsOf(db: TenantDb, tenantIds: string[]): Promise<Map<string, number>> {
  const rows = await readInChunks(db, tenantIds, (ids) =>
    db.select().from(resourceCounts).where(and(inArray(resourceCounts.tenantId, ids), eq(resourceCounts.resource, "users"))),
  );
  const byTenant = new Map(rows.map((r) => [r.tenantId, r.n]));
  return new Map(tenantIds.map((id) => [id, byTenant.get(id) ?? 0]));
}

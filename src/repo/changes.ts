/** Reads of the change feed (the `change_events` outbox). Writes live in src/repo/change-events.ts. */
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { changeEvents, type ChangeEventRow } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";

/**
 * A tenant's events after `afterSeq` (exclusive), oldest first: one read on the (tenant_id, seq)
 * index. `types` narrows the page (an empty list or undefined means every type).
 */
export async function listChanges(db: TenantDb, tenantId: string, options: { afterSeq: number; limit: number; types?: readonly string[] }): Promise<ChangeEventRow[]> {
  return db
    .select()
    .from(changeEvents)
    .where(and(eq(changeEvents.tenantId, tenantId), gt(changeEvents.seq, options.afterSeq), options.types?.length ? inArray(changeEvents.type, [...options.types]) : undefined))
    .orderBy(asc(changeEvents.seq))
    .limit(options.limit);
}

/**
 * Tenant deletion and retention: bounded deletes over the tenant-data tables and the control rows
 * of a tenant. Every delete removes at most `limit` rows, so one statement stays far inside D1's
 * per-query time limit however big the backlog; callers repeat it under a budget.
 */
import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import { auditEvents, scimTokens, setupLinks, ssoConnections, tenants, type TenantRow } from "../db/control/schema";
import { tenantTokens } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";
import { runBatch } from "./batch";
import type { ControlDb } from "./control";

/** Every table of a tenant database; all carry `tenant_id` (and none references another, so any order erases). */
export const TENANT_TABLES = ["users", "groups", "group_members", "events", "change_events", "webhooks", "webhook_pending", "webhook_deliveries", "tenant_tokens", "resource_counts", "group_sizes", "sso_links", "sso_attempts_used", "sso_tickets", "group_pushes", "role_settings", "role_rules", "deactivation_guard", "deactivation_window", "held_changes", "connection_health", "connection_requests"] as const;
export type TenantTable = (typeof TENANT_TABLES)[number];

export type RowCounts = Partial<Record<TenantTable, number>>;

/** How many rows of the tenant each table holds (one batch). */
export async function countTenantRows(db: TenantDb, tenantId: string): Promise<RowCounts> {
  const results = await db.$client.batch(TENANT_TABLES.map((table) => db.$client.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE tenant_id = ?1`).bind(tenantId)));
  return Object.fromEntries(TENANT_TABLES.map((table, i) => [table, Number((results[i]!.results[0] as { n: number }).n)]));
}

/**
 * Deletes up to `limit` of the tenant's rows from each of `tables`, in one batch (one round trip,
 * one transaction); how many rows went from each, in the order of `tables`. Counted by RETURNING,
 * not `meta.changes`, which also counts what the tables' triggers changed (migrations/tenant/0003).
 */
export async function eraseTenantRows(db: TenantDb, tables: readonly TenantTable[], tenantId: string, limit: number): Promise<number[]> {
  const results = await db.$client.batch(
    tables.map((table) => db.$client.prepare(`DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE tenant_id = ?1 LIMIT ?2) RETURNING 1 AS gone`).bind(tenantId, limit)),
  );
  return results.map((result) => result.results.length);
}

/** The tenant's token digest copies in its own database (checked by SCIM auth alongside CONTROL_DB). */
export async function deleteTenantTokenCopies(db: TenantDb, tenantId: string): Promise<void> {
  await db.delete(tenantTokens).where(eq(tenantTokens.tenantId, tenantId));
}

/**
 * Starts deleting a tenant, atomically: marks it deleting (every lookup stops finding it) and
 * revokes its live token. False when it was already being deleted (a concurrent delete).
 */
export async function markTenantDeleting(db: ControlDb, tenantId: string, at: string): Promise<boolean> {
  const [marked] = await runBatch(db, [
    db
      .update(tenants)
      .set({ deletingAt: at })
      .where(and(eq(tenants.id, tenantId), isNull(tenants.deletingAt))),
    db
      .update(scimTokens)
      .set({ revokedAt: at })
      .where(and(eq(scimTokens.tenantId, tenantId), isNull(scimTokens.revokedAt))),
  ]);
  return marked!.meta.changes === 1;
}

/** Tenants whose deletion has started and not finished (the hourly job resumes them). */
export function listDeletingTenants(db: ControlDb): Promise<TenantRow[]> {
  return db.select().from(tenants).where(isNotNull(tenants.deletingAt)).orderBy(tenants.deletingAt);
}

/** True when `slug` belongs to a tenant whose deletion has not finished (it still holds the slug). */
export async function slugBeingDeleted(db: ControlDb, slug: string): Promise<boolean> {
  const rows = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(and(eq(tenants.slug, slug), isNotNull(tenants.deletingAt)))
    .limit(1);
  return rows.length > 0;
}

/** The last control rows of an erased tenant (tokens reference the tenant, so they go first). */
export async function deleteTenantControlRows(db: ControlDb, tenantId: string): Promise<void> {
  await runBatch(db, [
    db.delete(setupLinks).where(eq(setupLinks.tenantId, tenantId)),
    db.delete(ssoConnections).where(eq(ssoConnections.tenantId, tenantId)),
    db.delete(scimTokens).where(eq(scimTokens.tenantId, tenantId)),
    db.delete(tenants).where(and(eq(tenants.id, tenantId), isNotNull(tenants.deletingAt))),
  ]);
}

/**
 * Replaces the leading `prefix` of the detail of the tenant's latest `action` audit event by
 * `replacement` (a deletion's record turns from "erasing …" into "erased at … …"). Once only: a
 * detail no longer starting with `prefix` is left alone.
 */
export async function rewriteLatestAuditDetail(db: ControlDb, tenantId: string, action: string, prefix: string, replacement: string): Promise<void> {
  await db
    .update(auditEvents)
    .set({ detail: sql`${replacement} || substr(${auditEvents.detail}, ${prefix.length + 1})` })
    .where(
      and(
        eq(
          auditEvents.id,
          sql`(SELECT MAX(${auditEvents.id}) FROM ${auditEvents} WHERE ${auditEvents.tenantId} = ${tenantId} AND ${auditEvents.action} = ${action})`,
        ),
        sql`substr(${auditEvents.detail}, 1, ${prefix.length}) = ${prefix}`,
      ),
    );
}

/** Tables whose rows expire after the retention period, with their key and timestamp columns (both indexed). */
export const RETAINED_TENANT_TABLES = [
  { table: "events", key: "id", at: "at" },
  { table: "change_events", key: "seq", at: "occurred_at" },
  { table: "webhook_deliveries", key: "id", at: "at" },
] as const;

export const RETAINED_CONTROL_TABLES = [
  { table: "audit_events", key: "id", at: "at" },
] as const;

export type RetainedTable = (typeof RETAINED_TENANT_TABLES)[number] | (typeof RETAINED_CONTROL_TABLES)[number];

/** Deletes up to `limit` rows of `table` older than `cutoff` (ISO text compares as time); returns how many went. */
export async function deleteExpiredRows(db: { $client: D1Database }, spec: RetainedTable, cutoff: string, limit: number): Promise<number> {
  const result = await db.$client
    .prepare(`DELETE FROM ${spec.table} WHERE ${spec.key} IN (SELECT ${spec.key} FROM ${spec.table} WHERE ${spec.at} < ?1 LIMIT ?2)`)
    .bind(cutoff, limit)
    .run();
  return result.meta.changes;
}

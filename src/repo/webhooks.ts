/** Webhook endpoints and their delivery attempts (the dispatcher's claims on the outbox are in ./change-events). */
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import { changeEvents, webhookDeliveries, webhooks, type ChangeEventRow, type WebhookDeliveryRow, type WebhookRow } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";
import { chunk, readInChunks, runBatch } from "./batch";
import { clearPendingStatement, reschedulePendingStatement } from "./change-events";

export async function listWebhooks(db: TenantDb, tenantId: string): Promise<WebhookRow[]> {
  return db.select().from(webhooks).where(eq(webhooks.tenantId, tenantId)).orderBy(asc(webhooks.createdAt), asc(webhooks.id));
}

export async function getWebhook(db: TenantDb, tenantId: string, id: string): Promise<WebhookRow | null> {
  const rows = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.tenantId, tenantId), eq(webhooks.id, id)))
    .limit(1);
  return rows[0] ?? null;
}

/**
 * Inserts the webhook only while the tenant has fewer than `max`; false when it is at the limit.
 * The count and the insert are one statement, so two concurrent creates cannot both slip past it.
 */
export async function insertWebhookUnderLimit(db: TenantDb, row: WebhookRow, max: number): Promise<boolean> {
  const result = await db.run(sql`INSERT INTO webhooks (id, tenant_id, url, events, secret_ciphertext, created_at, secret_rotated_at, created_by)
    SELECT ${row.id}, ${row.tenantId}, ${row.url}, ${row.events === null ? null : JSON.stringify(row.events)}, ${row.secretCiphertext}, ${row.createdAt}, ${row.secretRotatedAt}, ${row.createdBy}
    WHERE (SELECT count(*) FROM webhooks WHERE tenant_id = ${row.tenantId}) < ${max}`);
  return (result.meta.changes ?? 0) > 0;
}

/** The deleted webhook, or null when there was none. */
export async function deleteWebhook(db: TenantDb, tenantId: string, id: string): Promise<WebhookRow | null> {
  const rows = await db
    .delete(webhooks)
    .where(and(eq(webhooks.tenantId, tenantId), eq(webhooks.id, id)))
    .returning();
  return rows[0] ?? null;
}

/** The webhook with its new secret, or null when there is no such webhook. */
export async function replaceSecret(db: TenantDb, tenantId: string, id: string, secretCiphertext: string, at: string): Promise<WebhookRow | null> {
  const rows = await db
    .update(webhooks)
    .set({ secretCiphertext, secretRotatedAt: at })
    .where(and(eq(webhooks.tenantId, tenantId), eq(webhooks.id, id)))
    .returning();
  return rows[0] ?? null;
}

export function webhooksByIds(db: TenantDb, ids: string[]): Promise<WebhookRow[]> {
  return readInChunks(db, ids, (part) => db.select().from(webhooks).where(inArray(webhooks.id, part)));
}

/** Change events by id (any tenant of this database: ids are unique). */
export function changeEventsByIds(db: TenantDb, ids: string[]): Promise<ChangeEventRow[]> {
  return readInChunks(db, ids, (part) => db.select().from(changeEvents).where(inArray(changeEvents.id, part)));
}

export async function listDeliveries(db: TenantDb, tenantId: string, webhookId: string, limit: number): Promise<WebhookDeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.webhookId, webhookId)))
    .orderBy(desc(webhookDeliveries.id))
    .limit(limit);
}

export type NewDelivery = Omit<WebhookDeliveryRow, "id">;

/**
 * Records a round of attempts in one D1 batch: their webhook_deliveries rows, the finished
 * deliveries no longer pending, the retried ones pending until their retry is due.
 */
export async function recordAttempts(
  db: TenantDb,
  rows: NewDelivery[],
  finished: { eventId: string; webhookId: string }[],
  retries: { eventId: string; webhookId: string; dueAt: string; attempts: number }[],
): Promise<void> {
  const statements = [
    // 10 columns a row: 9 rows stay under D1's 100 bound parameters.
    ...chunk(rows, 9).map((part) => db.insert(webhookDeliveries).values(part)),
    ...(finished.length ? [clearPendingStatement(finished)] : []),
    ...(retries.length ? [reschedulePendingStatement(retries)] : []),
  ];
  if (statements.length) await runBatch(db, statements);
}

/**
 * A `dead` row per dead-lettered delivery, numbered as the last attempt recorded for it; that
 * attempt's `nextAttemptAt` is cleared, since the Queue will not make it.
 */
export async function insertDeadDeliveries(db: TenantDb, rows: Omit<NewDelivery, "attempt" | "status">[]): Promise<void> {
  if (rows.length === 0) return;
  const statements = rows.flatMap((row) => {
    const ofThisDelivery = sql`tenant_id = ${row.tenantId} AND webhook_id = ${row.webhookId} AND event_id = ${row.eventId}`;
    const lastAttempt = sql`(SELECT coalesce(max(attempt), 0) FROM webhook_deliveries WHERE ${ofThisDelivery})`;
    return [
      sql`UPDATE webhook_deliveries SET next_attempt_at = NULL WHERE ${ofThisDelivery} AND status = 'failed' AND attempt = ${lastAttempt}`,
      sql`INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, type, attempt, status, http_status, at, error, next_attempt_at)
        SELECT ${row.tenantId}, ${row.webhookId}, ${row.eventId}, ${row.type}, ${lastAttempt}, 'dead', ${row.httpStatus}, ${row.at}, ${row.error}, NULL`,
    ];
  });
  await runBatch(db, statements);
}

export async function getChangeEvent(db: TenantDb, tenantId: string, id: string): Promise<ChangeEventRow | null> {
  const rows = await db
    .select()
    .from(changeEvents)
    .where(and(eq(changeEvents.tenantId, tenantId), eq(changeEvents.id, id)))
    .limit(1);
  return rows[0] ?? null;
}

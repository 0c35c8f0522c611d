/** The provisioning log: append-only, newest first when read. */
import { and, desc, eq, lt, sql, type SQL } from "drizzle-orm";
import { events, type EventRow } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";

export type NewEvent = Omit<EventRow, "id" | "actor"> & { actor?: EventRow["actor"] };

const MAX_DETAIL = 500;

export function clipDetail(detail: string): string {
  return detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail;
}

/** An event insert for a batch, inserted only if `condition` holds when it runs (e.g. "the write above happened"). */
export function insertEventWhen(event: NewEvent, condition: SQL): SQL {
  return sql`INSERT INTO events (tenant_id, at, action, resource_type, resource_id, target, outcome, status, detail, token_prefix, actor)
    SELECT ${event.tenantId}, ${event.at}, ${event.action}, ${event.resourceType}, ${event.resourceId}, ${event.target},
           ${event.outcome}, ${event.status}, ${clipDetail(event.detail)}, ${event.tokenPrefix}, ${event.actor ? JSON.stringify(event.actor) : null}
    WHERE ${condition}`;
}

/**
 * Inserts `event` unless the log already has a row of the same action and token prefix for the
 * tenant since `since` (ISO): a rate limit that holds across isolates. It reads only the rows of
 * that window (`events_at`; the unary `+` keeps SQLite from scanning the tenant's whole log instead).
 */
export function insertEventUnlessRecent(db: TenantDb, event: NewEvent, since: string) {
  return db.run(
    insertEventWhen(
      event,
      sql`NOT EXISTS (SELECT 1 FROM events WHERE at > ${since} AND +tenant_id = ${event.tenantId} AND action = ${event.action} AND token_prefix IS ${event.tokenPrefix})`,
    ),
  );
}

export function insertEvent(db: TenantDb, event: NewEvent) {
  return db.insert(events).values({ ...event, detail: clipDetail(event.detail) });
}

export async function listEvents(db: TenantDb, tenantId: string, options: { limit: number; before?: number; outcome?: string; action?: string; resourceId?: string }) {
  const conditions = [eq(events.tenantId, tenantId)];
  if (options.before !== undefined) conditions.push(lt(events.id, options.before));
  if (options.outcome) conditions.push(eq(events.outcome, options.outcome as EventRow["outcome"]));
  if (options.action) conditions.push(sql`${events.action} LIKE ${options.action.replace(/[%_\\]/g, "\\$&") + "%"} ESCAPE '\\'`);
  if (options.resourceId) conditions.push(eq(events.resourceId, options.resourceId));
  return db
    .select()
    .from(events)
    .where(and(...conditions))
    .orderBy(desc(events.id))
    .limit(options.limit);
}

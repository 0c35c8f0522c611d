/** The operator-wide audit trail of admin actions in CONTROL_DB, newest first when read. */
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { auditEvents, type AuditEventRow } from "../db/control/schema";
import type { ControlDb } from "./control";
import { clipDetail } from "./events";

export type NewAuditEvent = Omit<AuditEventRow, "id">;

export function insertAuditEvent(db: ControlDb, event: NewAuditEvent) {
  return db.insert(auditEvents).values({ ...event, detail: clipDetail(event.detail) });
}

export interface AuditFilters {
  before?: number;
  /** A live tenant (indexed). */
  tenantId?: string;
  /** Any tenant by slug, deleted ones included (their rows keep the slug). */
  tenantSlug?: string;
  outcome?: "success" | "failure";
  /** An action, or a prefix ending in "." (`webhook.`). */
  action?: string;
}

export async function listAuditEvents(db: ControlDb, options: AuditFilters & { limit: number }) {
  const conditions = [];
  if (options.before !== undefined) conditions.push(lt(auditEvents.id, options.before));
  if (options.tenantId) conditions.push(eq(auditEvents.tenantId, options.tenantId));
  if (options.tenantSlug) conditions.push(eq(auditEvents.tenantSlug, options.tenantSlug));
  if (options.outcome) conditions.push(eq(auditEvents.outcome, options.outcome));
  if (options.action) {
    conditions.push(options.action.endsWith(".") ? sql`${auditEvents.action} LIKE ${options.action.replace(/[%_\\]/g, "\\$&") + "%"} ESCAPE '\\'` : eq(auditEvents.action, options.action));
  }
  return db
    .select()
    .from(auditEvents)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(auditEvents.id))
    .limit(options.limit);
}

/** The operator-wide audit trail of admin actions in CONTROL_DB, newest first when read. */
import { and, desc, eq, lt } from "drizzle-orm";
import { auditEvents, type AuditEventRow } from "../db/control/schema";
import type { ControlDb } from "./control";
import { clipDetail } from "./events";

export type NewAuditEvent = Omit<AuditEventRow, "id">;

export function insertAuditEvent(db: ControlDb, event: NewAuditEvent) {
  return db.insert(auditEvents).values({ ...event, detail: clipDetail(event.detail) });
}

export async function listAuditEvents(db: ControlDb, options: { limit: number; before?: number; tenantId?: string }) {
  const conditions = [];
  if (options.before !== undefined) conditions.push(lt(auditEvents.id, options.before));
  if (options.tenantId) conditions.push(eq(auditEvents.tenantId, options.tenantId));
  return db
    .select()
    .from(auditEvents)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(auditEvents.id))
    .limit(options.limit);
}

/** Admin API: the operator-wide audit trail of admin actions across tenants (design.md §4c). */
import type { AuditEventRow } from "../../db/control/schema";
import { parseInput } from "../../lib/validate";
import { listAuditEvents } from "../../repo/audit";
import { controlDb } from "../../repo/control";
import { adminRoute, createAdminRouter, createRoute, errors, json, z } from "./openapi";

const auditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ description: "Events per page (1–500, default 50)." }),
  before: z.coerce.number().int().min(1).optional().openapi({ description: "An event id: only older events (the next page)." }),
});

const AdminActorSchema = z
  .object({
    type: z.enum(["admin-token", "access", "setup-link", "console"]),
    id: z.string().optional(),
    email: z.string().optional(),
  })
  .openapi("AdminActor");

const AuditEvent = z
  .object({
    id: z.number().int(),
    at: z.string(),
    action: z.string().openapi({ example: "scim.regenerate" }),
    tenant: z.string().nullable().openapi({ description: "The tenant's slug; null for actions on no tenant (console sign-in)." }),
    actor: AdminActorSchema,
    outcome: z.enum(["success", "failure"]),
    detail: z.string(),
    ip: z.string().nullable(),
  })
  .openapi("AuditEvent");

function auditView(row: AuditEventRow) {
  return { id: row.id, at: row.at, action: row.action, tenant: row.tenantSlug, actor: row.actor, outcome: row.outcome, detail: row.detail, ip: row.ip };
}

export const adminAuditRoutes = createAdminRouter();

adminRoute(
  adminAuditRoutes,
  createRoute({
    method: "get",
    path: "/audit",
    summary: "Admin actions across tenants, newest first",
    tags: ["Audit"],
    request: { query: auditQuery },
    responses: { 200: json(z.object({ events: z.array(AuditEvent) }), "A page of the audit trail"), ...errors(400) },
  }),
  async (c) => {
    const query = parseInput(auditQuery, c.req.query());
    const rows = await listAuditEvents(controlDb(c.env.CONTROL_DB), query);
    return c.json({ events: rows.map(auditView) });
  },
);

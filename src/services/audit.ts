/**
 * Admin actions (design.md §4c): each is recorded in the operator-wide audit trail (CONTROL_DB)
 * and, when it concerns a tenant whose data still exists, in that tenant's provisioning log, both
 * with the actor. The two databases cannot share a transaction: the audit row is written first and
 * the log row after it, so the operator-wide trail is never the one missing an action.
 */
import type { Env } from "../env";
import type { AdminActor } from "../lib/hono";
import { insertAuditEvent } from "../repo/audit";
import { controlDb } from "../repo/control";
import { insertEvent } from "../repo/events";
import { tenantDb, type TenantRef } from "../tenancy/tenant-db";

export interface AdminAction {
  /** e.g. `tenant.create`, `scim.enable`, `setup_link.create`, `console.sign_in`. */
  action: string;
  actor: AdminActor;
  tenant?: TenantRef | null;
  outcome?: "success" | "failure";
  /** HTTP status the action answered (the provisioning log shows it). */
  status?: number;
  detail?: string;
  /** The client IP (CF-Connecting-IP), when known. */
  ip?: string | null;
  /** Also write the tenant's provisioning log (default: when a tenant is given). */
  tenantLog?: boolean;
}

export async function recordAdminAction(env: Env, action: AdminAction): Promise<void> {
  const at = new Date().toISOString();
  const outcome = action.outcome ?? "success";
  const detail = action.detail ?? "";
  await insertAuditEvent(controlDb(env.CONTROL_DB), {
    at,
    tenantId: action.tenant?.id ?? null,
    tenantSlug: action.tenant?.slug ?? null,
    action: action.action,
    actor: { ...action.actor },
    outcome,
    detail,
    ip: action.ip ?? null,
  });
  if (action.tenant && action.tenantLog !== false) {
    await insertEvent(tenantDb(env, action.tenant), {
      tenantId: action.tenant.id,
      at,
      action: action.action,
      resourceType: "Tenant",
      resourceId: action.tenant.id,
      target: action.tenant.slug,
      outcome,
      status: action.status ?? (outcome === "success" ? 200 : 400),
      detail,
      tokenPrefix: null,
      actor: action.actor,
    });
  }
}

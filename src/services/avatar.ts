/**
 * An admin sets or clears a user's avatar (TheStorage-owned): the write runs in the user's Durable
 * Object like every write, its provisioning-log row carries the admin actor, and the action also
 * goes into the operator-wide audit trail (design.md §4c).
 */
import type { UserRow } from "../db/tenant/schema";
import type { Env } from "../env";
import type { AdminActor } from "../lib/hono";
import type { TenantRef } from "../tenancy/tenant-db";
import { recordAdminAction } from "./audit";
import { runWrite } from "./commands";
import { adminWriteActor } from "./write-context";

export async function setAvatarAsAdmin(env: Env, tenant: TenantRef, id: string, avatarUrl: string | null, actor: AdminActor, ip: string | null = null): Promise<UserRow> {
  const row = await runWrite<UserRow>(env, tenant, adminWriteActor(actor), { kind: "user.avatar", id, avatarUrl });
  // The tenant's log row was written with the user write itself (and names the user): the audit trail only.
  await recordAdminAction(env, {
    action: "user.avatar",
    actor,
    tenant,
    tenantLog: false,
    ip,
    status: 200,
    detail: `${avatarUrl ? "avatar set" : "avatar removed"} for ${row.userName} (${row.id})`,
  });
  return row;
}

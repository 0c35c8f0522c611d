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

export const MAX_AVATAR_URL = 2048;

/**
 * Why an avatar URL is refused, or null. https only: the console (its CSP allows https: images) and
 * TheStorage's app load it in pages served over https, where an http:// image would not show.
 */
export function avatarUrlProblem(value: string): string | null {
  if (value.length > MAX_AVATAR_URL) return `must be at most ${MAX_AVATAR_URL} characters`;
  if (!/^https:\/\//i.test(value) || !URL.canParse(value)) {
    return /^http:\/\//i.test(value) ? "must use https:// (an http:// image is blocked on TheStorage's https pages)" : "must be an https:// URL";
  }
  return null;
}

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

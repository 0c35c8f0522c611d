/**
 * The deactivation hold's part of a user write (design.md §4g): which plan a write carries into its
 * batch (src/repo/guard.ts holdPlan), built from the write's context. Called by src/services/users.ts.
 */
import { holdPlan, type UserWriteKind } from "../repo/guard";
import type { HoldPlan } from "../repo/users";
import { newChange, type WriteContext } from "../services/write-context";
import { trippedDetail } from "./core";

export const GUARD_TRIPPED_ACTION = "guard.tripped";

/** The hold plan of a write of `kind` to user `userId`; `otherChanges`: a reactivation that also changes other attributes. */
export function holdFor(ctx: WriteContext, userId: string, kind: UserWriteKind, options: { otherChanges?: boolean } = {}): HoldPlan {
  const at = new Date().toISOString();
  const connection = { provider: ctx.actor.provider, tokenPrefix: ctx.actor.tokenPrefix };
  const change = newChange(ctx, "connection.guard_tripped", ctx.tenant.id, null, { connection, guard: { trippedAt: at } });
  const log = {
    tenantId: ctx.tenant.id,
    at,
    action: GUARD_TRIPPED_ACTION,
    resourceType: "Tenant",
    resourceId: ctx.tenant.id,
    target: ctx.tenant.slug,
    outcome: "success" as const,
    status: 202,
    detail: trippedDetail(ctx.actor.provider),
    tokenPrefix: ctx.actor.tokenPrefix,
    actor: null,
  };
  return holdPlan(ctx.tenant.id, userId, kind, at, { change, log }, options);
}

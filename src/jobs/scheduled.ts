/** Cron Triggers (wrangler.toml [triggers]): the outbox sweep every minute; retention and token-copy sync hourly. */
import type { Env } from "../env";
import { dispatchPending } from "../events/dispatch";
import { syncTokenCopies } from "../services/token-copies";
import { RETENTION_CRON, runRetention } from "./retention";
import { tenantsWithStaleEvents } from "../repo/webhooks";
import { tenantBindings, tenantDb, type TenantRef } from "../tenancy/tenant-db";

export const SWEEP_CRON = "* * * * *";
/** An undispatched event younger than this is probably still being dispatched by its own request. */
const SWEEP_GRACE_MS = 30_000;

export async function handleScheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  switch (controller.cron) {
    case SWEEP_CRON:
      await sweepOutbox(env);
      return;
    case RETENTION_CRON:
      await runRetention(env);
      // Tenant-DB token copies back in step with CONTROL_DB (a live token without a copy still works meanwhile).
      await syncTokenCopies(env);
      return;
    default:
      console.warn(JSON.stringify({ level: "warn", msg: "unknown cron", cron: controller.cron }));
  }
}

/** Dispatches every tenant's change events that were committed over 30 s ago and never handed to the queue. */
export async function sweepOutbox(env: Env, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - SWEEP_GRACE_MS).toISOString();
  const stale: TenantRef[] = [];
  for (const database of tenantBindings(env)) {
    // The slug is not needed here: each event's data names its tenant, and the consumer reads id and database.
    for (const id of await tenantsWithStaleEvents(tenantDb(env, { database }), before)) stale.push({ id, slug: "", database });
  }
  let total = 0;
  for (const tenant of stale) {
    try {
      total += await dispatchPending(env, tenant);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "outbox sweep failed for a tenant", tenant: tenant.id, error: String(error) }));
    }
  }
  return total;
}

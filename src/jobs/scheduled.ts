/** Cron Triggers (wrangler.toml [triggers]): the outbox sweep every minute; retention and token-copy sync hourly. */
import type { Env } from "../env";
import { dispatchPending, redispatchStale } from "../events/dispatch";
import { syncTokenCopies } from "../services/token-copies";
import { RETENTION_CRON, runRetention } from "./retention";
import { tenantsWithUndispatched } from "../repo/change-events";
import { resumeStalledMoves } from "../placement/service";
import { controlDb } from "../repo/control";
import { databasesOf } from "../repo/tenant-moves";
import { tenantBindings, tenantDb, type TenantRef } from "../tenancy/tenant-db";

export const SWEEP_CRON = "* * * * *";
/** An undispatched event younger than this is probably still being dispatched by its own request. */
const SWEEP_GRACE_MS = 30_000;

export async function handleScheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  switch (controller.cron) {
    case SWEEP_CRON:
      await sweepOutbox(env);
      await resumeStalledMoves(env); // tenant moves whose alarm was lost (src/placement)
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

/**
 * Dispatches every tenant's change events that were committed over 30 s ago and never claimed by a
 * dispatch run, then hands to the queue again every delivery claimed over a minute ago and never
 * attempted (redispatchStale). Every run claims its own rows: nothing here waits on another
 * request's dispatch, so a stuck one cannot hold the sweep. One tenant or database failing does
 * not stop the others. Resolves to the number of events dispatched and deliveries re-sent.
 */
export async function sweepOutbox(env: Env, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - SWEEP_GRACE_MS).toISOString();
  let total = 0;
  for (const database of tenantBindings(env)) {
    try {
      // The slug is not needed here: each event's data names its tenant, and the consumer reads id and database.
      const found = await tenantsWithUndispatched(tenantDb(env, { database }), before);
      // Only tenants that live here: a tenant being moved has a copy in its new database (written
      // only by the move until the switch) and a frozen one in its old database after it (src/placement).
      const living = found.length ? await databasesOf(controlDb(env.CONTROL_DB), found) : new Map<string, string>();
      for (const id of found.filter((tenantId) => (living.get(tenantId) ?? database) === database)) {
        const tenant: TenantRef = { id, slug: "", database };
        total += await dispatchPending(env, tenant).catch((error) => {
          console.error(JSON.stringify({ level: "error", msg: "outbox sweep failed for a tenant", tenant: id, error: String(error) }));
          return 0;
        });
      }
      total += await redispatchStale(env, database, now);
    } catch (error) {
      console.error(JSON.stringify({ level: "error", msg: "outbox sweep failed for a database", database, error: String(error) }));
    }
  }
  return total;
}

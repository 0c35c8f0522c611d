/**
 * The hourly job ("23 * * * *"): finishes tenant deletions that are still running, then deletes
 * rows past their retention period, on every tenant database and CONTROL_DB. Every DELETE removes
 * at most `batchRows` rows, and a run stops after `maxStatements` statements or `maxMs`: a backlog
 * of millions of rows (a first deploy, a lowered retention) is worked off over several runs, each
 * far inside a cron invocation's limits, and each run simply starts again from the oldest rows.
 *
 * Retention periods:
 * - provisioning log (`events`), change events (`change_events`), webhook delivery attempts
 *   (`webhook_deliveries`): EVENT_RETENTION_DAYS, default 90. Long enough for a quarterly access
 *   review to read back the whole quarter, far past the time a change-feed consumer or webhook
 *   retries (days at most) need to catch up, and well past D1 Time Travel's 30-day window, so the
 *   log still tells who changed what for changes older than any point-in-time restore can reach.
 *   An unset or invalid value means 90.
 *   Change events are deleted at the horizon whether or not they were ever dispatched: one still
 *   undispatched after 90 days is from a delivery path that has been broken for a quarter, and the
 *   feed (`GET …/changes`) has served it all that time.
 * - the operator audit trail (`audit_events`): AUDIT_RETENTION_DAYS (400), or the event retention
 *   if that is longer. Admin actions are few, and an annual audit (SOC 2 type II, ISO 27001) looks
 *   back a full year: the trail must outlive the tenant logs it summarises.
 */
import type { Env } from "../env";
import { WorkBudget } from "../lib/budget";
import { controlDb } from "../repo/control";
import { deleteExpiredRows, RETAINED_CONTROL_TABLES, RETAINED_TENANT_TABLES, type RetainedTable } from "../repo/tenant-erasure";
import { ERASE_BATCH_ROWS, resumeTenantDeletions } from "../services/tenant-lifecycle";
import { tenantBindings, tenantDb } from "../tenancy/tenant-db";

export const RETENTION_CRON = "23 * * * *";
export const DEFAULT_RETENTION_DAYS = 90;
export const AUDIT_RETENTION_DAYS = 400;

const DAY_MS = 86_400_000;

/** EVENT_RETENTION_DAYS as a whole number of days (1–3650); anything else means the default, 90. */
export function retentionDays(env: Pick<Env, "EVENT_RETENTION_DAYS">): number {
  const raw = env.EVENT_RETENTION_DAYS?.trim() ?? "";
  const days = /^\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isInteger(days) && days >= 1 && days <= 3650 ? days : DEFAULT_RETENTION_DAYS;
}

export interface RetentionOptions {
  now?: number;
  /** Rows per DELETE statement. */
  batchRows?: number;
  /** Statements per run: well under D1's 1,000 queries per Worker invocation on Workers Paid (on Free, 50, a run stops early with an error and the next run continues). */
  maxStatements?: number;
  /** Wall time per run, well inside a cron invocation's limit. */
  maxMs?: number;
}

export interface RetentionReport {
  /** Rows deleted, by `<binding>.<table>`. */
  deleted: Record<string, number>;
  /** Tenants whose erasure finished in this run, and those still being erased. */
  tenantsErased: string[];
  tenantsPending: string[];
  /** False when the budget ran out with work left: the next run continues. */
  complete: boolean;
}

export async function runRetention(env: Env, options: RetentionOptions = {}): Promise<RetentionReport> {
  const now = options.now ?? Date.now();
  const batchRows = options.batchRows ?? ERASE_BATCH_ROWS;
  const maxStatements = options.maxStatements ?? 200;
  const deadline = Date.now() + (options.maxMs ?? 20_000);

  // Erasing a deleted tenant is owed to its customer: it goes first, with up to half the run.
  const erasure = new WorkBudget(Math.ceil(maxStatements / 2), deadline);
  const { finished, pending } = await resumeTenantDeletions(env, erasure, batchRows);
  const budget = new WorkBudget(maxStatements - erasure.used, deadline);

  const eventCutoff = new Date(now - retentionDays(env) * DAY_MS).toISOString();
  const cutoffs: Record<RetainedTable["table"], string> = {
    events: eventCutoff,
    change_events: eventCutoff,
    webhook_deliveries: eventCutoff,
    audit_events: new Date(now - Math.max(AUDIT_RETENTION_DAYS, retentionDays(env)) * DAY_MS).toISOString(),
  };
  const targets: Array<{ name: string; db: { $client: D1Database }; spec: RetainedTable }> = [
    ...tenantBindings(env).flatMap((binding) => RETAINED_TENANT_TABLES.map((spec) => ({ name: binding, db: tenantDb(env, { database: binding }), spec }))),
    ...RETAINED_CONTROL_TABLES.map((spec) => ({ name: "CONTROL_DB", db: controlDb(env.CONTROL_DB), spec })),
  ];

  const deleted: Record<string, number> = {};
  let complete = pending.length === 0;
  for (const { name, db, spec } of targets) {
    const key = `${name}.${spec.table}`;
    for (;;) {
      if (!budget.take()) {
        complete = false;
        break;
      }
      const n = await deleteExpiredRows(db, spec, cutoffs[spec.table], batchRows);
      if (n) deleted[key] = (deleted[key] ?? 0) + n;
      if (n < batchRows) break;
    }
    if (budget.exhausted && !complete) break;
  }
  const report = { deleted, tenantsErased: finished, tenantsPending: pending, complete };
  console.log(JSON.stringify({ level: "info", job: "retention", ...report }));
  return report;
}

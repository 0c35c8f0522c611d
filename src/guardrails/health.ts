/**
 * Connection health (design.md §4g): what each SCIM request (and each refused revoked token) says
 * about a tenant's connection, recorded off the response path (waitUntil: no round trip on the
 * request's critical path), and the state it adds up to. A change of state emits
 * `connection.health_changed` (and a provisioning-log row).
 */
import { createMiddleware } from "hono/factory";
import type { Env } from "../env";
import type { AppEnv } from "../lib/hono";
import { dispatchPending, knownToHaveNoWebhooks } from "../events/dispatch";
import { changeState, readHealth, recordRefusal, recordRequests, type HealthRecord } from "../repo/health";
import { MAX_IN_LIST, chunk } from "../repo/batch";
import { newChange } from "../services/write-context";
import { tenantDb, type TenantRef } from "../tenancy/tenant-db";
import { errorRate, firstRequestText, HealthAccumulator, healthState, providerName, type HealthFlush, type HealthState } from "./core";

const accumulator = new HealthAccumulator();

export const HEALTH_CHANGED_ACTION = "connection.health_changed";

function flushIntervalMs(env: Env): number {
  const seconds = Number(env.HEALTH_FLUSH_SECONDS ?? "10");
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 10_000;
}

function logError(msg: string, error: unknown) {
  console.error(JSON.stringify({ level: "error", msg, error: String((error as Error)?.stack ?? error) }));
}

/**
 * Mounted on the SCIM routes after authentication: counts the answer once it is known. A request
 * whose token is still being checked (a warm request that touched no data) is left out: it may yet
 * be refused. Refusals of revoked tokens are recorded by src/services/token-refusals.ts.
 */
export const connectionHealth = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  const tenant = c.get("tenant");
  if (!tenant || c.res.status === 401 || c.get("tokenGate")?.state === "pending") return;
  let ctx: ExecutionContext;
  try {
    ctx = c.executionCtx;
  } catch {
    return;
  }
  const env = c.env;
  const path = c.req.path.replace(/^\/api\/[^/]+\/scim\/v2/, "") || "/";
  const actor = c.get("actor");
  const sample = { at: new Date().toISOString(), request: `${c.req.method} ${path}`.slice(0, 200), provider: actor.provider, status: c.res.status };
  const interval = flushIntervalMs(env);
  const { flush, scheduleAfterMs } = accumulator.add(tenant.id, sample, Date.now(), interval);
  const connection = { provider: actor.provider, tokenPrefix: actor.tokenPrefix };
  if (flush) ctx.waitUntil(writeRequests(env, tenant, flush, connection).catch((e) => logError("recording connection health failed", e)));
  if (scheduleAfterMs !== null) {
    const later = new Promise((resolve) => setTimeout(resolve, scheduleAfterMs)).then(() => {
      const pending = accumulator.take(tenant.id, Date.now());
      return pending ? writeRequests(env, tenant, pending, connection) : undefined;
    });
    ctx.waitUntil(later.catch((e) => logError("recording connection health failed", e)));
  }
});

type Connection = { provider: string; tokenPrefix: string | null };

async function writeRequests(env: Env, tenant: TenantRef, flush: HealthFlush, connection: Connection): Promise<void> {
  const record = await recordRequests(tenantDb(env, tenant), tenant.id, flush);
  await settleState(env, tenant, record, connection, flush.lastRequestAt);
}

/** A revoked or rotated-away token of this tenant was presented (at most once a minute per token). */
export async function recordRefusedTokenHealth(env: Env, tenant: TenantRef, prefix: string, at: string): Promise<void> {
  const record = await recordRefusal(tenantDb(env, tenant), tenant.id, prefix, at);
  await settleState(env, tenant, record, { provider: record.row.firstProvider ?? "unknown", tokenPrefix: prefix }, at);
}

async function settleState(env: Env, tenant: TenantRef, record: HealthRecord, connection: Connection, at: string): Promise<void> {
  const view = healthView(record);
  if (view.state === record.row.state) return;
  const health = { state: view.state, previousState: record.row.state, errorRate1h: view.errorRate1h, lastSuccessAt: view.lastSuccessAt, rejectedToken: view.rejectedToken };
  const change = newChange({ tenant }, "connection.health_changed", tenant.id, null, { connection, health });
  const detail =
    view.state === "rejected_credentials"
      ? `Connection health: rejected credentials. ${providerName(connection.provider)} still sends token ${view.rejectedToken?.tokenPrefix}…, which no longer works: paste the current token into its provisioning settings.`
      : view.state === "failing"
        ? `Connection health: failing (${Math.round((view.errorRate1h ?? 1) * 100)}% of the last hour's requests failed${record.row.lastFailureStatus ? `; last failure ${record.row.lastFailureStatus}` : ""}).`
        : `Connection health: ${view.state.replace("_", " ")} (was ${record.row.state.replace("_", " ")}).`;
  const log = {
    tenantId: tenant.id,
    at,
    action: HEALTH_CHANGED_ACTION,
    resourceType: "Tenant",
    resourceId: tenant.id,
    target: tenant.slug,
    outcome: (view.state === "healthy" ? "success" : "failure") as "success" | "failure",
    status: 200,
    detail,
    tokenPrefix: connection.tokenPrefix,
    actor: null,
  };
  const emitted = await changeState(tenantDb(env, tenant), tenant.id, record.row.state, view.state, at, { change, log });
  // Recorded after the response, so no write's own dispatch carries it: hand it to the webhooks now
  // rather than at the minute sweep.
  if (emitted && !knownToHaveNoWebhooks(tenant.id)) await dispatchPending(env, tenant, { attemptNow: true });
}

export interface HealthView {
  state: HealthState;
  lastRequestAt: string | null;
  lastSuccessAt: string | null;
  errorRate1h: number | null;
  /** A revoked or rotated-away token still presented after the last success: its prefix and last time. */
  rejectedToken: { tokenPrefix: string; lastPresentedAt: string } | null;
  firstRequest: { at: string; request: string; provider: string | null; status: number | null; text: string } | null;
}

const NEVER: HealthView = { state: "never_connected", lastRequestAt: null, lastSuccessAt: null, errorRate1h: null, rejectedToken: null, firstRequest: null };

/** The state as of now, from the stored facts (the one last emitted may be older). */
export function healthView(record: HealthRecord | undefined): HealthView {
  if (!record) return NEVER;
  const { row } = record;
  const state = healthState({ firstRequestAt: row.firstRequestAt, lastSuccessAt: row.lastSuccessAt, refusedAt: row.refusedAt, requests1h: record.requests1h, failures1h: record.failures1h });
  const rejected = row.refusedAt && row.refusedPrefix && (!row.lastSuccessAt || row.refusedAt > row.lastSuccessAt);
  const first = row.firstRequestAt && row.firstRequest ? { at: row.firstRequestAt, request: row.firstRequest, provider: row.firstProvider } : null;
  return {
    state,
    lastRequestAt: row.lastRequestAt,
    lastSuccessAt: row.lastSuccessAt,
    errorRate1h: errorRate(record.requests1h, record.failures1h),
    rejectedToken: rejected ? { tokenPrefix: row.refusedPrefix!, lastPresentedAt: row.refusedAt! } : null,
    firstRequest: first ? { ...first, status: row.firstStatus, text: firstRequestText(first) } : null,
  };
}

/** The health of each tenant (one query per database and 90 tenants). */
export async function healthOf(env: Env, tenants: (TenantRef & { database: string })[]): Promise<Map<string, HealthView>> {
  const byDatabase = new Map<string, TenantRef[]>();
  for (const t of tenants) byDatabase.set(t.database, [...(byDatabase.get(t.database) ?? []), t]);
  const views = new Map<string, HealthView>();
  const at = new Date().toISOString();
  await Promise.all(
    [...byDatabase].map(async ([, group]) => {
      let db;
      try {
        db = tenantDb(env, group[0]!);
      } catch {
        return; // a binding this deployment lacks
      }
      for (const ids of chunk(group.map((t) => t.id), MAX_IN_LIST)) {
        const records = await readHealth(db, ids, at);
        for (const id of ids) views.set(id, healthView(records.get(id)));
      }
    }),
  );
  return views;
}

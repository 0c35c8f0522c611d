/**
 * Connection health (design.md §4g) in the tenant database: written off the response path, one
 * batch per flush (src/guardrails/health.ts), read by the admin API and the console.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { connectionHealth, type ConnectionHealthRow } from "../db/tenant/schema";
import type { HealthFlush } from "../guardrails/core";
import type { TenantDb } from "../tenancy/tenant-db";
import { runBatch } from "./batch";
import { insertChangeWhen, type NewChangeEvent } from "./change-events";
import { insertEventWhen, type NewEvent } from "./events";

const BUCKET_MS = 5 * 60_000;
const PRUNE_PER_WRITE = 12;

export function bucketOf(at: string): string {
  return new Date(Math.floor(Date.parse(at) / BUCKET_MS) * BUCKET_MS).toISOString();
}

const hourBefore = (at: string) => new Date(Date.parse(at) - 3600_000).toISOString();

export interface HealthRecord {
  row: ConnectionHealthRow;
  requests1h: number;
  failures1h: number;
}

/** The tenant's row and the last hour's counts, as one statement (for the end of a write batch). */
function readStatement(tenantId: string, at: string) {
  return sql`SELECT h.*,
      (SELECT coalesce(sum(requests), 0) FROM connection_requests WHERE tenant_id = ${tenantId} AND bucket >= ${bucketOf(hourBefore(at))}) AS requests_1h,
      (SELECT coalesce(sum(failures), 0) FROM connection_requests WHERE tenant_id = ${tenantId} AND bucket >= ${bucketOf(hourBefore(at))}) AS failures_1h
    FROM connection_health h WHERE h.tenant_id = ${tenantId}`;
}

interface RawHealth {
  tenant_id: string;
  state: string;
  state_changed_at: string | null;
  state_change_id: string | null;
  first_request_at: string | null;
  first_request: string | null;
  first_provider: string | null;
  first_status: number | null;
  last_request_at: string | null;
  last_request: string | null;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_failure_status: number | null;
  refused_prefix: string | null;
  refused_at: string | null;
  requests_1h: number;
  failures_1h: number;
}

function recordOf(r: RawHealth): HealthRecord {
  return {
    row: {
      tenantId: r.tenant_id,
      state: r.state,
      stateChangedAt: r.state_changed_at,
      stateChangeId: r.state_change_id,
      firstRequestAt: r.first_request_at,
      firstRequest: r.first_request,
      firstProvider: r.first_provider,
      firstStatus: r.first_status,
      lastRequestAt: r.last_request_at,
      lastRequest: r.last_request,
      lastSuccessAt: r.last_success_at,
      lastFailureAt: r.last_failure_at,
      lastFailureStatus: r.last_failure_status,
      refusedPrefix: r.refused_prefix,
      refusedAt: r.refused_at,
    },
    requests1h: Number(r.requests_1h),
    failures1h: Number(r.failures_1h),
  };
}

const later = (column: string, value: string | null) =>
  value === null ? sql.raw(column) : sql`CASE WHEN ${sql.raw(column)} IS NULL OR ${sql.raw(column)} < ${value} THEN ${value} ELSE ${sql.raw(column)} END`;

/** Adds one isolate's pending requests; returns the row and counts after it, in the same batch. */
export async function recordRequests(db: TenantDb, tenantId: string, flush: HealthFlush): Promise<HealthRecord> {
  const at = flush.lastRequestAt;
  const first = flush.first;
  const results = await runBatch(db, [
    sql`INSERT INTO connection_requests (tenant_id, bucket, requests, failures) VALUES (${tenantId}, ${bucketOf(at)}, ${flush.requests}, ${flush.failures})
      ON CONFLICT (tenant_id, bucket) DO UPDATE SET requests = requests + excluded.requests, failures = failures + excluded.failures`,
    sql`INSERT INTO connection_health (tenant_id, first_request_at, first_request, first_provider, first_status, last_request_at, last_request, last_success_at, last_failure_at, last_failure_status)
      VALUES (${tenantId}, ${first?.at ?? null}, ${first?.request ?? null}, ${first?.provider ?? null}, ${first?.status ?? null}, ${at}, ${flush.lastRequest},
              ${flush.lastSuccessAt}, ${flush.lastFailureAt}, ${flush.lastFailureStatus})
      ON CONFLICT (tenant_id) DO UPDATE SET
        first_request = CASE WHEN first_request_at IS NULL OR (excluded.first_request_at IS NOT NULL AND excluded.first_request_at < first_request_at) THEN excluded.first_request ELSE first_request END,
        first_provider = CASE WHEN first_request_at IS NULL OR (excluded.first_request_at IS NOT NULL AND excluded.first_request_at < first_request_at) THEN excluded.first_provider ELSE first_provider END,
        first_status = CASE WHEN first_request_at IS NULL OR (excluded.first_request_at IS NOT NULL AND excluded.first_request_at < first_request_at) THEN excluded.first_status ELSE first_status END,
        first_request_at = CASE WHEN first_request_at IS NULL OR (excluded.first_request_at IS NOT NULL AND excluded.first_request_at < first_request_at) THEN excluded.first_request_at ELSE first_request_at END,
        last_request = CASE WHEN last_request_at IS NULL OR last_request_at <= excluded.last_request_at THEN excluded.last_request ELSE last_request END,
        last_request_at = ${later("last_request_at", at)},
        last_success_at = ${later("last_success_at", flush.lastSuccessAt)},
        last_failure_status = CASE WHEN excluded.last_failure_at IS NOT NULL AND (last_failure_at IS NULL OR last_failure_at <= excluded.last_failure_at) THEN excluded.last_failure_status ELSE last_failure_status END,
        last_failure_at = ${later("last_failure_at", flush.lastFailureAt)}`,
    sql`DELETE FROM connection_requests WHERE tenant_id = ${tenantId} AND bucket IN
      (SELECT bucket FROM connection_requests WHERE tenant_id = ${tenantId} AND bucket < ${bucketOf(hourBefore(hourBefore(at)))} ORDER BY bucket LIMIT ${PRUNE_PER_WRITE})`,
    readStatement(tenantId, at),
  ]);
  return recordOf(results.at(-1)!.results[0] as RawHealth);
}

/** A revoked or rotated-away token of this tenant was presented at `at`. */
export async function recordRefusal(db: TenantDb, tenantId: string, prefix: string, at: string): Promise<HealthRecord> {
  const results = await runBatch(db, [
    sql`INSERT INTO connection_health (tenant_id, refused_prefix, refused_at) VALUES (${tenantId}, ${prefix}, ${at})
      ON CONFLICT (tenant_id) DO UPDATE SET
        refused_prefix = CASE WHEN refused_at IS NULL OR refused_at <= excluded.refused_at THEN excluded.refused_prefix ELSE refused_prefix END,
        refused_at = ${later("refused_at", at)}`,
    readStatement(tenantId, at),
  ]);
  return recordOf(results.at(-1)!.results[0] as RawHealth);
}

/**
 * Moves the stored state from `from` to `to` and emits its change event and log row, only if the
 * state is still `from`: of two flushes seeing the same change, one emits it.
 */
export async function changeState(db: TenantDb, tenantId: string, from: string, to: string, at: string, emit: { change: NewChangeEvent; log: NewEvent }): Promise<boolean> {
  const id = crypto.randomUUID();
  const mine = sql`EXISTS (SELECT 1 FROM connection_health WHERE tenant_id = ${tenantId} AND state_change_id = ${id})`;
  const [updated] = await runBatch(db, [
    sql`UPDATE connection_health SET state = ${to}, state_changed_at = ${at}, state_change_id = ${id} WHERE tenant_id = ${tenantId} AND state = ${from}`,
    insertEventWhen(emit.log, mine),
    insertChangeWhen(emit.change, mine),
  ]);
  return updated!.meta.changes > 0;
}

/** The health of each of `tenantIds` (one query; ids chunked by the caller under D1's 100 parameters). */
export async function readHealth(db: TenantDb, tenantIds: string[], at: string): Promise<Map<string, HealthRecord>> {
  if (tenantIds.length === 0) return new Map();
  const since = bucketOf(hourBefore(at));
  const rows = await db
    .select({
      row: connectionHealth,
      // Qualified by hand: drizzle renders a column in a select list unqualified, which here would name r's own.
      requests1h: sql<number>`(SELECT coalesce(sum(r.requests), 0) FROM connection_requests r WHERE r.tenant_id = connection_health.tenant_id AND r.bucket >= ${since})`,
      failures1h: sql<number>`(SELECT coalesce(sum(r.failures), 0) FROM connection_requests r WHERE r.tenant_id = connection_health.tenant_id AND r.bucket >= ${since})`,
    })
    .from(connectionHealth)
    .where(inArray(connectionHealth.tenantId, tenantIds));
  return new Map(rows.map((r) => [r.row.tenantId, { row: r.row, requests1h: Number(r.requests1h), failures1h: Number(r.failures1h) }]));
}

/** Only the first request (the console's live "Received GET /Users" poll): one primary-key read. */
export async function readFirstRequest(db: TenantDb, tenantId: string) {
  const rows = await db
    .select({ at: connectionHealth.firstRequestAt, request: connectionHealth.firstRequest, provider: connectionHealth.firstProvider, status: connectionHealth.firstStatus })
    .from(connectionHealth)
    .where(and(eq(connectionHealth.tenantId, tenantId)))
    .limit(1);
  const row = rows[0];
  return row?.at && row.request ? { at: row.at, request: row.request, provider: row.provider, status: row.status } : null;
}

/**
 * The transactional outbox: change-event inserts for a write's own batch, and the dispatcher's
 * claims on it (below). Each insert is guarded by the same condition as the write's
 * provisioning-log row ("the write above happened"), so a change event exists if and only if its
 * change committed. Ids are made in SQL, so one statement
 * can yield an event per member of a 5,000-member push without binding 5,000 ids twice.
 */
import { sql, type SQL } from "drizzle-orm";
import type { ChangeEventRow, WebhookRow } from "../db/tenant/schema";
import type { ChangeEventType } from "../events/catalogue";
import type { TenantDb } from "../tenancy/tenant-db";
import { runBatch } from "./batch";

export interface NewChangeEvent {
  tenantId: string;
  type: ChangeEventType;
  occurredAt: string;
  resourceId: string | null;
  version: number | null;
  /** The payload's `data`: tenant slug, version and the resource. */
  data: Record<string, unknown>;
}

export const EVENT_ID = sql.raw(`'evt_' || lower(hex(randomblob(16)))`);

/** The provisioning-log row this batch wrote just before (ids only grow, and a batch is one transaction). */
export const logIdOf = (tenantId: string) => sql`(SELECT max(id) FROM events WHERE tenant_id = ${tenantId})`;

/**
 * `dispatched_at` of a new event: null (for the dispatcher) while the tenant has a webhook, else
 * the transaction's time: with no webhook there is nothing to hand to the queue, so neither the
 * after-write dispatch nor the sweep need read or mark it. Decided in the write's transaction, so
 * an event committed after a webhook's insert is always left for the dispatcher. `tenantId` is SQL
 * (a bound id or a column): a membership insert has no bound parameter to spare under D1's 100.
 */
export const dispatchedAtFor = (tenantId: SQL) =>
  sql`CASE WHEN EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = ${tenantId}) THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END`;

/**
/**
 * Where a change event goes: the outbox and feed, or `held_changes` while the deactivation hold
 * keeps it back (src/repo/guard.ts; same columns, moved to change_events on release).
 */
export type ChangeTable = "change_events" | "held_changes";

/**
 * A change-event insert for a batch, inserted only if `condition` holds when it runs. `set`: a
 * value of the payload read at that point of the batch (e.g. `$.user.role`, which the write computes
 * in SQL); `table`: where it goes (the hold's table instead of the outbox).
 */
export function insertChangeWhen(event: NewChangeEvent, condition: SQL, { set, table = "change_events" }: { set?: { path: string; value: SQL }; table?: ChangeTable } = {}): SQL {
  const data = set ? sql`json_set(${JSON.stringify(event.data)}, ${set.path}, ${set.value})` : sql`${JSON.stringify(event.data)}`;
  return sql`INSERT INTO ${sql.raw(table)} (id, tenant_id, type, occurred_at, resource_id, version, data, log_id, dispatched_at)
    SELECT ${EVENT_ID}, ${event.tenantId}, ${event.type}, ${event.occurredAt}, ${event.resourceId}, ${event.version},
           ${data}, ${logIdOf(event.tenantId)}, ${dispatchedAtFor(sql`${event.tenantId}`)}
    WHERE ${condition}`;
}

/**
 * One `group.user_added` / `group.user_removed` event per user of the tenant among `memberIds`
 * (ids in a chunk under D1's parameter limit, or a query yielding `id`s at that point of the
 * batch), with the user's ids read at write time, in the order the users were created. The
 * members are found by primary key (INDEXED BY: for the ORDER BY, SQLite would otherwise walk the
 * tenant's whole (tenant_id, created_at) index and test each user against the list, a 100,000-row
 * walk per statement in a large tenant; sorting the few found is cheap). `base.data` holds tenant, version and group; the
 * user is added per row.
 */
export function insertMembershipChangesWhen(
  base: Omit<NewChangeEvent, "type">,
  type: "group.user_added" | "group.user_removed",
  memberIds: string[] | SQL,
  condition: SQL,
  /**
   * For a chunk of a large push (src/services/group-push.ts): `version`, the group's version as
   * SQL (read at write time, in the event and its data), and `logId`, the push's own log row.
   */
  options: { version?: SQL; logId?: number } = {},
): SQL {
  const { user: _ignored, ...data } = base.data;
  const ids = Array.isArray(memberIds) ? sql.join(memberIds.map((id) => sql`${id}`), sql`, `) : memberIds;
  const version = options.version ?? sql`${base.version}`;
  const payload = options.version ? sql`json_set(${JSON.stringify(data)}, '$.version', ${version})` : sql`${JSON.stringify(data)}`;
  const logId = options.logId === undefined ? logIdOf(base.tenantId) : sql`${options.logId}`;
  return sql`INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data, log_id, dispatched_at)
    SELECT ${EVENT_ID}, ${base.tenantId}, ${type}, ${base.occurredAt}, ${base.resourceId}, ${version},
           json_set(${payload}, '$.user', json_object('id', u.id, 'userName', u.user_name, 'externalId', u.external_id)),
           ${logId}, ${dispatchedAtFor(sql`u.tenant_id`)}
    FROM users u INDEXED BY users_tenant_id
    WHERE u.tenant_id = ${base.tenantId} AND u.id IN (${ids}) AND ${condition}
    ORDER BY u.created_at, u.id`;
}

/**
 * A deleted user's `group.user_removed` events, one per group it was a member of, as a group write
 * would emit them: `version` (in the event and its data) is the group's version after the removal,
 * which is `version + 1` — the delete bumps each of those groups (see users.deleteUser), since its
 * member list changed. Must run in the delete's batch before the user and membership rows go.
 */
export function insertRemovedFromGroupsWhen(base: Pick<NewChangeEvent, "tenantId" | "occurredAt"> & { tenantSlug: string }, userId: string, condition: SQL, table: ChangeTable = "change_events"): SQL {
  return sql`INSERT INTO ${sql.raw(table)} (id, tenant_id, type, occurred_at, resource_id, version, data, log_id, dispatched_at)
    SELECT ${EVENT_ID}, m.tenant_id, 'group.user_removed', ${base.occurredAt}, g.id, g.version + 1,
           json_object('tenant', ${base.tenantSlug}, 'version', g.version + 1,
                       'group', json_object('id', g.id, 'displayName', g.display_name, 'externalId', g.external_id),
                       'user', json_object('id', u.id, 'userName', u.user_name, 'externalId', u.external_id)),
           ${logIdOf(base.tenantId)}, ${dispatchedAtFor(sql`m.tenant_id`)}
    FROM group_members m JOIN groups g ON g.id = m.group_id JOIN users u ON u.id = m.member_id
    WHERE m.tenant_id = ${base.tenantId} AND m.member_id = ${userId} AND ${condition}
    ORDER BY g.display_name_norm, g.id`;
}

/**
 * Claims up to `limit` of the tenant's oldest undispatched events for one dispatch run, in one
 * transaction (a D1 batch): a `webhook_pending` row per (event, webhook that wants it), then the
 * events marked dispatched. Two runs can never claim the same event, so concurrent runs (requests,
 * the sweep) need no coordination; a run that dies after its claim leaves pending rows behind,
 * which `claimStalePending` hands to the queue again. `hooks` are the tenant's webhooks (a run
 * attempts some deliveries itself, and learns from an empty list that there is nothing to send).
 */
export async function claimUndispatched(
  db: TenantDb,
  tenantId: string,
  limit: number,
  at: string,
): Promise<{ events: ChangeEventRow[]; targets: { eventId: string; webhookId: string }[]; hooks: WebhookRow[] }> {
  // Served by the partial index change_events_undispatched_tenant (tenant_id, seq) WHERE dispatched_at IS NULL.
  const oldest = sql`SELECT seq FROM change_events WHERE tenant_id = ${tenantId} AND dispatched_at IS NULL ORDER BY seq LIMIT ${limit}`;
  const [hooks, targets, claimed] = await runBatch(db, [
    sql`SELECT id, tenant_id, url, events, secret_ciphertext, created_at, secret_rotated_at, created_by FROM webhooks WHERE tenant_id = ${tenantId}`,
    // The subscription filter is wantsEvent's (src/events/types.ts): no list means every type.
    sql`INSERT INTO webhook_pending (event_id, webhook_id, tenant_id, queued_at)
      SELECT e.id, w.id, e.tenant_id, ${at} FROM change_events e JOIN webhooks w ON w.tenant_id = e.tenant_id
      WHERE e.seq IN (${oldest}) AND (w.events IS NULL OR EXISTS (SELECT 1 FROM json_each(w.events) WHERE value = e.type))
      ON CONFLICT DO NOTHING
      RETURNING event_id, webhook_id`,
    sql`UPDATE change_events SET dispatched_at = ${at} WHERE seq IN (${oldest}) RETURNING *`,
  ]);
  return {
    events: (claimed!.results as RawChangeEvent[]).map(changeEventOf).sort((a, b) => a.seq - b.seq),
    targets: (targets!.results as { event_id: string; webhook_id: string }[]).map((r) => ({ eventId: r.event_id, webhookId: r.webhook_id })),
    hooks: (hooks!.results as RawWebhook[]).map(webhookOf),
  };
}

interface RawWebhook {
  id: string;
  tenant_id: string;
  url: string;
  events: string | null;
  secret_ciphertext: string;
  created_at: string;
  secret_rotated_at: string | null;
  created_by: WebhookRow["createdBy"];
}

function webhookOf(raw: RawWebhook): WebhookRow {
  return {
    id: raw.id,
    tenantId: raw.tenant_id,
    url: raw.url,
    events: raw.events === null ? null : (JSON.parse(raw.events) as string[]),
    secretCiphertext: raw.secret_ciphertext,
    createdAt: raw.created_at,
    secretRotatedAt: raw.secret_rotated_at,
    createdBy: raw.created_by,
  };
}

/** Gives a claim back (its queue send failed): the events are undispatched again, for the next run. */
export async function releaseClaim(db: TenantDb, seqs: number[], eventIds: string[]): Promise<void> {
  await runBatch(db, [
    sql`UPDATE change_events SET dispatched_at = NULL WHERE seq IN (SELECT value FROM json_each(${JSON.stringify(seqs)}))`,
    sql`DELETE FROM webhook_pending WHERE event_id IN (SELECT value FROM json_each(${JSON.stringify(eventIds)}))`,
  ]);
}

/** Deliveries finished (delivered, dropped or dead): no longer pending. */
export function clearPendingStatement(deliveries: { eventId: string; webhookId: string }[]): SQL {
  const pairs = JSON.stringify(deliveries.map((d) => [d.eventId, d.webhookId]));
  return sql`DELETE FROM webhook_pending WHERE (event_id, webhook_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${pairs}))`;
}

export async function clearPending(db: TenantDb, deliveries: { eventId: string; webhookId: string }[]): Promise<void> {
  if (deliveries.length) await db.run(clearPendingStatement(deliveries));
}

/**
 * Deliveries that failed and will be retried: each stays pending, due at its retry's time, with
 * the attempts it has had. A delivery no longer pending (finished meanwhile) is left alone.
 */
export function reschedulePendingStatement(retries: { eventId: string; webhookId: string; dueAt: string; attempts: number }[]): SQL {
  const rows = JSON.stringify(retries.map((r) => [r.eventId, r.webhookId, r.dueAt, r.attempts]));
  return sql`UPDATE webhook_pending SET queued_at = json_extract(r.value, '$[2]'), attempts = json_extract(r.value, '$[3]')
    FROM json_each(${rows}) AS r
    WHERE webhook_pending.event_id = json_extract(r.value, '$[0]') AND webhook_pending.webhook_id = json_extract(r.value, '$[1]')`;
}

/**
 * Claims up to `limit` deliveries due at the queue before `before` and not attempted since (the
 * queue lost them, or the run that claimed them died before sending): each is re-stamped `at`, so
 * it is claimed again only if it stays unattempted for another period. Returns them with their
 * events and the attempts they have had; deliveries whose event is gone (retention) are dropped.
 */
export async function claimStalePending(
  db: TenantDb,
  before: string,
  at: string,
  limit: number,
): Promise<{ tenantId: string; webhookId: string; attempts: number; event: ChangeEventRow }[]> {
  // Served by webhook_pending_queued (queued_at); the table holds only unfinished deliveries.
  const [claimed] = await runBatch(db, [
    sql`UPDATE webhook_pending SET queued_at = ${at}
      WHERE rowid IN (SELECT rowid FROM webhook_pending WHERE queued_at < ${before} ORDER BY queued_at LIMIT ${limit})
      RETURNING event_id, webhook_id, tenant_id, attempts`,
  ]);
  const rows = claimed!.results as { event_id: string; webhook_id: string; tenant_id: string; attempts: number }[];
  if (rows.length === 0) return [];
  const ids = [...new Set(rows.map((r) => r.event_id))];
  const [stored] = await runBatch(db, [sql`SELECT * FROM change_events WHERE id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`]);
  const events = new Map((stored!.results as RawChangeEvent[]).map(changeEventOf).map((e) => [e.id, e]));
  const gone = ids.filter((id) => !events.has(id));
  if (gone.length) await db.run(sql`DELETE FROM webhook_pending WHERE event_id IN (SELECT value FROM json_each(${JSON.stringify(gone)}))`);
  return rows.filter((r) => events.has(r.event_id)).map((r) => ({ tenantId: r.tenant_id, webhookId: r.webhook_id, attempts: Number(r.attempts), event: events.get(r.event_id)! }));
}

/** Tenants of this database with change events committed before `before` and never claimed by a dispatch run. */
export async function tenantsWithUndispatched(db: TenantDb, before: string): Promise<string[]> {
  const [rows] = await runBatch(db, [sql`SELECT DISTINCT tenant_id FROM change_events WHERE dispatched_at IS NULL AND occurred_at < ${before}`]);
  return (rows!.results as { tenant_id: string }[]).map((r) => r.tenant_id);
}

interface RawChangeEvent {
  seq: number;
  id: string;
  tenant_id: string;
  type: string;
  occurred_at: string;
  resource_id: string | null;
  version: number | null;
  data: string;
  log_id: number | null;
  dispatched_at: string | null;
}

function changeEventOf(r: RawChangeEvent): ChangeEventRow {
  return {
    seq: r.seq,
    id: r.id,
    tenantId: r.tenant_id,
    type: r.type,
    occurredAt: r.occurred_at,
    resourceId: r.resource_id,
    version: r.version,
    data: JSON.parse(r.data) as Record<string, unknown>,
    logId: r.log_id,
    dispatchedAt: r.dispatched_at,
  };
}

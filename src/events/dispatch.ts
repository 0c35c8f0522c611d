/**
 * Outbox → receivers. Every committed change wrote a change_events row in its own D1 batch; a
 * dispatch run claims those rows, one delivery per (event, webhook that wants it). It runs after
 * each write (off the response path) and from the minute sweep, which catches events whose Worker
 * died between commit and dispatch.
 *
 * After a write, the run makes the first attempt of its first few deliveries itself (./deliver.ts)
 * and hands the rest to EVENTS_QUEUE, whose consumer makes every other attempt, retries included.
 * A write's events so reach a healthy receiver in one HTTP call after the commit, with no queue
 * hop; under load the queue's consumer had become the bottleneck (locally it runs one batch at a
 * time: a 4-minute soak measured 2–12 s from commit to first attempt; issue 23). The queue keeps
 * what a run cannot do at once: big claims (a group push), retries, the sweep's re-sends.
 *
 * Each run claims its rows in D1 (claimUndispatched: marks them dispatched and records a pending
 * delivery per message, in one transaction), then sends them. Runs share nothing but the database:
 * concurrent runs never claim the same row, and no run ever waits on another request's promise or
 * I/O (in Workers that is refused, or hangs and is cancelled, which once stopped a tenant's dispatch
 * for good). A run that dies between claim and send, or a message the queue loses (a first send or
 * a retry: the consumer keeps a delivery pending until it is finished, see ./queue.ts), leaves its
 * pending rows behind: the sweep sends them again (redispatchStale), and receivers dedupe on
 * `webhook-id`. So nothing is lost between outbox and receiver, at the price of a rare duplicate.
 */
import type { ChangeEventRow, WebhookRow } from "../db/tenant/schema";
import type { Env } from "../env";
import { hex } from "../lib/crypto";
import { claimStalePending, claimUndispatched, releaseClaim } from "../repo/change-events";
import { tenantDb, tenantRefOf, type TenantDb, type TenantRef } from "../tenancy/tenant-db";
import { deliverAndRecord, PARALLEL_DELIVERIES, retryMessages, signer } from "./deliver";
import { TEST_EVENT_TYPE, type DeliveryEvent, type DeliveryMessage } from "./types";

/**
 * Deliveries a run after a write attempts itself: one round of a Worker's 6 outbound connections,
 * so its own work stays within one delivery timeout (10 s) of waitUntil's 30 s; the rest of its
 * claim goes to the queue first, so none of it waits on these.
 */
export const ATTEMPT_NOW = PARALLEL_DELIVERIES;
/** Events claimed per round; a run keeps going while rounds come back full, within RUN_BUDGET_MS. */
const EVENTS_PER_ROUND = 100;
/** Well inside waitUntil's 30 s after the response: what is left is the next run's or the sweep's. */
const RUN_BUDGET_MS = 15_000;
/**
 * And at most this many rounds (a claim and its sends each): a 100,000-member Push Now queues
 * 100,000 events, and a run after its answer must stay inside D1's 1,000 queries per invocation
 * with the request's own; the rest is the next run's or the sweep's (issue 18).
 */
const MAX_ROUNDS = 200;
/** Queue.sendBatch takes at most 100 messages and 256 KB; one message at most 128 KB. */
const SEND_BATCH = 100;
const SEND_BATCH_BYTES = 240_000;
const INLINE_DATA_BYTES = 100_000;
/** A delivery still unattempted this long after it was handed to the queue is handed to it again. */
export const REDISPATCH_AFTER_MS = 60_000;
/** Stale deliveries re-sent per round, and rounds per database per sweep (bounded work per cron run). */
const REDISPATCH_PER_ROUND = 100;
const REDISPATCH_ROUNDS = 20;

/**
 * How long an isolate trusts "this tenant has no webhook" (learnt from a dispatch run's read). While
 * it does, a write's after-write dispatch is skipped: such a tenant's events are marked dispatched
 * at insert (src/repo/change-events.ts), so there is nothing to send. A webhook created in another
 * isolate meanwhile makes events undispatched again; they are sent by this isolate's first dispatch
 * after the hint expires, or by the minute sweep: late by at most this long (or a sweep), never lost.
 */
export const NO_WEBHOOKS_HINT_MS = 10_000;
const MAX_HINTS = 10_000;
/** Tenant id → until when this isolate may assume the tenant has no webhook. */
const noWebhooksUntil = new Map<string, number>();

/** True while this isolate has recently seen that the tenant has no webhook (nothing to dispatch). */
export function knownToHaveNoWebhooks(tenantId: string, now = Date.now()): boolean {
  const until = noWebhooksUntil.get(tenantId);
  if (until === undefined) return false;
  if (until > now) return true;
  noWebhooksUntil.delete(tenantId);
  return false;
}

/** Called when a webhook is created: this isolate dispatches the tenant's writes again at once. */
export function forgetNoWebhooksHint(tenantId: string): void {
  noWebhooksUntil.delete(tenantId);
}

function noteWebhooks(tenantId: string, count: number): void {
  if (count > 0) {
    noWebhooksUntil.delete(tenantId);
    return;
  }
  if (noWebhooksUntil.size >= MAX_HINTS) noWebhooksUntil.clear();
  noWebhooksUntil.set(tenantId, Date.now() + NO_WEBHOOKS_HINT_MS);
}

/**
 * Dispatches the tenant's undispatched change events; resolves to the number of events it claimed.
 * `attemptNow` (after a write): the first ATTEMPT_NOW deliveries are attempted by this run itself.
 */
export async function dispatchPending(env: Env, tenant: TenantRef, options: { attemptNow?: boolean } = {}): Promise<number> {
  const db = tenantDb(env, tenant);
  const started = Date.now();
  let total = 0;
  for (let round = 0; round < MAX_ROUNDS && Date.now() - started < RUN_BUDGET_MS; round++) {
    const { events, targets, hooks } = await claimUndispatched(db, tenant.id, EVENTS_PER_ROUND, new Date().toISOString());
    if (round === 0) noteWebhooks(tenant.id, hooks.length);
    if (events.length === 0) break;
    await sendClaimed(env, db, tenant, events, targets, options.attemptNow && round === 0 ? hooks : null);
    total += events.length;
    if (events.length < EVENTS_PER_ROUND) break;
  }
  return total;
}

/**
 * Sends a run's claim in commit order; if the queue refuses it, gives the claim back so the next run
 * sends it. With `attemptWith` (the tenant's webhooks), the first ATTEMPT_NOW deliveries are not
 * queued but attempted here, after the rest is queued; their retries are queued as the consumer's are.
 */
async function sendClaimed(env: Env, db: TenantDb, tenant: TenantRef, events: ChangeEventRow[], targets: { eventId: string; webhookId: string }[], attemptWith: WebhookRow[] | null): Promise<void> {
  const ref = tenantRefOf(tenant);
  const messages = events.flatMap((row) => {
    const webhookIds = targets.filter((t) => t.eventId === row.id).map((t) => t.webhookId);
    if (webhookIds.length === 0) return [];
    const event = messageEvent(row);
    return webhookIds.map((webhookId) => ({ tenant: ref, webhookId, event }));
  });
  const now = attemptWith ? messages.slice(0, ATTEMPT_NOW) : [];
  try {
    await sendMessages(env, messages.slice(now.length).map(immediately));
  } catch (error) {
    // If this fails too (the database with the queue), the pending rows stay and the sweep re-sends them.
    await releaseClaim(
      db,
      events.map((row) => row.seq),
      events.map((row) => row.id),
    ).catch(() => {});
    throw error;
  }
  // Attempted here, an event too large to travel inline still has its data: the claimed row.
  if (now.length) await attemptNow(env, db, now, attemptWith!, new Map(events.map((row) => [row.id, row.data])));
}

/**
 * First attempts made by the dispatch run itself, recorded as the consumer records its own. If the
 * retries cannot be queued, their pending rows (moved to the retry's due time) make the sweep send
 * them; a run that dies mid-attempt leaves its pending rows for the sweep as well.
 */
async function attemptNow(env: Env, db: TenantDb, messages: DeliveryMessage[], hooks: WebhookRow[], data: Map<string, DeliveryEvent["data"]>): Promise<void> {
  const due = messages.map((body) => ({ body, attempt: 1 }));
  const outcomes = await deliverAndRecord(env, await signer(env), db, due, new Map(hooks.map((h) => [h.id, h])), data);
  await sendMessages(env, retryMessages(due, outcomes)).catch((error) =>
    console.error(JSON.stringify({ level: "error", msg: "queueing webhook retries failed; the sweep sends them a minute after they are due", error: String(error) })),
  );
}

/**
 * Hands to the queue again every delivery of this database due there at least REDISPATCH_AFTER_MS
 * ago (claimed, or its retry due) and not attempted since; resolves to how many. Bounded work per call.
 */
export async function redispatchStale(env: Env, database: string, now = new Date()): Promise<number> {
  const db = tenantDb(env, { database });
  const before = new Date(now.getTime() - REDISPATCH_AFTER_MS).toISOString();
  let total = 0;
  for (let round = 0; round < REDISPATCH_ROUNDS; round++) {
    const stale = await claimStalePending(db, before, new Date().toISOString(), REDISPATCH_PER_ROUND);
    if (stale.length === 0) break;
    // The slug is not needed: each event's data names its tenant, and the consumer reads id and database.
    await sendMessages(
      env,
      stale.map((s) => immediately({ tenant: { id: s.tenantId, slug: "", database }, webhookId: s.webhookId, event: messageEvent(s.event), ...(s.attempts ? { attempts: s.attempts } : {}) })),
    );
    total += stale.length;
    if (stale.length < REDISPATCH_PER_ROUND) break;
  }
  return total;
}

/** The event as a message carries it: inline, unless its data would not fit in a queue message. */
function messageEvent(row: ChangeEventRow): DeliveryMessage["event"] {
  const reference = { id: row.id, type: row.type, occurredAt: row.occurredAt };
  // Without data, the consumer reads it from the outbox.
  return JSON.stringify(row.data).length <= INLINE_DATA_BYTES ? { ...reference, data: row.data } : reference;
}

/** A message for the queue, delivered after `delaySeconds` (a retry) or at once. */
export interface OutgoingMessage {
  body: DeliveryMessage;
  delaySeconds?: number;
}

const immediately = (body: DeliveryMessage): OutgoingMessage => ({ body });

/** Sends in sendBatch calls under both of its limits (100 messages, 256 KB). */
export async function sendMessages(env: Env, messages: OutgoingMessage[]): Promise<void> {
  let batch: OutgoingMessage[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length) await env.EVENTS_QUEUE.sendBatch(batch.map(({ body, delaySeconds }) => ({ body, contentType: "json" as const, ...(delaySeconds ? { delaySeconds } : {}) })));
    batch = [];
    bytes = 0;
  };
  for (const message of messages) {
    const size = JSON.stringify(message.body).length + 100;
    if (batch.length === SEND_BATCH || (batch.length > 0 && bytes + size > SEND_BATCH_BYTES)) await flush();
    batch.push(message);
    bytes += size;
  }
  await flush();
}

function newEventId(): string {
  return `evt_${hex(crypto.getRandomValues(new Uint8Array(16)))}`;
}

/** "Send test event": a `webhook.test` delivery to one webhook, outside the change feed. */
export async function enqueueTestEvent(env: Env, tenant: TenantRef, webhookId: string): Promise<DeliveryEvent> {
  const event: DeliveryEvent = {
    id: newEventId(),
    type: TEST_EVENT_TYPE,
    occurredAt: new Date().toISOString(),
    data: { tenant: tenant.slug, test: true, webhook: { id: webhookId } },
  };
  await sendMessages(env, [immediately({ tenant: tenantRefOf(tenant), webhookId, event })]);
  return event;
}

/** Sends one change event to one webhook again (the console's "resend"): same id, so receivers dedupe. */
export async function enqueueRedelivery(env: Env, tenant: TenantRef, webhookId: string, row: ChangeEventRow): Promise<void> {
  await sendMessages(env, [immediately({ tenant: tenantRefOf(tenant), webhookId, event: messageEvent(row) })]);
}

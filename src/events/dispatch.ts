/**
 * Outbox → queue. Every committed change wrote a change_events row in its own D1 batch; a dispatch
 * run hands those rows to EVENTS_QUEUE, one message per (event, webhook that wants it). It runs
 * after each write (off the response path) and from the minute sweep, which catches events whose
 * Worker died between commit and dispatch.
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
import type { ChangeEventRow } from "../db/tenant/schema";
import type { Env } from "../env";
import { hex } from "../lib/crypto";
import { claimStalePending, claimUndispatched, releaseClaim } from "../repo/change-events";
import { tenantDb, tenantRefOf, type TenantDb, type TenantRef } from "../tenancy/tenant-db";
import { TEST_EVENT_TYPE, type DeliveryEvent, type DeliveryMessage } from "./types";

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

/** Dispatches the tenant's undispatched change events; resolves to the number of events it claimed and sent. */
export async function dispatchPending(env: Env, tenant: TenantRef): Promise<number> {
  const db = tenantDb(env, tenant);
  const started = Date.now();
  let total = 0;
  for (let round = 0; round < MAX_ROUNDS && Date.now() - started < RUN_BUDGET_MS; round++) {
    const { events, targets, webhooks } = await claimUndispatched(db, tenant.id, EVENTS_PER_ROUND, new Date().toISOString());
    if (round === 0) noteWebhooks(tenant.id, webhooks);
    if (events.length === 0) break;
    await sendClaimed(env, db, tenant, events, targets);
    total += events.length;
    if (events.length < EVENTS_PER_ROUND) break;
  }
  return total;
}

/** Sends a run's claim in commit order; if the queue refuses it, gives the claim back so the next run sends it. */
async function sendClaimed(env: Env, db: TenantDb, tenant: TenantRef, events: ChangeEventRow[], targets: { eventId: string; webhookId: string }[]): Promise<void> {
  const ref = tenantRefOf(tenant);
  const messages = events.flatMap((row) => {
    const webhookIds = targets.filter((t) => t.eventId === row.id).map((t) => t.webhookId);
    if (webhookIds.length === 0) return [];
    const event = messageEvent(row);
    return webhookIds.map((webhookId) => ({ tenant: ref, webhookId, event }));
  });
  try {
    await sendMessages(env, messages.map(immediately));
  } catch (error) {
    // If this fails too (the database with the queue), the pending rows stay and the sweep re-sends them.
    await releaseClaim(
      db,
      events.map((row) => row.seq),
      events.map((row) => row.id),
    ).catch(() => {});
    throw error;
  }
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

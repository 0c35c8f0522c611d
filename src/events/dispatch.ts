/**
 * Outbox → queue. Every committed change wrote a change_events row in its own D1 batch; this hands
 * those rows to EVENTS_QUEUE, one message per (event, webhook that wants it), then marks them
 * dispatched. It runs after each write (off the response path) and from the minute sweep, which
 * catches events whose Worker died between commit and dispatch.
 *
 * Order: send, then mark. A crash in between re-sends on the next run (at-least-once; receivers
 * dedupe on `webhook-id`); the reverse order could lose an event. Within an isolate, runs for one
 * tenant do not overlap (so two writes finishing together do not both send the same rows), and any
 * number of callers during a run share a single follow-up run.
 */
import type { ChangeEventRow, WebhookRow } from "../db/tenant/schema";
import type { Env } from "../env";
import { hex } from "../lib/crypto";
import { markDispatched, pendingEventsAndWebhooks } from "../repo/webhooks";
import { tenantDb, tenantRefOf, type TenantRef } from "../tenancy/tenant-db";
import { TEST_EVENT_TYPE, wantsEvent, type DeliveryEvent, type DeliveryMessage } from "./types";

/** Events read per round; a run keeps going while rounds come back full, up to MAX_ROUNDS. */
const EVENTS_PER_ROUND = 100;
const MAX_ROUNDS = 20;
/** Queue.sendBatch takes at most 100 messages and 256 KB; one message at most 128 KB. */
const SEND_BATCH = 100;
const SEND_BATCH_BYTES = 240_000;
const INLINE_DATA_BYTES = 100_000;

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

/** Per tenant: the run in progress and at most one run queued behind it (later callers share that one). */
const runs = new Map<string, { current: Promise<number>; next?: Promise<number> }>();

/** Dispatches the tenant's pending change events; resolves to the number of events marked dispatched. */
export function dispatchPending(env: Env, tenant: TenantRef): Promise<number> {
  const entry = runs.get(tenant.id);
  if (entry?.next) return entry.next;
  // With a run in progress (it may have read before this caller's commit): one more run after it.
  const after = entry ? entry.current.catch(() => 0) : Promise.resolve(0);
  const run: Promise<number> = after.then(() => {
    const now = runs.get(tenant.id);
    if (now?.next === run) runs.set(tenant.id, { current: run });
    return dispatchRounds(env, tenant);
  });
  if (entry) entry.next = run;
  else runs.set(tenant.id, { current: run });
  const settle = () => {
    const now = runs.get(tenant.id);
    if (now?.current === run && !now.next) runs.delete(tenant.id);
  };
  run.then(settle, settle);
  return run;
}

async function dispatchRounds(env: Env, tenant: TenantRef): Promise<number> {
  const db = tenantDb(env, tenant);
  let total = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const { events, hooks } = await pendingEventsAndWebhooks(db, tenant.id, EVENTS_PER_ROUND);
    if (round === 0) noteWebhooks(tenant.id, hooks.length);
    if (events.length === 0) break;
    await sendMessages(env, deliveryMessages(tenant, events, hooks));
    await markDispatched(db, events.map((e) => e.seq), new Date().toISOString());
    total += events.length;
    if (events.length < EVENTS_PER_ROUND) break;
  }
  return total;
}

/** The event as a message carries it: inline, unless its data would not fit in a queue message. */
function messageEvent(row: ChangeEventRow): DeliveryMessage["event"] {
  const reference = { id: row.id, type: row.type, occurredAt: row.occurredAt };
  // Without data, the consumer reads it from the outbox.
  return JSON.stringify(row.data).length <= INLINE_DATA_BYTES ? { ...reference, data: row.data } : reference;
}

/** One message per (event, subscribed webhook), events in commit order. */
function deliveryMessages(tenant: TenantRef, events: ChangeEventRow[], hooks: WebhookRow[]): DeliveryMessage[] {
  const ref = tenantRefOf(tenant);
  return events.flatMap((row) => {
    const targets = hooks.filter((hook) => wantsEvent(hook.events, row.type));
    if (targets.length === 0) return [];
    const event = messageEvent(row);
    return targets.map((hook) => ({ tenant: ref, webhookId: hook.id, event }));
  });
}

/** Sends in sendBatch calls under both of its limits (100 messages, 256 KB). */
async function sendMessages(env: Env, messages: DeliveryMessage[]): Promise<void> {
  let batch: DeliveryMessage[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length) await env.EVENTS_QUEUE.sendBatch(batch.map((body) => ({ body, contentType: "json" as const })));
    batch = [];
    bytes = 0;
  };
  for (const message of messages) {
    const size = JSON.stringify(message).length + 100;
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
  await sendMessages(env, [{ tenant: tenantRefOf(tenant), webhookId, event }]);
  return event;
}

/** Sends one change event to one webhook again (the console's "resend"): same id, so receivers dedupe. */
export async function enqueueRedelivery(env: Env, tenant: TenantRef, webhookId: string, row: ChangeEventRow): Promise<void> {
  await sendMessages(env, [{ tenant: tenantRefOf(tenant), webhookId, event: messageEvent(row) }]);
}

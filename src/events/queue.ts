/**
 * The delivery queue's consumers. `thestorage-scim-events`: every delivery attempt that the
 * dispatch run after a write did not make itself (./dispatch.ts): the rest of a large claim, the
 * sweep's re-sends, and every retry. Attempts and their records are ./deliver.ts's.
 *
 * Retries are ours, not the Queue's: a failed message is acked and sent again as a new message with
 * `delaySeconds` and its attempt count, and its webhook_pending row moves to the retry's due time
 * (so the sweep re-sends a retry the queue lost, as it does a first send). After the last attempt
 * the delivery is recorded as dead. So a failing receiver costs the queue nothing but its own
 * messages: the Queue never holds a batch back for retries (the local queue of `wrangler dev`
 * spent an HTTP round trip to wrangler's Node process per retried message before starting the
 * next batch, which under load put minutes between a commit and its first attempt; issue 23).
 * The Queue's own retries and `thestorage-scim-events-dlq` remain for a consumer invocation that
 * fails as a whole; that queue's consumer records its messages as dead.
 */
import type { Env } from "../env";
import { clearPending } from "../repo/change-events";
import { changeEventsByIds, insertDeadDeliveries, webhooksByIds } from "../repo/webhooks";
import { controlDb } from "../repo/control";
import { databasesOf } from "../repo/tenant-moves";
import { tenantDb } from "../tenancy/tenant-db";
import { deliverAndRecord, RETRIES_EXHAUSTED, retryMessages, signer, targetOf } from "./deliver";
import { sendMessages } from "./dispatch";
import type { DeliveryMessage } from "./types";

export const DEAD_LETTER_QUEUE = "thestorage-scim-events-dlq";

/** This message's attempt number: those made before it was sent, plus the Queue's own count (1 unless the Queue retried it). */
function attemptOf(message: Message<DeliveryMessage>): number {
  const before = message.body.attempts;
  return (Number.isInteger(before) && before! > 0 ? before! : 0) + message.attempts;
}

function isDeliveryMessage(body: unknown): body is DeliveryMessage {
  const m = body as DeliveryMessage;
  return typeof m === "object" && m !== null && typeof m.webhookId === "string" && typeof m.tenant?.database === "string" && typeof m.tenant?.id === "string" && typeof m.event?.id === "string" && typeof m.event?.type === "string";
}

export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  if (batch.queue === DEAD_LETTER_QUEUE || batch.queue.endsWith("-dlq")) return recordDeadLetters(batch, env);
  return deliverBatch(batch, env);
}

/**
 * Messages grouped by tenant database, with the webhooks they name (one read per database). The
 * database is where the tenant lives now (one CONTROL_DB read per batch), not the one the message
 * names: a message sent, or retried, across a tenant's move (src/placement) reads and records there.
 */
async function withWebhooks(env: Env, messages: readonly Message<unknown>[]) {
  const groups = new Map<string, Message<DeliveryMessage>[]>();
  const valid = messages.filter((message) => {
    if (isDeliveryMessage(message.body)) return true;
    console.error(JSON.stringify({ level: "error", msg: "dropping a malformed delivery message", id: message.id }));
    message.ack();
    return false;
  }) as Message<DeliveryMessage>[];
  const current = valid.length ? await databasesOf(controlDb(env.CONTROL_DB), valid.map((m) => m.body.tenant.id)) : new Map<string, string>();
  for (const message of valid) {
    const database = current.get(message.body.tenant.id) ?? message.body.tenant.database;
    const list = groups.get(database) ?? [];
    list.push(message);
    groups.set(database, list);
  }
  return Promise.all(
    [...groups].map(async ([database, list]) => {
      const db = tenantDb(env, { database });
      const referenced = [...new Set(list.filter((m) => !m.body.event.data).map((m) => m.body.event.id))];
      const [hooks, stored] = await Promise.all([webhooksByIds(db, [...new Set(list.map((m) => m.body.webhookId))]), changeEventsByIds(db, referenced)]);
      return { db, list, hooks: new Map(hooks.map((h) => [h.id, h])), stored: new Map(stored.map((e) => [e.id, e.data])) };
    }),
  );
}

async function deliverBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const sign = await signer(env);
  for (const { db, list, hooks, stored } of await withWebhooks(env, batch.messages)) {
    const due = list.map((message) => ({ body: message.body, attempt: attemptOf(message) }));
    const outcomes = await deliverAndRecord(env, sign, db, due, hooks, stored);
    // Each retry as a new message carrying its attempt count; if the queue refuses them, the Queue's own retry.
    const resent = await sendMessages(env, retryMessages(due, outcomes)).then(
      () => true,
      (error) => {
        console.error(JSON.stringify({ level: "error", msg: "re-sending webhook retries failed; the Queue retries them", error: String(error) }));
        return false;
      },
    );
    list.forEach((message, i) => {
      const retry = outcomes[i]!.retry;
      if (retry && !resent) message.retry({ delaySeconds: retry.delay });
      else message.ack();
    });
  }
}

async function recordDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const at = new Date().toISOString();
  for (const { db, list, hooks } of await withWebhooks(env, batch.messages)) {
    const live = list.filter((message) => targetOf(hooks, message.body));
    await insertDeadDeliveries(
      db,
      live.map((message) => ({
        tenantId: message.body.tenant.id,
        webhookId: message.body.webhookId,
        eventId: message.body.event.id,
        type: message.body.event.type,
        httpStatus: null,
        at,
        error: RETRIES_EXHAUSTED,
        nextAttemptAt: null,
      })),
    );
    // Dead: the sweep must not send them again.
    await clearPending(db, list.map((message) => ({ eventId: message.body.event.id, webhookId: message.body.webhookId })));
    for (const message of list) message.ack();
  }
}

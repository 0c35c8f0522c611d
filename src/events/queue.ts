/**
 * The delivery queue's consumers. `thestorage-scim-events`: POST each message's event to its
 * webhook, signed (Standard Webhooks); a 2xx within 10 s is a delivery, anything else is recorded as
 * a failed attempt and retried with exponential backoff. Every attempt is a webhook_deliveries row
 * (the admin API and console list them).
 *
 * Retries are ours, not the Queue's: a failed message is acked and sent again as a new message with
 * `delaySeconds` and its attempt count, and its webhook_pending row moves to the retry's due time
 * (so the sweep re-sends a retry the queue lost, as it does a first send). After the last attempt
 * the delivery is recorded as dead here. So a failing receiver costs the queue nothing but its own
 * messages: the Queue never holds a batch back for retries (the local queue of `wrangler dev`
 * spent an HTTP round trip to wrangler's Node process per retried message before starting the
 * next batch, which under load put minutes between a commit and its first attempt; issue 23).
 * The Queue's own retries and `thestorage-scim-events-dlq` remain for a consumer invocation that
 * fails as a whole; that queue's consumer records its messages as dead.
 */
import type { WebhookRow } from "../db/tenant/schema";
import type { Env } from "../env";
import { clearPending, reschedulePending } from "../repo/change-events";
import { changeEventsByIds, insertDeadDeliveries, insertDeliveries, webhooksByIds, type NewDelivery } from "../repo/webhooks";
import { controlDb } from "../repo/control";
import { databasesOf } from "../repo/tenant-moves";
import { tenantDb } from "../tenancy/tenant-db";
import { sendMessages, type OutgoingMessage } from "./dispatch";
import { decryptSecret, importSecretKey } from "./secret-box";
import { deliveryBody, signedHeaders } from "./signing";
import type { DeliveryEvent, DeliveryMessage } from "./types";
import { loopbackAllowed, webhookUrlProblem } from "./url-rules";

export const DEAD_LETTER_QUEUE = "thestorage-scim-events-dlq";
export const DELIVERY_TIMEOUT_MS = 10_000;
/** The Queue's longest retry delay (12 hours). */
export const MAX_RETRY_DELAY_SECONDS = 43_200;
const MAX_ERROR = 300;
/** A Worker keeps at most 6 outbound connections open; more would wait, and time out while waiting. */
const PARALLEL_DELIVERIES = 6;
/** Attempts per delivery unless WEBHOOK_MAX_ATTEMPTS says otherwise: a failure on the last one makes it dead. */
export const MAX_DELIVERY_ATTEMPTS = 13;

export function maxDeliveryAttempts(env: Pick<Env, "WEBHOOK_MAX_ATTEMPTS">): number {
  const configured = Number(env.WEBHOOK_MAX_ATTEMPTS);
  return Number.isInteger(configured) && configured >= 1 ? configured : MAX_DELIVERY_ATTEMPTS;
}

/** This message's attempt number: those made before it was sent, plus the Queue's own count (1 unless the Queue retried it). */
function attemptOf(message: Message<DeliveryMessage>): number {
  const before = message.body.attempts;
  return (Number.isInteger(before) && before! > 0 ? before! : 0) + message.attempts;
}

export function retryDelaySeconds(env: Env, attempts: number): number {
  const configured = Number(env.WEBHOOK_RETRY_BASE_SECONDS);
  const base = Number.isFinite(configured) && configured > 0 ? configured : 60;
  return Math.min(Math.round(base * 2 ** Math.max(0, attempts - 1)), MAX_RETRY_DELAY_SECONDS);
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_ERROR ? `${flat.slice(0, MAX_ERROR - 1)}…` : flat;
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

/** The webhook a message targets, or null when it was deleted since (the message is then dropped). */
function targetOf(hooks: Map<string, WebhookRow>, message: Message<DeliveryMessage>): WebhookRow | null {
  const hook = hooks.get(message.body.webhookId);
  return hook && hook.tenantId === message.body.tenant.id ? hook : null;
}

async function deliverBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  let key: CryptoKey | null = null;
  let keyProblem = "";
  try {
    key = await importSecretKey(env.WEBHOOK_SECRET_KEY);
  } catch (error) {
    keyProblem = `Cannot sign: ${(error as Error).message} Set it (wrangler secret put WEBHOOK_SECRET_KEY).`;
  }
  const allowLoopback = loopbackAllowed(env);
  const maxAttempts = maxDeliveryAttempts(env);
  // Each webhook's secret decrypted once per batch, not once per message (the local queue runs one batch at a time).
  const secrets = new Map<string, Promise<string>>();
  const secretOf = (k: CryptoKey, hook: WebhookRow) => secrets.get(hook.id) ?? secrets.set(hook.id, decryptSecret(k, hook.secretCiphertext, hook.id)).get(hook.id)!;
  for (const { db, list, hooks, stored } of await withWebhooks(env, batch.messages)) {
    const rows: NewDelivery[] = [];
    const outcomes = await mapLimited(list, PARALLEL_DELIVERIES, async (message): Promise<Outcome> => {
      const hook = targetOf(hooks, message);
      if (!hook) return { message };
      const at = new Date();
      const attemptNo = attemptOf(message);
      // An event too large to travel inline is read from the outbox; gone (retention) means never deliverable.
      const data = message.body.event.data ?? stored.get(message.body.event.id);
      if (!data) {
        rows.push({ ...rowBase(hook, message), attempt: attemptNo, status: "dead", httpStatus: null, at: at.toISOString(), error: "The event is no longer stored (past the retention period); it cannot be sent.", nextAttemptAt: null });
        return { message };
      }
      const event: DeliveryEvent = { ...message.body.event, data };
      const result = key ? await attempt(secretOf(key, hook), hook, event, allowLoopback) : { ok: false, httpStatus: null, error: keyProblem };
      const last = attemptNo >= maxAttempts;
      const delay = retryDelaySeconds(env, attemptNo);
      const retryAt = result.ok || last ? null : new Date(at.getTime() + delay * 1000).toISOString();
      rows.push({
        ...rowBase(hook, message),
        attempt: attemptNo,
        status: result.ok ? "delivered" : "failed",
        httpStatus: result.httpStatus,
        at: at.toISOString(),
        error: result.ok ? null : `${clip(result.error)}${last ? " (last attempt: retries exhausted)" : ""}`,
        nextAttemptAt: retryAt,
      });
      if (!result.ok && last) rows.push({ ...rowBase(hook, message), attempt: attemptNo, status: "dead", httpStatus: null, at: at.toISOString(), error: RETRIES_EXHAUSTED, nextAttemptAt: null });
      return retryAt ? { message, retry: { attempts: attemptNo, delay, dueAt: retryAt } } : { message };
    });
    const retries = outcomes.filter((o): o is Required<Outcome> => o.retry !== undefined);
    const finished = outcomes.filter((o) => !o.retry).map(({ message }) => ({ eventId: message.body.event.id, webhookId: message.body.webhookId }));
    const recorded = await Promise.allSettled([
      insertDeliveries(db, rows),
      clearPending(db, finished),
      reschedulePending(db, retries.map(({ message, retry }) => ({ eventId: message.body.event.id, webhookId: message.body.webhookId, dueAt: retry.dueAt, attempts: retry.attempts }))),
    ]);
    for (const result of recorded) {
      // The attempts happened whether or not they could be recorded: ack and retry them all the same.
      // (A pending row left behind only means a duplicate delivery after REDISPATCH_AFTER_MS.)
      if (result.status === "rejected") console.error(JSON.stringify({ level: "error", msg: "recording webhook deliveries failed", error: String(result.reason) }));
    }
    // Each retry as a new message carrying its attempt count; if the queue refuses them, the Queue's own retry.
    const resend: OutgoingMessage[] = retries.map(({ message, retry }) => ({ body: { ...message.body, attempts: retry.attempts }, delaySeconds: retry.delay }));
    const resent = await sendMessages(env, resend).then(
      () => true,
      (error) => {
        console.error(JSON.stringify({ level: "error", msg: "re-sending webhook retries failed; the Queue retries them", error: String(error) }));
        return false;
      },
    );
    for (const { message, retry } of outcomes) {
      if (retry && !resent) message.retry({ delaySeconds: retry.delay });
      else message.ack();
    }
  }
}

interface Outcome {
  message: Message<DeliveryMessage>;
  /** Set when the attempt failed and another is due: the attempts made so far, the delay, and when. */
  retry?: { attempts: number; delay: number; dueAt: string };
}

const RETRIES_EXHAUSTED = "Retries exhausted: no further attempts. Send it again from the console, or read it from the change feed.";

function rowBase(hook: WebhookRow, message: Message<DeliveryMessage>) {
  return { tenantId: hook.tenantId, webhookId: hook.id, eventId: message.body.event.id, type: message.body.event.type };
}

/** `fn` over `items` with at most `limit` running at once; results in input order. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface AttemptResult {
  ok: boolean;
  httpStatus: number | null;
  error: string;
}

async function attempt(decrypted: Promise<string>, hook: WebhookRow, event: DeliveryEvent, allowLoopback: boolean): Promise<AttemptResult> {
  const problem = webhookUrlProblem(hook.url, allowLoopback);
  if (problem) return { ok: false, httpStatus: null, error: `URL refused: ${problem}` };
  let secret: string;
  try {
    secret = await decrypted;
  } catch {
    return { ok: false, httpStatus: null, error: "The webhook secret does not decrypt under WEBHOOK_SECRET_KEY (was the key changed?). Rotate the webhook's secret." };
  }
  const body = deliveryBody(event);
  try {
    const response = await fetch(hook.url, {
      method: "POST",
      headers: await signedHeaders(secret, event.id, body),
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
    if (response.status >= 200 && response.status < 300) {
      await response.body?.cancel();
      return { ok: true, httpStatus: response.status, error: "" };
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      return { ok: false, httpStatus: response.status, error: `HTTP ${response.status}: redirects are not followed; register the final URL.` };
    }
    const text = await leadingText(response, MAX_ERROR);
    return { ok: false, httpStatus: response.status, error: `HTTP ${response.status}${text ? `: ${text}` : ""}` };
  } catch (error) {
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") return { ok: false, httpStatus: null, error: `No answer within ${DELIVERY_TIMEOUT_MS / 1000} s.` };
    return { ok: false, httpStatus: null, error: `Request failed: ${(error as Error)?.message ?? String(error)}` };
  }
}

/** The first `limit` characters of a body (a receiver's error page can be large), then the rest is cancelled. */
async function leadingText(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
  } catch {
    // a broken body still leaves the status to report
  }
  return text.slice(0, limit);
}

async function recordDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const at = new Date().toISOString();
  for (const { db, list, hooks } of await withWebhooks(env, batch.messages)) {
    const live = list.filter((message) => targetOf(hooks, message));
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

/**
 * One delivery attempt per (event, webhook): POST the event, signed (Standard Webhooks); a 2xx
 * within 10 s is a delivery, anything else a failed attempt with its retry due after exponential
 * backoff, or dead after the last attempt. Every attempt is a webhook_deliveries row, and the
 * delivery's webhook_pending row is cleared when it is finished or moved to its retry's due time.
 *
 * Two callers share it: the after-write dispatch run makes the first attempt of a write's few
 * events at once (./dispatch.ts), and the queue consumer makes every other attempt (./queue.ts).
 * Both then send the retries as delayed queue messages.
 */
import type { WebhookRow } from "../db/tenant/schema";
import type { Env } from "../env";
import { recordAttempts, type NewDelivery } from "../repo/webhooks";
import type { TenantDb } from "../tenancy/tenant-db";
import type { OutgoingMessage } from "./dispatch";
import { decryptSecret, importSecretKey } from "./secret-box";
import { deliveryBody, signedHeaders } from "./signing";
import type { DeliveryEvent, DeliveryMessage } from "./types";
import { loopbackAllowed, webhookUrlProblem } from "./url-rules";

export const DELIVERY_TIMEOUT_MS = 10_000;
/** The Queue's longest retry delay (12 hours). */
export const MAX_RETRY_DELAY_SECONDS = 43_200;
const MAX_ERROR = 300;
/** A Worker keeps at most 6 outbound connections open; more would wait, and time out while waiting. */
export const PARALLEL_DELIVERIES = 6;
/** Attempts per delivery unless WEBHOOK_MAX_ATTEMPTS says otherwise: a failure on the last one makes it dead. */
export const MAX_DELIVERY_ATTEMPTS = 13;

export const RETRIES_EXHAUSTED = "Retries exhausted: no further attempts. Send it again from the console, or read it from the change feed.";

export function maxDeliveryAttempts(env: Pick<Env, "WEBHOOK_MAX_ATTEMPTS">): number {
  const configured = Number(env.WEBHOOK_MAX_ATTEMPTS);
  return Number.isInteger(configured) && configured >= 1 ? configured : MAX_DELIVERY_ATTEMPTS;
}

/** A positive number from a `[vars]` value, or the fallback. */
function positiveVar(value: string | undefined, fallback: number): number {
  const configured = Number(value);
  return Number.isFinite(configured) && configured > 0 ? configured : fallback;
}

/**
 * The delay before the next attempt: WEBHOOK_RETRY_BASE_SECONDS × 2^(attempts−1), at most
 * WEBHOOK_RETRY_MAX_SECONDS (default, and never more than, the Queue's 12 hours).
 */
export function retryDelaySeconds(env: Pick<Env, "WEBHOOK_RETRY_BASE_SECONDS" | "WEBHOOK_RETRY_MAX_SECONDS">, attempts: number): number {
  const base = positiveVar(env.WEBHOOK_RETRY_BASE_SECONDS, 60);
  const cap = Math.min(positiveVar(env.WEBHOOK_RETRY_MAX_SECONDS, MAX_RETRY_DELAY_SECONDS), MAX_RETRY_DELAY_SECONDS);
  return Math.max(1, Math.min(Math.round(base * 2 ** Math.max(0, attempts - 1)), Math.round(cap)));
}

/** A delivery to attempt: the message as queued, and the number of this attempt (1 for the first). */
export interface DueDelivery {
  body: DeliveryMessage;
  attempt: number;
}

/** What became of one: finished (delivered, dropped or dead), or a retry due after `delay` seconds. */
export interface DeliveryOutcome {
  retry?: { attempts: number; delay: number; dueAt: string };
}

/** What every attempt of one invocation shares: the signing key, and each webhook's secret decrypted once. */
export interface Signer {
  secretOf(hook: WebhookRow): Promise<string> | null;
  problem: string;
}

export async function signer(env: Env): Promise<Signer> {
  let key: CryptoKey;
  try {
    key = await importSecretKey(env.WEBHOOK_SECRET_KEY);
  } catch (error) {
    return { secretOf: () => null, problem: `Cannot sign: ${(error as Error).message} Set it (wrangler secret put WEBHOOK_SECRET_KEY).` };
  }
  const secrets = new Map<string, Promise<string>>();
  return {
    secretOf: (hook) => secrets.get(hook.id) ?? secrets.set(hook.id, decryptSecret(key, hook.secretCiphertext, hook.id)).get(hook.id)!,
    problem: "",
  };
}

/** The webhook a delivery targets, or null when it was deleted since (the delivery is then dropped). */
export function targetOf(hooks: Map<string, WebhookRow>, body: DeliveryMessage): WebhookRow | null {
  const hook = hooks.get(body.webhookId);
  return hook && hook.tenantId === body.tenant.id ? hook : null;
}

/**
 * Attempts `due` (deliveries of one tenant database), at most PARALLEL_DELIVERIES at once, and
 * records them: the attempt rows, the pending rows cleared or moved to their retry. Outcomes in
 * input order. `stored` holds the data of events that travel by reference (too large for a message).
 */
export async function deliverAndRecord(env: Env, sign: Signer, db: TenantDb, due: DueDelivery[], hooks: Map<string, WebhookRow>, stored: Map<string, DeliveryEvent["data"]> = new Map()): Promise<DeliveryOutcome[]> {
  const allowLoopback = loopbackAllowed(env);
  const maxAttempts = maxDeliveryAttempts(env);
  const rows: NewDelivery[] = [];
  const outcomes = await mapLimited(due, PARALLEL_DELIVERIES, async ({ body, attempt: attemptNo }): Promise<DeliveryOutcome> => {
    const hook = targetOf(hooks, body);
    if (!hook) return {};
    const at = new Date();
    // An event too large to travel inline is read from the outbox; gone (retention) means never deliverable.
    const data = body.event.data ?? stored.get(body.event.id);
    if (!data) {
      rows.push({ ...rowBase(hook, body), attempt: attemptNo, status: "dead", httpStatus: null, at: at.toISOString(), error: "The event is no longer stored (past the retention period); it cannot be sent.", nextAttemptAt: null });
      return {};
    }
    const event: DeliveryEvent = { ...body.event, data };
    const secret = sign.secretOf(hook);
    const result = secret ? await attempt(secret, hook, event, allowLoopback) : { ok: false, httpStatus: null, error: sign.problem };
    const last = attemptNo >= maxAttempts;
    const delay = retryDelaySeconds(env, attemptNo);
    const retryAt = result.ok || last ? null : new Date(at.getTime() + delay * 1000).toISOString();
    rows.push({
      ...rowBase(hook, body),
      attempt: attemptNo,
      status: result.ok ? "delivered" : "failed",
      httpStatus: result.httpStatus,
      at: at.toISOString(),
      error: result.ok ? null : `${clip(result.error)}${last ? " (last attempt: retries exhausted)" : ""}`,
      nextAttemptAt: retryAt,
    });
    if (!result.ok && last) rows.push({ ...rowBase(hook, body), attempt: attemptNo, status: "dead", httpStatus: null, at: at.toISOString(), error: RETRIES_EXHAUSTED, nextAttemptAt: null });
    return retryAt ? { retry: { attempts: attemptNo, delay, dueAt: retryAt } } : {};
  });
  const key = ({ body }: DueDelivery) => ({ eventId: body.event.id, webhookId: body.webhookId });
  const finished = due.filter((_, i) => !outcomes[i]!.retry).map(key);
  const retries = due.flatMap((d, i) => (outcomes[i]!.retry ? [{ ...key(d), dueAt: outcomes[i]!.retry!.dueAt, attempts: outcomes[i]!.retry!.attempts }] : []));
  await recordAttempts(db, rows, finished, retries).catch((error) =>
    // The attempts happened whether or not they could be recorded: the caller sends the retries all
    // the same. (Pending rows left behind only mean duplicate deliveries after REDISPATCH_AFTER_MS.)
    console.error(JSON.stringify({ level: "error", msg: "recording webhook deliveries failed", error: String(error) })),
  );
  return outcomes;
}

/** The retries among `outcomes`, as delayed messages carrying the attempts made so far. */
export function retryMessages(due: DueDelivery[], outcomes: DeliveryOutcome[]): OutgoingMessage[] {
  return due.flatMap(({ body }, i) => {
    const retry = outcomes[i]!.retry;
    return retry ? [{ body: { ...body, attempts: retry.attempts }, delaySeconds: retry.delay }] : [];
  });
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > MAX_ERROR ? `${flat.slice(0, MAX_ERROR - 1)}…` : flat;
}

function rowBase(hook: WebhookRow, body: DeliveryMessage) {
  return { tenantId: hook.tenantId, webhookId: hook.id, eventId: body.event.id, type: body.event.type };
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

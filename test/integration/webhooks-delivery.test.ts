/** Change events out over the real Queue: signed Standard Webhooks deliveries, retries, dead letters, the sweep. */
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { sql } from "drizzle-orm";
import { ATTEMPT_NOW, dispatchPending, knownToHaveNoWebhooks } from "../../src/events/dispatch";
import { runBatch } from "../../src/repo/batch";
import { insertChangeWhen } from "../../src/repo/change-events";
import { createWebhook } from "../../src/services/webhooks";
import { newChange } from "../../src/services/write-context";
import { tenantDb } from "../../src/tenancy/tenant-db";
import { admin, oktaUser } from "../support/harness";
import { addWebhook, commitChange, deliveries, insertChange, quietTenant, Receivers, undispatched, WAIT } from "../support/webhooks";

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => {
  receivers.restore();
  vi.restoreAllMocks();
});

const user = (id: string, userName = "ada@example.com") => ({ version: 2, user: { id, userName, displayName: "Ada Lovelace", active: true } });

/** What EVENTS_QUEUE.sendBatch is handed for `tenantId` from now on (each message's attempts and delay); the messages still go to the queue. */
function queuedFor(tenantId: string): { attempts?: number; delaySeconds?: number }[] {
  const queue = env.EVENTS_QUEUE as Queue & { sendBatch: Queue["sendBatch"] };
  const real = queue.sendBatch.bind(queue);
  const seen: { attempts?: number; delaySeconds?: number }[] = [];
  vi.spyOn(queue, "sendBatch").mockImplementation(async (messages, options) => {
    for (const m of messages as Iterable<MessageSendRequest<{ tenant: { id: string }; attempts?: number }>>) {
      if (m.body.tenant.id === tenantId) seen.push({ ...(m.body.attempts ? { attempts: m.body.attempts } : {}), ...(m.delaySeconds ? { delaySeconds: m.delaySeconds } : {}) });
    }
    return real(messages, options);
  });
  return seen;
}

/** Runs the delivery consumer on `batch` with EVENTS_QUEUE.sendBatch (the consumer's re-sends) replaced by `send`. */
async function consumeWith(batch: MessageBatch<unknown>, send: Queue["sendBatch"], vars: Record<string, string> = {}) {
  const spy = vi.spyOn(env.EVENTS_QUEUE as Queue & { sendBatch: Queue["sendBatch"] }, "sendBatch").mockImplementation(send);
  const ctx = createExecutionContext();
  try {
    await worker.queue(batch, { ...env, ...vars }, ctx);
  } finally {
    spy.mockRestore();
  }
  return getQueueResult(batch, ctx);
}

describe("delivery", () => {
  it("delivers what SCIM and admin writes commit, with no other trigger (dispatch after the write)", async () => {
    const t = await quietTenant();
    const url = receivers.add();
    const hook = await addWebhook(t.slug, url);
    const created = await t.scim("POST", "/Users", oktaUser({ userName: "grace@example.com", externalId: "00u-grace" }));
    expect(created.status).toBe(201);
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.json.type)).toEqual(["user.created"]), WAIT);
    const got = receivers.at(url)[0]!;
    expect(got.json.data).toMatchObject({ tenant: t.slug, version: expect.any(Number), user: { id: created.body.id, userName: "grace@example.com", externalId: "00u-grace", active: true } });
    expect(new Webhook(hook.secret).verify(got.body, got.headers)).toEqual(got.json);

    const group = await t.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering", members: [{ value: created.body.id }] });
    expect(group.status).toBe(201);
    const deactivated = await t.scim("PATCH", `/Users/${created.body.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] });
    expect(deactivated.status).toBe(200);
    expect((await admin("POST", `/tenants/${t.slug}/scim/token`)).status).toBe(201);
    await vi.waitFor(
      () => expect(receivers.at(url).map((r) => r.json.type).sort()).toEqual(["connection.token_rotated", "group.created", "group.user_added", "user.created", "user.deactivated"]),
      WAIT,
    );
    const added = receivers.at(url).find((r) => r.json.type === "group.user_added")!;
    expect(added.json.data).toMatchObject({ group: { displayName: "Engineering" }, user: { id: created.body.id } });
    expect(await undispatched(t.ref)).toBe(0);
    // Every delivery's webhook-id is the event's id in the outbox.
    const ids = receivers.at(url).map((r) => r.headers["webhook-id"]);
    const stored = await env.TENANT_DEFAULT.prepare(`SELECT id FROM change_events WHERE tenant_id = ? AND type NOT IN ('connection.enabled', 'connection.health_changed')`).bind(t.ref.id).all<{ id: string }>();
    expect(ids.sort()).toEqual(stored.results.map((r) => r.id).sort());
  });

  it("delivers each event of concurrent writes once: overlapping after-write dispatches do not resend", async () => {
    const t = await quietTenant();
    const url = receivers.add();
    await addWebhook(t.slug, url);
    const created = await Promise.all(Array.from({ length: 12 }, () => t.scim("POST", "/Users", oktaUser())));
    expect(created.map((r) => r.status)).toEqual(Array(12).fill(201));
    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(12), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // room for a duplicate to show up, if any
    const ids = receivers.at(url).map((r) => r.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(12);
    expect(receivers.at(url).map((r) => r.json.data.user.id).sort()).toEqual(created.map((r) => r.body.id).sort());
    expect(await undispatched(t.ref)).toBe(0);
  });

  it("a write's own dispatch run makes the first attempt itself: no queue message for a write's few events", async () => {
    const t = await quietTenant();
    const url = receivers.add();
    const hook = await addWebhook(t.slug, url);
    const queued = queuedFor(t.ref.id);
    const created = await t.scim("POST", "/Users", oktaUser());
    expect(created.status).toBe(201);
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.json.data.user.id)).toEqual([created.body.id]), WAIT);
    await vi.waitFor(async () => expect((await deliveries(t.slug, hook.id)).map((d) => [d.attempt, d.status])).toEqual([[1, "delivered"]]), WAIT);
    expect(await env.TENANT_DEFAULT.prepare("SELECT count(*) AS n FROM webhook_pending WHERE tenant_id = ?").bind(t.ref.id).first("n")).toBe(0);
    expect(queued).toEqual([]);
  });

  it("a write with more deliveries than a run attempts at once: the first ATTEMPT_NOW at once, the rest through the queue, each delivered once", async () => {
    const t = await quietTenant();
    const url = receivers.add();
    await addWebhook(t.slug, url);
    const members = await Promise.all(Array.from({ length: 9 }, () => t.scim("POST", "/Users", oktaUser())));
    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(9), WAIT);
    const queued = queuedFor(t.ref.id);
    // One write, ten events: group.created and a group.user_added per member.
    const group = await t.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Ten events", members: members.map((m) => ({ value: m.body.id })) });
    expect(group.status).toBe(201);
    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(19), WAIT);
    const ids = receivers.at(url).slice(9).map((r) => r.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(10);
    expect(queued).toHaveLength(10 - ATTEMPT_NOW);
    expect(queued.every((m) => !m.attempts)).toBe(true);
  });

  it("a first attempt made at once that fails is retried through the queue: a delayed message carrying the attempt count", async () => {
    const t = await quietTenant();
    const url = receivers.add([503, 200]);
    const hook = await addWebhook(t.slug, url);
    const queued = queuedFor(t.ref.id);
    const created = await t.scim("POST", "/Users", oktaUser());
    expect(created.status).toBe(201);
    await vi.waitFor(async () => expect((await deliveries(t.slug, hook.id)).map((d) => [d.attempt, d.status])).toEqual([[2, "delivered"], [1, "failed"]]), WAIT);
    expect(queued).toEqual([{ attempts: 1, delaySeconds: 1 }]); // the tests' 1 s base
    expect(new Set(receivers.at(url).map((r) => r.headers["webhook-id"])).size).toBe(1);
  });

  it("POSTs {type, timestamp, data} signed per Standard Webhooks; the standardwebhooks verifier accepts it, and refuses a tampered body or an old timestamp", async () => {
    const t = await quietTenant();
    const tenant = t.ref;
    const url = receivers.add();
    const hook = await addWebhook(t.slug, url);
    const id = await commitChange(tenant, "user.updated", user("u-1"));

    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(1), WAIT);
    const got = receivers.at(url)[0]!;
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers["webhook-id"]).toBe(id);
    expect(got.json).toEqual({ type: "user.updated", timestamp: expect.any(String), data: { tenant: t.slug, version: 2, user: expect.objectContaining({ id: "u-1", userName: "ada@example.com" }) } });

    const verifier = new Webhook(hook.secret);
    expect(verifier.verify(got.body, got.headers)).toEqual(got.json);
    expect(() => verifier.verify(got.body.replace("ada@", "eve@"), got.headers)).toThrow();
    const old = String(Number(got.headers["webhook-timestamp"]) - 600);
    const resigned = { ...got.headers, "webhook-timestamp": old, "webhook-signature": verifier.sign(id, new Date(Number(old) * 1000), got.body) };
    expect(() => verifier.verify(got.body, resigned)).toThrow(/timestamp/i);
    expect(() => new Webhook(`whsec_${btoa("another key of 32 bytes........")}`).verify(got.body, got.headers)).toThrow();

    await vi.waitFor(async () => expect(await deliveries(t.slug, hook.id)).toEqual([expect.objectContaining({ eventId: id, type: "user.updated", attempt: 1, status: "delivered", httpStatus: 200 })]), WAIT);
  });

  it("retries a receiver answering 500 twice then 200: the same webhook-id three times, three attempts listed newest first", async () => {
    const t = await quietTenant();
    const url = receivers.add([500, 500, 200]);
    const hook = await addWebhook(t.slug, url);
    const id = await commitChange(t.ref, "user.created", user("u-2"));

    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(3), WAIT);
    expect(receivers.at(url).map((r) => r.headers["webhook-id"])).toEqual([id, id, id]);
    await vi.waitFor(async () => expect((await deliveries(t.slug, hook.id)).map((d) => [d.attempt, d.status])).toEqual([[3, "delivered"], [2, "failed"], [1, "failed"]]), WAIT);
    const [, second, first] = await deliveries(t.slug, hook.id);
    expect(first).toMatchObject({ eventId: id, httpStatus: 500, error: "HTTP 500: receiver says 500" });
    expect(Date.parse(first.nextAttemptAt)).toBeGreaterThan(Date.parse(first.at));
    expect(second.httpStatus).toBe(500);
  });

  it("records a delivery whose retries ran out as dead (the dead-letter queue's consumer)", async () => {
    const t = await quietTenant();
    const tenant = t.ref;
    const url = receivers.add([500]);
    const hook = await addWebhook(t.slug, url);
    const id = await commitChange(tenant, "user.deleted", user("u-3"));
    await vi.waitFor(async () => expect((await deliveries(t.slug, hook.id)).length).toBeGreaterThanOrEqual(1), WAIT);

    // What the Queue hands the DLQ consumer after max_retries: the same message body.
    const event = { id, type: "user.deleted", occurredAt: new Date().toISOString(), data: { tenant: t.slug } };
    const batch = createMessageBatch("thestorage-scim-events-dlq", [{ id: "m1", timestamp: new Date(), attempts: 1, body: { tenant, webhookId: hook.id, event } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["m1"]);

    const listed = await deliveries(t.slug, hook.id);
    expect(listed[0]).toMatchObject({ eventId: id, type: "user.deleted", status: "dead", error: expect.stringContaining("Retries exhausted") });
    expect(listed[0].attempt).toBeGreaterThanOrEqual(1);
    expect(listed.slice(1).every((d) => d.status === "failed")).toBe(true);
    // Dead is finished: no longer pending, so the sweep never sends it again.
    expect(await env.TENANT_DEFAULT.prepare("SELECT count(*) AS n FROM webhook_pending WHERE event_id = ?").bind(id).first("n")).toBe(0);
    await admin("DELETE", `/tenants/${t.slug}/webhooks/${hook.id}`); // its queued retries are dropped from now on
  });

  it("when the queue refuses a batch's retries, those messages fall back to the Queue's own retry", async () => {
    const t = await quietTenant();
    const url = receivers.add([500, 200]);
    const hook = await addWebhook(t.slug, url);
    const event = { id: "evt_00000000000000000000000000000b22", type: "user.updated", occurredAt: new Date().toISOString(), data: { tenant: t.slug } };
    const batch = createMessageBatch("thestorage-scim-events", [{ id: "f1", timestamp: new Date(), attempts: 1, body: { tenant: t.ref, webhookId: hook.id, event } }]);
    const result = await consumeWith(batch, () => Promise.reject(new Error("Queue send failed (test)")));
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["f1"]);
    expect((await deliveries(t.slug, hook.id)).map((d) => [d.attempt, d.status])).toEqual([[1, "failed"]]);
  });

  it("the minute sweep delivers a change committed by a Worker that died before dispatching it, on every tenant database", async () => {
    const t = await quietTenant({ database: "TENANT_DEMO" });
    const fresh = await quietTenant();
    const url = receivers.add();
    const freshUrl = receivers.add();
    await createWebhook(env, t.ref, { url }, { actor: { type: "admin-token" } }); // not over HTTP: no request whose after-write dispatch could send it
    await createWebhook(env, fresh.ref, { url: freshUrl }, { actor: { type: "admin-token" } });
    const id = await insertChange(t.ref, "group.created", { version: 1, group: { id: "g-1", displayName: "Engineering", externalId: null } }, { occurredAt: new Date(Date.now() - 60_000).toISOString() });
    // Committed a moment ago: its own request is presumably still dispatching it; the sweep leaves it.
    const recent = await insertChange(fresh.ref, "user.created", user("u-fresh"));
    expect(receivers.at(url)).toHaveLength(0); // nothing dispatched it
    expect(await undispatched(t.ref)).toBe(1);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.headers["webhook-id"])).toEqual([id]), WAIT);
    expect(await undispatched(t.ref)).toBe(0);
    const row = await env.TENANT_DEFAULT.prepare("SELECT dispatched_at FROM change_events WHERE id = ?").bind(recent).first<{ dispatched_at: string | null }>();
    expect(row?.dispatched_at).toBeNull();
    expect(receivers.at(freshUrl)).toHaveLength(0);
  });

  it("without a webhook, an event is marked dispatched in its own batch and writes skip the dispatch; a webhook added gets the next write at once", async () => {
    const t = await quietTenant();
    const db = tenantDb(env, t.ref);
    const dispatchedAt = async (id: string) =>
      (await env.TENANT_DEFAULT.prepare("SELECT dispatched_at FROM change_events WHERE id = (SELECT id FROM change_events WHERE tenant_id = ? AND resource_id = ?)").bind(t.ref.id, id).first<{ dispatched_at: string | null }>())?.dispatched_at;
    // Committed the way a write commits it, with no dispatcher run: nothing to hand to a queue.
    await runBatch(db, [insertChangeWhen(newChange({ tenant: t.ref }, "user.updated", "u-none", 2, user("u-none")), sql`1`)]);
    expect(await dispatchedAt("u-none")).toEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/));
    expect(await undispatched(t.ref)).toBe(0);
    // A dispatch run that finds no webhook: this isolate skips the tenant's after-write dispatch for a while.
    expect(await dispatchPending(env, t.ref)).toBe(0);
    expect(knownToHaveNoWebhooks(t.ref.id)).toBe(true);

    const url = receivers.add();
    await addWebhook(t.slug, url);
    expect(knownToHaveNoWebhooks(t.ref.id)).toBe(false);
    await runBatch(db, [insertChangeWhen(newChange({ tenant: t.ref }, "user.updated", "u-hooked", 2, user("u-hooked")), sql`1`)]);
    expect(await dispatchedAt("u-hooked")).toBeNull();
    const created = await t.scim("POST", "/Users", oktaUser());
    expect(created.status).toBe(201);
    // The write's own dispatch sends both, well within the 10 s the hint would have lasted.
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.json.data.user.id).sort()).toEqual([created.body.id, "u-hooked"].sort()), { timeout: 5000, interval: 50 });
  });

  it("sends a webhook subscribed to user.deactivated only that type", async () => {
    const t = await quietTenant();
    const tenant = t.ref;
    const onlyDeactivated = receivers.add();
    const everything = receivers.add();
    await addWebhook(t.slug, onlyDeactivated, ["user.deactivated"]);
    await addWebhook(t.slug, everything);
    await commitChange(tenant, "user.updated", user("u-4"));
    const deactivated = await commitChange(tenant, "user.deactivated", user("u-4"));
    await commitChange(tenant, "user.reactivated", user("u-4"));

    await vi.waitFor(() => expect(receivers.at(everything)).toHaveLength(3), WAIT);
    await vi.waitFor(() => expect(receivers.at(onlyDeactivated).map((r) => [r.json.type, r.headers["webhook-id"]])).toEqual([["user.deactivated", deactivated]]), WAIT);
  });

  it("signs with the rotated secret at once, and stops delivering to a deleted webhook (queued messages to it are dropped)", async () => {
    const t = await quietTenant();
    const tenant = t.ref;
    const url = receivers.add();
    const other = receivers.add();
    const hook = await addWebhook(t.slug, url);
    await addWebhook(t.slug, other);
    const rotated = await admin("POST", `/tenants/${t.slug}/webhooks/${hook.id}/secret`);
    expect(rotated.status).toBe(201);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(hook.secret);

    await commitChange(tenant, "user.updated", user("u-5"));
    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(1), WAIT);
    const got = receivers.at(url)[0]!;
    expect(() => new Webhook(rotated.body.secret).verify(got.body, got.headers)).not.toThrow();
    expect(() => new Webhook(hook.secret).verify(got.body, got.headers)).toThrow();

    expect((await admin("DELETE", `/tenants/${t.slug}/webhooks/${hook.id}`)).status).toBe(204);
    const after = await commitChange(tenant, "user.updated", user("u-5"));
    await vi.waitFor(() => expect(receivers.at(other).map((r) => r.headers["webhook-id"])).toContain(after), WAIT);
    expect(receivers.at(url)).toHaveLength(1);

    // A message already queued for the deleted webhook is acknowledged and dropped, not retried.
    const batch = createMessageBatch("thestorage-scim-events", [{ id: "m2", timestamp: new Date(), attempts: 1, body: { tenant, webhookId: hook.id, event: { id: after, type: "user.updated", occurredAt: new Date().toISOString(), data: {} } } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m2"]);
    expect(result.retryMessages).toEqual([]);
    expect(receivers.at(url)).toHaveLength(1);
  });

  it("a failed message is acked, never held by the Queue: its retry is a new message, delayed, carrying the attempt count", async () => {
    const t = await quietTenant();
    const url = receivers.add([500, 200]);
    const hook = await addWebhook(t.slug, url);
    const event = { id: "evt_00000000000000000000000000000a11", type: "user.updated", occurredAt: new Date().toISOString(), data: { tenant: t.slug } };
    const batch = createMessageBatch("thestorage-scim-events", [{ id: "r1", timestamp: new Date(), attempts: 1, body: { tenant: t.ref, webhookId: hook.id, event } }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks).toEqual(["r1"]);
    // The retry arrives through the real queue (1 s base here) as attempt 2, with the same webhook-id.
    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(2), WAIT);
    expect(receivers.at(url).map((r) => r.headers["webhook-id"])).toEqual([event.id, event.id]);
    await vi.waitFor(async () => expect((await deliveries(t.slug, hook.id)).map((d) => [d.attempt, d.status])).toEqual([[2, "delivered"], [1, "failed"]]), WAIT);
  });

  it("retries with exponential backoff from WEBHOOK_RETRY_BASE_SECONDS, and records the last attempt's failure as dead", async () => {
    const t = await quietTenant();
    const tenant = t.ref;
    const url = receivers.add([503]);
    const hook = await addWebhook(t.slug, url);
    const event = { id: "evt_0123456789abcdef0123456789abcdef", type: "user.updated", occurredAt: new Date().toISOString(), data: { tenant: t.slug } };
    // Attempts counted by the message (sent again by the consumer) and by the Queue (its own retry of a failed invocation) alike.
    const bodies = [{ attempts: 0 }, { attempts: 2 }, { attempts: 10 }, { attempts: 12 }].map((n) => ({ tenant, webhookId: hook.id, event, ...n }));
    const batch = createMessageBatch("thestorage-scim-events", [1, 1, 2, 1].map((attempts, i) => ({ id: `a${i}`, timestamp: new Date(), attempts, body: bodies[i] })));
    const resent: { body: { attempts?: number }; delaySeconds?: number }[] = [];
    const keep: Queue["sendBatch"] = async (messages) => {
      resent.push(...([...messages] as typeof resent));
      return undefined as never;
    };
    const result = await consumeWith(batch, keep, { WEBHOOK_RETRY_BASE_SECONDS: "60" });
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual(["a0", "a1", "a2", "a3"]);
    expect(resent.map((m) => [m.body.attempts, m.delaySeconds])).toEqual([
      [1, 60],
      [3, 240],
      [12, 43200],
    ]);
    const listed = await deliveries(t.slug, hook.id);
    const delays = listed.filter((d) => d.nextAttemptAt).map((d) => [d.attempt, (Date.parse(d.nextAttemptAt) - Date.parse(d.at)) / 1000]);
    expect(delays.sort((a, b) => a[0]! - b[0]!)).toEqual([
      [1, 60],
      [3, 240],
      [12, 43200],
    ]);
    // The 13th attempt is the last (WEBHOOK_MAX_ATTEMPTS): no next attempt, and the delivery is dead.
    expect(listed.filter((d) => d.attempt === 13).map((d) => [d.status, d.nextAttemptAt ?? null])).toEqual([
      ["dead", null],
      ["failed", null],
    ]);
    expect(listed.find((d) => d.attempt === 13 && d.status === "failed").error).toContain("last attempt");
    await admin("DELETE", `/tenants/${t.slug}/webhooks/${hook.id}`);
  });

  it("keeps at most 6 deliveries of a batch in flight (a Worker's outbound connection limit), and delivers them all", async () => {
    const t = await quietTenant();
    const url = receivers.add([200], { delayMs: 100 });
    const hook = await addWebhook(t.slug, url);
    const messages = Array.from({ length: 15 }, (_, i) => ({
      id: `p${i}`,
      timestamp: new Date(),
      attempts: 1,
      body: { tenant: t.ref, webhookId: hook.id, event: { id: `evt_${String(i).padStart(32, "0")}`, type: "user.updated", occurredAt: new Date().toISOString(), data: { tenant: t.slug } } },
    }));
    const batch = createMessageBatch("thestorage-scim-events", messages);
    const ctx = createExecutionContext();
    await worker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(15);
    expect(receivers.at(url)).toHaveLength(15);
    expect(receivers.maxInFlight).toBeGreaterThan(1);
    expect(receivers.maxInFlight).toBeLessThanOrEqual(6);
    expect((await deliveries(t.slug, hook.id)).filter((d) => d.status === "delivered")).toHaveLength(15);
  });

  it("sends an event too large for a queue message by reference, reading its data from the outbox; one no longer stored ends dead", async () => {
    const t = await quietTenant();
    const url = receivers.add();
    const hook = await addWebhook(t.slug, url);
    const big = "x".repeat(150_000);
    const id = await commitChange(t.ref, "user.updated", { version: 3, user: { id: "u-big", userName: "big@example.com", title: big } });
    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(1), WAIT);
    const got = receivers.at(url)[0]!;
    expect(got.headers["webhook-id"]).toBe(id);
    expect(got.json.data.user.title).toBe(big);
    expect(() => new Webhook(hook.secret).verify(got.body, got.headers)).not.toThrow();

    // Attempted at once by a write's dispatch run, it goes with its data too (the claimed row's).
    const now = await insertChange(t.ref, "user.updated", { version: 4, user: { id: "u-big", userName: "big@example.com", title: big } });
    expect(await dispatchPending(env, t.ref, { attemptNow: true })).toBe(1);
    expect(receivers.at(url).map((r) => [r.headers["webhook-id"], r.json.data.user.title === big])).toEqual([[id, true], [now, true]]);
    expect((await deliveries(t.slug, hook.id)).find((d) => d.eventId === now)).toMatchObject({ attempt: 1, status: "delivered" });

    const gone = createMessageBatch("thestorage-scim-events", [{ id: "g1", timestamp: new Date(), attempts: 1, body: { tenant: t.ref, webhookId: hook.id, event: { id: "evt_ffffffffffffffffffffffffffffffff", type: "user.updated", occurredAt: new Date().toISOString() } } }]);
    const ctx = createExecutionContext();
    await worker.queue(gone, env, ctx);
    expect((await getQueueResult(gone, ctx)).explicitAcks).toEqual(["g1"]);
    expect((await deliveries(t.slug, hook.id))[0]).toMatchObject({ eventId: "evt_ffffffffffffffffffffffffffffffff", status: "dead", error: expect.stringContaining("no longer stored") });
    expect(receivers.at(url)).toHaveLength(2);
  });

  it("POST …/test sends a webhook.test event to that webhook only", async () => {
    const t = await quietTenant();
    const url = receivers.add();
    const other = receivers.add();
    const hook = await addWebhook(t.slug, url);
    await addWebhook(t.slug, other);
    const sent = await admin("POST", `/tenants/${t.slug}/webhooks/${hook.id}/test`);
    expect(sent.status).toBe(202);
    await vi.waitFor(() => expect(receivers.at(url).map((r) => [r.json.type, r.headers["webhook-id"]])).toEqual([["webhook.test", sent.body.eventId]]), WAIT);
    expect(() => new Webhook(hook.secret).verify(receivers.at(url)[0]!.body, receivers.at(url)[0]!.headers)).not.toThrow();
    expect(receivers.at(other)).toHaveLength(0);
  });
});

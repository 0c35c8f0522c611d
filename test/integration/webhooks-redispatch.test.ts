/**
 * Nothing is lost between outbox and receiver: a delivery handed to the queue whose first attempt
 * is never recorded (the queue lost it, e.g. a local queue across a SIGKILL; or the run died between
 * its claim and its send) is handed to the queue again by the minute sweep, with the same
 * `webhook-id`; one that was attempted (delivered or failed) never is.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { dispatchPending, REDISPATCH_AFTER_MS } from "../../src/events/dispatch";
import { sweepOutbox } from "../../src/jobs/scheduled";
import { oktaUser } from "../support/harness";
import { addWebhook, deliveries, insertChange, quietTenant, Receivers, undispatched, WAIT } from "../support/webhooks";

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => {
  receivers.restore();
  vi.restoreAllMocks();
});

type Queued = { body: { tenant: { id: string }; event: { id: string } } };

/**
 * EVENTS_QUEUE.sendBatch for `tenantId`'s messages: `lose` acknowledges and drops them, `fail`
 * throws; `times` sends so, after `spared` sends that go through.
 */
function breakQueue(tenantId: string, mode: "lose" | "fail", times = 1, spared = 0) {
  const queue = env.EVENTS_QUEUE as Queue & { sendBatch: Queue["sendBatch"] };
  const real = queue.sendBatch.bind(queue);
  const affected: string[] = [];
  vi.spyOn(queue, "sendBatch").mockImplementation(async (messages, options) => {
    const list = [...messages] as Queued[];
    if (list.some((m) => m.body.tenant.id === tenantId) && spared-- <= 0 && times > 0) {
      times -= 1;
      affected.push(...list.map((m) => m.body.event.id));
      if (mode === "fail") throw new Error("Queue send failed (test)");
      return undefined as never;
    }
    return real(messages, options);
  });
  return affected;
}

async function pendingOf(tenantId: string): Promise<{ event_id: string; webhook_id: string; queued_at: string }[]> {
  return (await env.TENANT_DEFAULT.prepare("SELECT event_id, webhook_id, queued_at FROM webhook_pending WHERE tenant_id = ?").bind(tenantId).all<any>()).results;
}

async function attemptsPending(tenantId: string): Promise<{ queued_at: string; attempts: number }[]> {
  return (await env.TENANT_DEFAULT.prepare("SELECT queued_at, attempts FROM webhook_pending WHERE tenant_id = ?").bind(tenantId).all<any>()).results;
}

const later = (ms: number) => new Date(Date.now() + ms);

describe("redispatch of deliveries the queue lost", () => {
  it("a change the queue lost is handed to it again by the sweep once it is a minute old, with the same webhook-id, and only once", async () => {
    const t = await quietTenant();
    const url = receivers.add();
    const other = receivers.add();
    const hook = await addWebhook(t.slug, url);
    const otherHook = await addWebhook(t.slug, other, ["group.created"]); // not subscribed: never pending for this event
    const lost = breakQueue(t.ref.id, "lose");

    // Dispatched through the queue (as the sweep, or a claim too big to attempt at once, is).
    const id = await insertChange(t.ref, "user.updated", { version: 2, user: { id: "u-lost", userName: "lost@example.com" } });
    expect(await dispatchPending(env, t.ref)).toBe(1);
    expect(lost).toEqual([id]);
    // Marked dispatched (claimed), one delivery pending (to the subscribed webhook only), nothing received.
    expect(await undispatched(t.ref)).toBe(0);
    expect(await pendingOf(t.ref.id)).toEqual([{ event_id: id, webhook_id: hook.id, queued_at: expect.any(String) }]);
    expect(receivers.at(url)).toHaveLength(0);

    // Younger than REDISPATCH_AFTER_MS: perhaps only slow; the sweep leaves it.
    expect(await sweepOutbox(env)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receivers.at(url)).toHaveLength(0);

    // Older: handed to the queue again, delivered, and no longer pending.
    expect(await sweepOutbox(env, later(REDISPATCH_AFTER_MS + 1000))).toBe(1);
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.headers["webhook-id"])).toEqual([id]), WAIT);
    expect(receivers.at(url)[0]!.json.data.user.id).toBe("u-lost");
    await vi.waitFor(async () => expect(await pendingOf(t.ref.id)).toEqual([]), WAIT);
    expect((await deliveries(t.slug, hook.id)).map((d) => [d.eventId, d.attempt, d.status])).toEqual([[id, 1, "delivered"]]);

    // Attempted deliveries are never re-sent, however late the sweep.
    expect(await sweepOutbox(env, later(10 * REDISPATCH_AFTER_MS))).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receivers.at(url)).toHaveLength(1);
    expect(receivers.at(other)).toHaveLength(0);
    expect(await deliveries(t.slug, otherHook.id)).toEqual([]);
  });

  it("a failed attempt stays pending until its retry is due; a retry the queue lost is sent again by the sweep, as the next attempt", async () => {
    const t = await quietTenant();
    const url = receivers.add([500, 200]);
    const hook = await addWebhook(t.slug, url);
    const lost = breakQueue(t.ref.id, "lose"); // the write's run attempts at once; its retry's send is lost
    const created = await t.scim("POST", "/Users", oktaUser());
    expect(created.status).toBe(201);
    await vi.waitFor(() => expect(lost).toHaveLength(1), WAIT);
    const [first] = await deliveries(t.slug, hook.id);
    expect(first).toMatchObject({ attempt: 1, status: "failed" });
    // Due when the failed attempt said the next would come, with the count so far.
    expect(await attemptsPending(t.ref.id)).toEqual([{ queued_at: first.nextAttemptAt, attempts: 1 }]);

    // Not yet overdue: left alone.
    expect(await sweepOutbox(env)).toBe(0);
    // A minute overdue: sent again, attempted as attempt 2 (not a first attempt again), and finished.
    expect(await sweepOutbox(env, later(REDISPATCH_AFTER_MS + 5000))).toBe(1);
    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(2), WAIT);
    expect(new Set(receivers.at(url).map((r) => r.headers["webhook-id"])).size).toBe(1);
    await vi.waitFor(async () => expect((await deliveries(t.slug, hook.id)).map((d) => [d.attempt, d.status])).toEqual([[2, "delivered"], [1, "failed"]]), WAIT);
    await vi.waitFor(async () => expect(await pendingOf(t.ref.id)).toEqual([]), WAIT);
    expect(await sweepOutbox(env, later(10 * REDISPATCH_AFTER_MS))).toBe(0);
  });

  it("a send the queue refuses gives the claim back: the next write's dispatch sends both events", async () => {
    const t = await quietTenant();
    const url = receivers.add();
    await addWebhook(t.slug, url);
    const refused = breakQueue(t.ref.id, "fail");
    const first = await insertChange(t.ref, "user.updated", { version: 2, user: { id: "u-first", userName: "first@example.com" } });
    await expect(dispatchPending(env, t.ref)).rejects.toThrow("Queue send failed (test)");
    expect(refused).toEqual([first]);
    expect(await undispatched(t.ref)).toBe(1);
    expect(await pendingOf(t.ref.id)).toEqual([]);
    const second = await t.scim("POST", "/Users", oktaUser());
    expect(second.status).toBe(201);
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.json.data.user.id).sort()).toEqual(["u-first", second.body.id].sort()), WAIT);
    expect(await undispatched(t.ref)).toBe(0);
  });

  it("re-sends at most a bounded number of stale deliveries per database per sweep, and drops those whose event is gone", async () => {
    const t = await quietTenant();
    const url = receivers.add();
    const hook = await addWebhook(t.slug, url);
    const old = new Date(Date.now() - 10 * REDISPATCH_AFTER_MS).toISOString();
    // 2,050 claimed-and-lost deliveries (as a crash would leave them), plus one whose event retention deleted.
    await env.TENANT_DEFAULT.prepare(
      `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2050)
       INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data, dispatched_at)
       SELECT printf('evt_%032d', n), ?1, 'user.updated', ?2, 'u-' || n, 2, json_object('tenant', ?3, 'version', 2, 'user', json_object('id', 'u-' || n)), ?2 FROM c`,
    )
      .bind(t.ref.id, old, t.slug)
      .run();
    await env.TENANT_DEFAULT.prepare(
      `INSERT INTO webhook_pending (event_id, webhook_id, tenant_id, queued_at)
       SELECT id, ?1, tenant_id, occurred_at FROM change_events WHERE tenant_id = ?2 AND id LIKE 'evt_000%'
       UNION ALL SELECT 'evt_gone', ?1, ?2, ?3`,
    )
      .bind(hook.id, t.ref.id, old)
      .run();
    expect((await pendingOf(t.ref.id)).length).toBe(2051);

    expect(await sweepOutbox(env)).toBe(2000); // 20 rounds of 100 per database, then the next sweep
    expect(await sweepOutbox(env)).toBe(50);
    await vi.waitFor(() => expect(new Set(receivers.at(url).map((r) => r.headers["webhook-id"])).size).toBe(2050), { timeout: 60_000, interval: 250 });
    await vi.waitFor(async () => expect(await pendingOf(t.ref.id)).toEqual([]), WAIT);
  });
});

/**
 * A permanent failure through the real Queues end to end: this project's vitest config gives the
 * delivery queue's consumer max_retries = 1 (production: 12), so a receiver that always answers 500
 * exhausts its retries in seconds, the Queue moves the message to the dead-letter queue, and that
 * queue's consumer records the delivery as dead in the deliveries list.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { oktaUser } from "../support/harness";
import { addWebhook, deliveries, quietTenant, Receivers, WAIT } from "../support/webhooks";

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => receivers.restore());

describe("dead letters", () => {
  it("a delivery that keeps failing reaches the dead-letter queue and shows as dead after its attempts", async () => {
    const t = await quietTenant();
    const url = receivers.add([500]);
    const hook = await addWebhook(t.slug, url);
    const created = await t.scim("POST", "/Users", oktaUser());
    expect(created.status).toBe(201);

    await vi.waitFor(async () => expect((await deliveries(t.slug, hook.id)).map((d) => [d.attempt, d.status])).toEqual([[2, "dead"], [2, "failed"], [1, "failed"]]), { ...WAIT, timeout: 30_000 });
    const [dead, second, first] = await deliveries(t.slug, hook.id);
    expect(dead).toMatchObject({ type: "user.created", error: expect.stringContaining("Retries exhausted") });
    expect(first).toMatchObject({ type: "user.created", httpStatus: 500 });
    expect(second.eventId).toBe(first.eventId);
    expect(Date.parse(first.nextAttemptAt)).toBeGreaterThan(Date.parse(first.at));
    expect(second.nextAttemptAt ?? null).toBeNull(); // the Queue dead-lettered it instead of retrying
    expect(dead.eventId).toBe(first.eventId);
    // Every attempt carried the same webhook-id: the event's id.
    expect(new Set(receivers.at(url).map((r) => r.headers["webhook-id"]))).toEqual(new Set([first.eventId]));
    expect(receivers.at(url)).toHaveLength(2);
  });
});

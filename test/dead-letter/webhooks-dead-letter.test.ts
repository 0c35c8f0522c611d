/**
 * A permanent failure through the real Queue end to end: this project's vitest config gives
 * WEBHOOK_MAX_ATTEMPTS = 2 (production: 13), so a receiver that always answers 500 exhausts its
 * retries in seconds (each retry a new message the consumer sends itself) and the consumer records
 * the delivery as dead in the deliveries list, and finished: the sweep never sends it again.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { oktaUser } from "../support/harness";
import { REDISPATCH_AFTER_MS } from "../../src/events/dispatch";
import { sweepOutbox } from "../../src/jobs/scheduled";
import { addWebhook, deliveries, quietTenant, Receivers, WAIT } from "../support/webhooks";

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => receivers.restore());

describe("dead letters", () => {
  it("a delivery that keeps failing shows as dead after its attempts, and is never sent again", async () => {
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
    expect(second.nextAttemptAt ?? null).toBeNull(); // the last attempt: dead instead of retried
    expect(dead.eventId).toBe(first.eventId);
    // Every attempt carried the same webhook-id: the event's id.
    expect(new Set(receivers.at(url).map((r) => r.headers["webhook-id"]))).toEqual(new Set([first.eventId]));
    expect(receivers.at(url)).toHaveLength(2);
    expect((await env.TENANT_DEFAULT.prepare("SELECT count(*) AS n FROM webhook_pending WHERE tenant_id = ?").bind(t.ref.id).first<{ n: number }>())!.n).toBe(0);
    expect(await sweepOutbox(env, new Date(Date.now() + 10 * REDISPATCH_AFTER_MS))).toBe(0);
  });
});

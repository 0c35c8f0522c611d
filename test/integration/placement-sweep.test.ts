/**
 * Placement and the outbox sweep (design.md §4h, §4b): the minute cron, firing mid-move, dispatches a
 * tenant's events only from the database the tenant lives in, never from the copy being built, so
 * the move completes and every event goes out once.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sweepOutbox } from "../../src/jobs/scheduled";
import { runStep } from "../../src/placement/mover";
import { controlDb } from "../../src/repo/control";
import { getMove, insertMove } from "../../src/repo/tenant-moves";
import { addWebhook, insertChange, quietTenant, Receivers, WAIT } from "../support/webhooks";

let receivers: Receivers;
afterEach(() => receivers?.restore());

describe("the outbox sweep during a move", () => {
  it("leaves the copy alone during the move: the minute sweep dispatches only from where the tenant lives", async () => {
    receivers = new Receivers();
    const t = await quietTenant();
    const url = receivers.add([200]);
    await addWebhook(t.slug, url);
    // Committed and never handed to the queue (its request died): the sweep's to send.
    const pending = await insertChange(t.ref, "user.updated", { version: 2, user: { id: "u1" } }, { occurredAt: new Date(Date.now() - 120_000).toISOString() });

    const control = controlDb(env.CONTROL_DB);
    const at = new Date().toISOString();
    const id = crypto.randomUUID();
    await insertMove(control, { id, tenantId: t.ref.id, tenantSlug: t.slug, fromDatabase: "TENANT_DEFAULT", toDatabase: "TENANT_DEMO", state: "preparing", actor: { type: "admin-token" }, startedAt: at, updatedAt: at });
    for (let i = 0; i < 20 && (await getMove(control, id))!.state !== "catching_up"; i++) await runStep(env, id);
    expect((await getMove(control, id))!.state).toBe("catching_up");
    // The cron fires mid-move: the event goes out once, from the old database, and the copy learns it by the catch-up.
    await sweepOutbox(env, new Date(Date.now() + 60_000));
    for (let i = 0; i < 100 && (await runStep(env, id)).nextInMs !== null; i++);
    const move = (await getMove(control, id))!;
    expect(move.state, move.error ?? "").toBe("done");
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.headers["webhook-id"])).toEqual([pending]), WAIT);
    await sweepOutbox(env, new Date(Date.now() + 600_000));
    await new Promise((r) => setTimeout(r, 300));
    expect(receivers.at(url).length).toBe(1);
  });
});

/**
 * Dispatch under concurrent load across tenants, through the real Queue: no request may wait on
 * another request's dispatch (workerd refuses I/O on behalf of a different request, and such a wait
 * can hang), and the minute sweep must finish however busy dispatch is. A run is stuck here in its
 * own first delivery attempt (a receiver that never answers), the I/O a run after a write does.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { createWebhook } from "../../src/services/webhooks";
import { oktaUser } from "../support/harness";
import { addWebhook, insertChange, quietTenant, Receivers, undispatched, type Received } from "../support/webhooks";

let receivers: Receivers;
let errors: string[];
beforeEach(() => {
  receivers = new Receivers();
  errors = [];
  const original = console.error.bind(console);
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    errors.push(args.map(String).join(" "));
    original(...args);
  });
});
afterEach(() => {
  receivers.restore();
  vi.restoreAllMocks();
});

const LONG_WAIT = { timeout: 45_000, interval: 250 };
const patchOp = (value: Record<string, unknown>) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value }] });

/** The tenant's events but its setup ones (quietTenant dispatched them before the webhook existed). */
async function eventIdsOf(tenantId: string, database: string): Promise<string[]> {
  const db = (env as unknown as Record<string, D1Database>)[database]!;
  const { results } = await db.prepare("SELECT id FROM change_events WHERE tenant_id = ? AND type NOT IN ('connection.enabled', 'connection.health_changed')").bind(tenantId).all<{ id: string }>();
  return results.map((r) => r.id);
}

async function pendingCount(tenantId: string, database: string): Promise<number> {
  const db = (env as unknown as Record<string, D1Database>)[database]!;
  return (await db.prepare("SELECT count(*) AS n FROM webhook_pending WHERE tenant_id = ?").bind(tenantId).first<{ n: number }>())!.n;
}

/** Runs `task(i)` for i in [0, total) with `concurrency` in flight. */
async function pool(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

describe("dispatch under concurrent load", () => {
  it("16 concurrent writers across 4 tenants with one dispatch stuck: every other event is delivered, no dispatch error, and the sweep completes", async () => {
    const tenants = await Promise.all([quietTenant(), quietTenant(), quietTenant({ database: "TENANT_DEMO" }), quietTenant({ database: "TENANT_DEMO" })]);
    const urls = tenants.map(() => receivers.add([200], { delayMs: 5 }));
    await Promise.all(tenants.map((t, i) => addWebhook(t.slug, urls[i]!)));
    const stuck = receivers.hold(urls[0]!, 3);

    // Creates then updates/deactivations, interleaved across tenants, 16 at a time: every write's
    // after-write dispatch overlaps others of the same tenant, and tenant 0's third delivery is never answered.
    const users: { tenant: number; id: string }[] = [];
    const statuses: number[] = [];
    await pool(320, 16, async (i) => {
      const k = i % tenants.length;
      const t = tenants[k]!;
      const mine = users.filter((u) => u.tenant === k);
      if (i < 96 || mine.length === 0 || i % 3 === 0) {
        const created = await t.scim("POST", "/Users", oktaUser());
        statuses.push(created.status);
        if (created.status === 201) users.push({ tenant: k, id: created.body.id });
      } else {
        const target = mine[i % mine.length]!;
        const patched = await t.scim("PATCH", `/Users/${target.id}`, patchOp(i % 2 ? { displayName: `Renamed ${i}` } : { active: i % 4 === 0 }));
        statuses.push(patched.status);
      }
    });
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(stuck.held.length).toBeGreaterThan(0);

    // Every committed event reaches its tenant's receiver (the held one too: it was sent, not
    // answered), nothing is left undispatched, and the other runs went on around the stuck one.
    for (const [k, t] of tenants.entries()) {
      const ids = await eventIdsOf(t.ref.id, t.ref.database);
      expect(ids.length).toBeGreaterThan(30);
      await vi.waitFor(() => {
        const got = new Set(receivers.at(urls[k]!).map((r: Received) => r.headers["webhook-id"]));
        expect(ids.filter((id) => !got.has(id))).toEqual([]);
      }, LONG_WAIT);
      expect(await undispatched(t.ref)).toBe(0);
    }

    // The sweep, with that delivery still stuck, finishes and sends what a dead Worker left behind.
    const late = await quietTenant();
    const lateUrl = receivers.add();
    await createWebhook(env, late.ref, { url: lateUrl }, { actor: { type: "admin-token" } });
    const orphan = await insertChange(late.ref, "user.updated", { version: 2, user: { id: "u-orphan", userName: "orphan@example.com" } }, { occurredAt: new Date(Date.now() - 60_000).toISOString() });
    const ctx = createExecutionContext();
    const swept = (async () => {
      await worker.scheduled(createScheduledController({ cron: "* * * * *", scheduledTime: Date.now() }), env, ctx);
      await waitOnExecutionContext(ctx);
      return "done";
    })();
    expect(await Promise.race([swept, new Promise((resolve) => setTimeout(() => resolve("hung"), 15_000))])).toBe("done");
    await vi.waitFor(() => expect(receivers.at(lateUrl).map((r) => r.headers["webhook-id"])).toEqual([orphan]), LONG_WAIT);
    expect(errors.filter((e) => /dispatch|different request|hung/i.test(e))).toEqual([]);

    // Released, the stuck run records its attempts: every delivery of tenant 0 is finished.
    stuck.release();
    await vi.waitFor(async () => expect(await pendingCount(tenants[0]!.ref.id, tenants[0]!.ref.database)).toBe(0), LONG_WAIT);
    const [heldId] = stuck.held;
    const recorded = await (env as unknown as Record<string, D1Database>)[tenants[0]!.ref.database]!.prepare("SELECT status FROM webhook_deliveries WHERE event_id = ?").bind(heldId).all<{ status: string }>();
    expect(recorded.results.map((r) => r.status)).toEqual(["delivered"]);
  });
});

/**
 * Placement and change events (design.md §4h, §4b): events committed before a tenant's move are
 * delivered as if nothing had happened, also by a delivery message that names the database the
 * tenant has left (sent before the switch, delivered or retried after it), and their delivery
 * state is kept where the tenant now lives.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runStep } from "../../src/placement/mover";
import { controlDb } from "../../src/repo/control";
import { getMove, insertMove } from "../../src/repo/tenant-moves";
import { oktaUser } from "../support/harness";
import { addWebhook, deliveries, quietTenant, Receivers, WAIT } from "../support/webhooks";

let receivers: Receivers;
afterEach(() => receivers?.restore());

async function moveToDemo(tenantId: string, slug: string): Promise<void> {
  const control = controlDb(env.CONTROL_DB);
  const at = new Date().toISOString();
  const id = crypto.randomUUID();
  await insertMove(control, { id, tenantId, tenantSlug: slug, fromDatabase: "TENANT_DEFAULT", toDatabase: "TENANT_DEMO", state: "preparing", actor: { type: "admin-token" }, startedAt: at, updatedAt: at });
  for (let i = 0; i < 100 && (await runStep(env, id)).nextInMs !== null; i++);
  expect((await getMove(control, id))!.state).toBe("done");
}

describe("change events across a move", () => {
  it("delivers a message naming the old database from the new one, and records it there", async () => {
    receivers = new Receivers();
    const t = await quietTenant();
    const url = receivers.add([200]);
    const hook = await addWebhook(t.slug, url);
    const created = await t.scim("POST", "/Users", oktaUser());
    expect(created.status).toBe(201);
    await vi.waitFor(() => expect(receivers.at(url).length).toBe(1), WAIT);
    const eventId = receivers.at(url)[0]!.headers["webhook-id"]!;
    expect(eventId).toMatch(/^evt_/);

    await moveToDemo(t.ref.id, t.slug);

    // A message sent before the switch, arriving after it (and after the old rows are erased).
    await env.EVENTS_QUEUE.send({ webhookId: hook.id, tenant: { id: t.ref.id, slug: t.slug, database: "TENANT_DEFAULT" }, event: { id: eventId, type: "user.created" } });
    await vi.waitFor(() => expect(receivers.at(url).length).toBe(2), WAIT);
    expect(receivers.at(url)[1]!.headers["webhook-id"]).toBe(eventId);
    await vi.waitFor(async () => expect((await deliveries(t.slug, hook.id)).filter((d) => d.eventId === eventId && d.status === "delivered").length).toBe(2), WAIT);

    // Writes after the move produce events delivered from the new database.
    const later = await t.scim("POST", "/Users", oktaUser());
    if (later.status === 429) expect((await t.scim("POST", "/Users", oktaUser())).status).toBe(201);
    await vi.waitFor(() => expect(receivers.at(url).length).toBe(3), WAIT);
    const ids = receivers.at(url).map((r) => r.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(2);
  });
});

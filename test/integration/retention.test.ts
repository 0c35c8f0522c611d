// The hourly retention job: only rows past their horizon go, in bounded batches, so a backlog is
// worked off over several runs; the scheduled handler runs it on the "23 * * * *" cron.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { retentionDays, runRetention } from "../../src/jobs/retention";
import { admin, uniqueSlug } from "../support/harness";
import { send, signIn } from "../support/console-session";

const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

/** `n` provisioning-log rows of `tenantId` at `at`, in one statement. */
async function insertEvents(db: D1Database, tenantId: string, n: number, at: string, detail: string) {
  await db
    .prepare(
      `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?2)
       INSERT INTO events (tenant_id, at, action, resource_type, outcome, status, detail) SELECT ?1, ?3, 'user.create', 'User', 'success', 201, ?4 FROM c`,
    )
    .bind(tenantId, n, at, detail)
    .run();
}

async function countWhere(db: D1Database, sql: string, ...params: unknown[]): Promise<number> {
  const row = await db.prepare(`SELECT COUNT(*) AS n FROM ${sql}`).bind(...params).first<{ n: number }>();
  return row!.n;
}

async function insertChange(db: D1Database, tenantId: string, at: string, dispatched: boolean) {
  await db
    .prepare(`INSERT INTO change_events (id, tenant_id, type, occurred_at, data, dispatched_at) VALUES (?1, ?2, 'user.created', ?3, '{}', ?4)`)
    .bind(`evt_${crypto.randomUUID().replace(/-/g, "")}`, tenantId, at, dispatched ? at : null)
    .run();
}

async function insertDelivery(db: D1Database, tenantId: string, at: string) {
  await db
    .prepare(`INSERT INTO webhook_deliveries (tenant_id, webhook_id, event_id, type, attempt, status, at) VALUES (?1, 'wh', 'evt', 'user.created', 1, 'delivered', ?2)`)
    .bind(tenantId, at)
    .run();
}

async function insertAudit(at: string, detail: string) {
  await env.CONTROL_DB.prepare(`INSERT INTO audit_events (at, action, actor, outcome, detail) VALUES (?1, 'tenant.create', '{"type":"admin-token"}', 'success', ?2)`).bind(at, detail).run();
}

describe("retention", () => {
  it("deletes only rows past the horizon, in bounded batches: a run with a small budget leaves old rows for the next", async () => {
    const tenantId = `ret-${crypto.randomUUID()}`;
    await insertEvents(env.TENANT_DEFAULT, tenantId, 12_000, ago(91 * DAY), "old");
    await insertEvents(env.TENANT_DEFAULT, tenantId, 7, ago(89 * DAY), "new");
    await insertEvents(env.TENANT_DEMO, tenantId, 3, ago(200 * DAY), "old");
    await insertEvents(env.TENANT_DEMO, tenantId, 2, ago(DAY), "new");
    await insertChange(env.TENANT_DEFAULT, tenantId, ago(91 * DAY), false);
    await insertChange(env.TENANT_DEFAULT, tenantId, ago(91 * DAY), true);
    await insertChange(env.TENANT_DEFAULT, tenantId, ago(10 * DAY), false);
    await insertDelivery(env.TENANT_DEMO, tenantId, ago(95 * DAY));
    await insertDelivery(env.TENANT_DEMO, tenantId, ago(5 * DAY));
    await insertAudit(ago(401 * DAY), "ancient");
    await insertAudit(ago(120 * DAY), "last quarter");

    const oldEvents = (db: D1Database) => countWhere(db, "events WHERE tenant_id = ?1 AND detail = 'old'", tenantId);
    const newEvents = (db: D1Database) => countWhere(db, "events WHERE tenant_id = ?1 AND detail = 'new'", tenantId);

    // Two statements of 5,000 rows: the first table's backlog is only partly worked off.
    const first = await runRetention(env, { batchRows: 5000, maxStatements: 2 });
    expect(first.complete).toBe(false);
    expect(first.deleted["TENANT_DEFAULT.events"]).toBe(10_000);
    expect(await oldEvents(env.TENANT_DEFAULT)).toBe(2000);
    expect(await oldEvents(env.TENANT_DEMO)).toBe(3);

    const second = await runRetention(env);
    expect(second.complete).toBe(true);
    expect(await oldEvents(env.TENANT_DEFAULT)).toBe(0);
    expect(await oldEvents(env.TENANT_DEMO)).toBe(0);
    expect(await newEvents(env.TENANT_DEFAULT)).toBe(7);
    expect(await newEvents(env.TENANT_DEMO)).toBe(2);
    // Change events past the horizon go whether or not they were dispatched; recent ones stay.
    expect(await countWhere(env.TENANT_DEFAULT, "change_events WHERE tenant_id = ?1", tenantId)).toBe(1);
    expect(await countWhere(env.TENANT_DEMO, "webhook_deliveries WHERE tenant_id = ?1", tenantId)).toBe(1);
    // The audit trail is kept longer (400 days).
    expect(await countWhere(env.CONTROL_DB, "audit_events WHERE detail = 'ancient'")).toBe(0);
    expect(await countWhere(env.CONTROL_DB, "audit_events WHERE detail = 'last quarter'")).toBe(1);

    const third = await runRetention(env);
    expect(third).toMatchObject({ complete: true, deleted: {} });
  });

  it("runs from the scheduled handler on the hourly cron only, with EVENT_RETENTION_DAYS from the environment", async () => {
    const tenantId = `ret-${crypto.randomUUID()}`;
    await insertEvents(env.TENANT_DEFAULT, tenantId, 4, ago(10 * DAY), "ten days");
    await insertEvents(env.TENANT_DEFAULT, tenantId, 2, ago(5 * DAY), "five days");
    const tenDays = () => countWhere(env.TENANT_DEFAULT, "events WHERE tenant_id = ?1 AND detail = 'ten days'", tenantId);
    const shortRetention = { ...env, EVENT_RETENTION_DAYS: "7" };

    const run = async (cron: string, bindings: Cloudflare.Env) => {
      const ctx = createExecutionContext();
      await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), bindings, ctx);
      await waitOnExecutionContext(ctx);
    };
    await run("23 * * * *", env);
    expect(await tenDays()).toBe(4);
    await run("* * * * *", shortRetention);
    expect(await tenDays()).toBe(4);
    await run("23 * * * *", shortRetention);
    expect(await tenDays()).toBe(0);
    expect(await countWhere(env.TENANT_DEFAULT, "events WHERE tenant_id = ?1 AND detail = 'five days'", tenantId)).toBe(2);
  });

  it("reads EVENT_RETENTION_DAYS as whole days, 90 when unset or invalid", () => {
    expect(retentionDays({ EVENT_RETENTION_DAYS: "30" })).toBe(30);
    for (const value of [undefined, "", "0", "-5", "1.5", "ninety", "99999"]) expect(retentionDays({ EVENT_RETENTION_DAYS: value }), String(value)).toBe(90);
  });

  it("tells console users how long the log keeps events", async () => {
    const session = await signIn();
    const slug = uniqueSlug("ret");
    expect((await admin("POST", "/tenants", { slug })).status).toBe(201);
    const page = await send("GET", `/admin/tenants/${slug}/log`, { cookie: session.cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain("Events are kept for 90 days");
  });

  // Last in the file: it leaves a deletion that can never finish.
  it("keeps going when one deleted tenant cannot be erased (its database binding is gone)", async () => {
    const slug = uniqueSlug("gone");
    await env.CONTROL_DB.prepare("INSERT INTO tenants (id, slug, name, database, created_at, deleting_at) VALUES (?1, ?2, ?2, 'TENANT_REMOVED', ?3, ?3)")
      .bind(crypto.randomUUID(), slug, new Date().toISOString())
      .run();
    const tenantId = `ret-${crypto.randomUUID()}`;
    await insertEvents(env.TENANT_DEFAULT, tenantId, 3, ago(100 * DAY), "old");
    const report = await runRetention(env);
    expect(report.tenantsPending).toEqual([slug]);
    expect(report.complete).toBe(false);
    expect(await countWhere(env.TENANT_DEFAULT, "events WHERE tenant_id = ?1", tenantId)).toBe(0);
  });
});

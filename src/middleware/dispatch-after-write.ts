/**
 * After a write answers, dispatches the tenant's new change events off the response path
 * (waitUntil): the first few deliveries attempted at once, the rest through the delivery queue. Mounted on the SCIM routes (after scimAuth, which sets the tenant) and on
 * admin routes under /tenants/:slug (SCIM switch, token rotation, avatar). If this never runs (the
 * isolate dies first), the minute sweep dispatches the events instead. A tenant this isolate recently
 * saw without webhooks is skipped altogether (see NO_WEBHOOKS_HINT_MS).
 */
import { eq } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { tenants } from "../db/control/schema";
import type { Env } from "../env";
import { dispatchPending, knownToHaveNoWebhooks } from "../events/dispatch";
import type { AppEnv } from "../lib/hono";
import { controlDb } from "../repo/control";
import type { TenantRef } from "../tenancy/tenant-db";

async function tenantBySlug(env: Env, slug: string): Promise<TenantRef | null> {
  const rows = await controlDb(env.CONTROL_DB).select({ id: tenants.id, slug: tenants.slug, database: tenants.database }).from(tenants).where(eq(tenants.slug, slug)).limit(1);
  return rows[0] ?? null;
}

export const dispatchAfterWrite = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.req.method === "GET" || c.req.method === "HEAD") return;
  // A refused write (4xx: invalid, conflict, rate-limited) committed nothing, so produced no event;
  // skipping it keeps a flood of refusals from adding database work. 5xx might follow a commit.
  if (c.res.status >= 400 && c.res.status < 500) return;
  const known = c.get("tenant") as TenantRef | undefined;
  const slug = known ? undefined : c.req.param("slug");
  if (!known && !slug) return;
  // No webhook: the write's events were marked dispatched as they were inserted; nothing to read.
  if (known && knownToHaveNoWebhooks(known.id)) return;
  const env = c.env;
  const run = async () => {
    const tenant = known ?? (await tenantBySlug(env, slug!));
    if (tenant) await dispatchPending(env, tenant, { attemptNow: true });
  };
  let ctx: ExecutionContext | undefined;
  try {
    ctx = c.executionCtx;
  } catch {
    return; // no execution context (e.g. app.request in a unit test): the sweep will dispatch
  }
  ctx.waitUntil(run().catch((error) => console.error(JSON.stringify({ level: "error", msg: "dispatching change events failed", error: String(error) }))));
});

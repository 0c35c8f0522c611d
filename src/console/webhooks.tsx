/**
 * Console routes of Settings › Webhooks, registered on the console app after its session middleware
 * (so every POST here has passed the origin and CSRF checks). Also wires the after-write dispatch
 * for the console's own writes under a tenant (SCIM switch, token, avatar).
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { WebhookRow } from "../db/tenant/schema";
import { dispatchAfterWrite } from "../middleware/dispatch-after-write";
import { listDeliveries } from "../repo/webhooks";
import { ApiError } from "../scim/errors";
import { clientIp } from "../services/auth-throttle";
import { pathTenant } from "../routes/admin/path-tenant";
import { createWebhook, removeWebhook, requireWebhook, resendEvent, rotateWebhookSecret, sendTestEvent, tenantWebhooks } from "../services/webhooks";
import type { TenantWithToken } from "../repo/control";
import { tenantDb, tenantRefOf, type TenantRef } from "../tenancy/tenant-db";
import { consoleActor } from "./session";
import { scopedMayChangeWebhook } from "./scope";
import { ErrorPage, pageCtx } from "./ui";
import { WebhookConfirmPage, WebhookPage, WebhooksPage, webhooksBase, type WebhookForm, type WebhookNotice } from "./pages/webhooks";
import type { ConsoleEnv } from "./routes";

type C = Context<ConsoleEnv>;

const DELIVERIES_SHOWN = 50;

/** The tenant the webhook pages are under: as the page shows it, and as the services take it. */
type OwnerTenant = { tenant: TenantWithToken; ref: TenantRef };

async function tenantOf(c: C): Promise<OwnerTenant> {
  const tenant = await pathTenant(c);
  return { tenant, ref: tenantRefOf(tenant) };
}

// The render helpers take the tenant the handler already read, so a POST that re-renders reads it once.
async function renderList(c: C, { tenant, ref }: OwnerTenant, extra: { form?: WebhookForm; notice?: WebhookNotice; minted?: { secret: string; hook: WebhookRow; rotated: boolean } } = {}, status: ContentfulStatusCode = 200) {
  const hooks = await tenantWebhooks(c.env, ref);
  return c.html(<WebhooksPage ctx={pageCtx(c)} tenant={tenant} hooks={hooks} {...extra} />, status);
}

async function renderHook(c: C, { tenant, ref }: OwnerTenant, extra: { notice?: WebhookNotice; minted?: { secret: string } } = {}, status: ContentfulStatusCode = 200) {
  const hook = await requireWebhook(c.env, ref, c.req.param("id")!);
  const deliveries = await listDeliveries(tenantDb(c.env, ref), ref.id, hook.id, DELIVERIES_SHOWN);
  return c.html(<WebhookPage ctx={pageCtx(c)} tenant={tenant} hook={hook} deliveries={deliveries} {...extra} />, status);
}

const NOTICES: Record<string, WebhookNotice> = {
  removed: { kind: "ok", text: "Webhook removed. No more events go to it." },
  tested: { kind: "ok", text: "Test event queued. It appears under Recent deliveries within seconds (reload)." },
  resent: { kind: "ok", text: "Event queued again, with its original webhook-id (receivers dedupe on it)." },
};

/**
 * A customer IT admin (setup-link session) reaches only the webhooks they added: TheStorage's own
 * integration (added by the operator) answers 403 to every page and action under it.
 */
const ownWebhooksOnly: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  if (!c.get("scoped")) return next();
  const { ref } = await tenantOf(c);
  const hook = await requireWebhook(c.env, ref, c.req.param("id")!);
  if (scopedMayChangeWebhook(hook)) return next();
  return c.html(
    <ErrorPage
      ctx={pageCtx(c)}
      status={403}
      title="Managed by TheStorage"
      detail="TheStorage added this webhook for its own app. Only your TheStorage administrator can change it, send to it or see its deliveries. You can add webhooks of your own and manage those."
      back={{ href: webhooksBase(ref.slug), label: "All webhooks" }}
    />,
    403,
  );
};

export function registerWebhookPages(app: Hono<ConsoleEnv>) {
  // The console's own writes under a tenant (SCIM switch, token, avatar) produce change events too.
  app.use("/tenants/:slug/*", dispatchAfterWrite);
  app.use("/tenants/:slug/webhooks/:id", ownWebhooksOnly);
  app.use("/tenants/:slug/webhooks/:id/*", ownWebhooksOnly);

  app.get("/tenants/:slug/webhooks", async (c) => renderList(c, await tenantOf(c), { notice: NOTICES[c.req.query("done") ?? ""] }));

  app.post("/tenants/:slug/webhooks", async (c) => {
    const owner = await tenantOf(c);
    const { ref } = owner;
    const body = await c.req.parseBody({ all: true });
    const url = typeof body.url === "string" ? body.url.trim() : "";
    const events = ([] as unknown[]).concat(body.events ?? []).filter((v): v is string => typeof v === "string");
    const form: WebhookForm = { url, events };
    if (!url) return renderList(c, owner, { form: { ...form, error: { field: "url", text: "Enter the https:// URL that receives the events." } } }, 400);
    try {
      const { row, secret } = await createWebhook(c.env, ref, { url, events: events.length ? events : null }, { actor: consoleActor(c), ip: clientIp(c) });
      // The secret is rendered in this response only: never stored in clear, never in a URL.
      return renderList(c, owner, { minted: { secret, hook: row, rotated: false } }, 201);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 400 || error.status === 409)) {
        const field = error.detail.startsWith("url: ") ? "url" : error.detail.startsWith("events: ") ? "events" : "form";
        return renderList(c, owner, { form: { ...form, error: { field, text: error.detail.replace(/^(url|events): /, "") } } }, error.status);
      }
      throw error;
    }
  });

  app.get("/tenants/:slug/webhooks/:id", async (c) => renderHook(c, await tenantOf(c), { notice: NOTICES[c.req.query("done") ?? ""] }));

  app.post("/tenants/:slug/webhooks/:id/test", async (c) => {
    const { ref } = await tenantOf(c);
    await sendTestEvent(c.env, ref, c.req.param("id"));
    return c.redirect(`${webhooksBase(ref.slug)}/${encodeURIComponent(c.req.param("id"))}?done=tested`, 303);
  });

  app.post("/tenants/:slug/webhooks/:id/resend", async (c) => {
    const { ref } = await tenantOf(c);
    const eventId = (await c.req.parseBody()).eventId;
    if (typeof eventId !== "string" || !eventId) throw new ApiError(400, "Choose a delivery to resend.");
    await resendEvent(c.env, ref, c.req.param("id"), eventId);
    return c.redirect(`${webhooksBase(ref.slug)}/${encodeURIComponent(c.req.param("id"))}?done=resent`, 303);
  });

  for (const kind of ["rotate", "remove"] as const) {
    app.get(`/tenants/:slug/webhooks/:id/${kind}`, async (c) => {
      const { tenant, ref } = await tenantOf(c);
      const hook = await requireWebhook(c.env, ref, c.req.param("id")!);
      return c.html(<WebhookConfirmPage ctx={pageCtx(c)} tenant={tenant} hook={hook} kind={kind} />);
    });
  }

  app.post("/tenants/:slug/webhooks/:id/rotate", async (c) => {
    const owner = await tenantOf(c);
    const { ref } = owner;
    const { secret } = await rotateWebhookSecret(c.env, ref, c.req.param("id"), { actor: consoleActor(c), ip: clientIp(c) });
    return renderHook(c, owner, { minted: { secret } });
  });

  app.post("/tenants/:slug/webhooks/:id/remove", async (c) => {
    const { ref } = await tenantOf(c);
    await removeWebhook(c.env, ref, c.req.param("id"), { actor: consoleActor(c), ip: clientIp(c) });
    return c.redirect(`${webhooksBase(ref.slug)}?done=removed`, 303);
  });
}

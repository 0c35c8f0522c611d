/**
 * Admin API: a tenant's webhook endpoints (design.md §4b). Change events are POSTed to each, signed
 * per Standard Webhooks with the endpoint's `whsec_…` secret, which is shown only when it is minted
 * (create, rotate) and kept encrypted at rest.
 */
import { readJsonObject } from "../../lib/respond";
import { parseInput } from "../../lib/validate";
import { listDeliveries } from "../../repo/webhooks";
import { clientIp } from "../../services/auth-throttle";
import { pathTenantRef } from "./path-tenant";
import {
  createWebhook,
  createWebhookInput,
  deliveryView,
  removeWebhook,
  requireWebhook,
  resendEvent,
  rotateWebhookSecret,
  sendTestEvent,
  tenantWebhooks,
  webhookView,
} from "../../services/webhooks";
import { CHANGE_EVENT_TYPES } from "../../events/catalogue";
import { TEST_EVENT_TYPE } from "../../events/types";
import { tenantDb } from "../../tenancy/tenant-db";
import { adminRoute, createAdminRouter, createRoute, errors, json, Problem, SlugParam, z } from "./openapi";

const NO_STORE = { "Cache-Control": "no-store" };

const WebhookParams = SlugParam.extend({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "wh_3f2a9c0d1e4b5a6978877665" }) });

const EventType = z.enum(CHANGE_EVENT_TYPES);

const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(EventType).nullable().openapi({ description: "Event types sent to this endpoint; null: every type." }),
    createdAt: z.string(),
    secretRotatedAt: z.string().nullable(),
  })
  .openapi("Webhook");

const Secret = z.string().openapi({ description: "`whsec_<base64 of 32 bytes>`: the signing secret. Shown only in this answer.", example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" });

const CreateBody = z
  .object({
    url: z.string().openapi({
      description: "https:// URL receiving the events. http://127.0.0.1 and http://localhost only on a local run; private, loopback, link-local and metadata addresses are refused.",
      example: "https://app.example.com/webhooks/scim",
    }),
    events: z.array(EventType).optional().openapi({ description: "Event types to send; every type when absent." }),
  })
  .openapi("WebhookCreate");

const Delivery = z
  .object({
    eventId: z.string(),
    type: z.string(),
    attempt: z.number().int(),
    status: z.enum(["delivered", "failed", "dead"]),
    at: z.string(),
    httpStatus: z.number().int().optional(),
    error: z.string().optional(),
    nextAttemptAt: z.string().optional(),
  })
  .openapi("WebhookDelivery");

const deliveriesQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

/** Create and rotate also answer 503 when WEBHOOK_SECRET_KEY (the key secrets are encrypted with) is missing or malformed. */
const secretKeyProblem = {
  503: {
    description: "The admin API is disabled (ADMIN_TOKEN unset), or WEBHOOK_SECRET_KEY is missing or not base64 of 32 bytes (the detail says which and how to set it).",
    content: { "application/problem+json": { schema: Problem } },
  },
};

const resendBody = z.object({ eventId: z.string().trim().min(1, "give the eventId of a change event to send again") });

export const adminWebhookRoutes = createAdminRouter();

adminRoute(
  adminWebhookRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/webhooks",
    summary: "Add a webhook endpoint (the signing secret is shown once)",
    tags: ["Webhooks"],
    request: { params: SlugParam, body: { content: { "application/json": { schema: CreateBody } } } },
    responses: {
      201: json(z.object({ id: z.string(), url: z.string(), events: z.array(EventType).nullable(), secret: Secret, createdAt: z.string() }), "Created; `secret` appears only here"),
      ...errors(400, 404, 409),
      ...secretKeyProblem,
    },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const input = parseInput(createWebhookInput, await readJsonObject(c));
    const { row, secret } = await createWebhook(c.env, tenant, input, { actor: c.get("adminActor"), ip: clientIp(c) });
    return c.json({ id: row.id, url: row.url, events: row.events, secret, createdAt: row.createdAt }, 201, NO_STORE);
  },
);

adminRoute(
  adminWebhookRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/webhooks",
    summary: "List a tenant's webhook endpoints (never their secrets)",
    tags: ["Webhooks"],
    request: { params: SlugParam },
    responses: { 200: json(z.object({ webhooks: z.array(Webhook) }), "The tenant's webhooks, oldest first"), ...errors(404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    return c.json({ webhooks: (await tenantWebhooks(c.env, tenant)).map(webhookView) });
  },
);

adminRoute(
  adminWebhookRoutes,
  createRoute({
    method: "delete",
    path: "/tenants/{slug}/webhooks/{id}",
    summary: "Remove a webhook endpoint; queued deliveries to it are dropped",
    tags: ["Webhooks"],
    request: { params: WebhookParams },
    responses: { 204: { description: "Removed" }, ...errors(404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    await removeWebhook(c.env, tenant, c.req.param("id")!, { actor: c.get("adminActor"), ip: clientIp(c) });
    return c.body(null, 204);
  },
);

adminRoute(
  adminWebhookRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/webhooks/{id}/secret",
    summary: "Rotate the signing secret: the old one stops signing at once",
    tags: ["Webhooks"],
    request: { params: WebhookParams },
    responses: { 201: json(z.object({ secret: Secret }), "The new secret, shown only here"), ...errors(404), ...secretKeyProblem },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const { secret } = await rotateWebhookSecret(c.env, tenant, c.req.param("id")!, { actor: c.get("adminActor"), ip: clientIp(c) });
    return c.json({ secret }, 201, NO_STORE);
  },
);

adminRoute(
  adminWebhookRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/webhooks/{id}/deliveries",
    summary: "Delivery attempts to a webhook, newest first",
    description: "One entry per attempt: `delivered` (2xx within 10 s), `failed` (will be retried at `nextAttemptAt`) or `dead` (retries exhausted).",
    tags: ["Webhooks"],
    request: { params: WebhookParams, query: deliveriesQuery },
    responses: { 200: json(z.object({ deliveries: z.array(Delivery) }), "Attempts, newest first"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const { limit } = parseInput(deliveriesQuery, c.req.query());
    const hook = await requireWebhook(c.env, tenant, c.req.param("id")!);
    const rows = await listDeliveries(tenantDb(c.env, tenant), tenant.id, hook.id, limit);
    return c.json({ deliveries: rows.map(deliveryView) });
  },
);

adminRoute(
  adminWebhookRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/webhooks/{id}/test",
    summary: "Send a test event to this webhook only",
    description: `Queues one \`${TEST_EVENT_TYPE}\` event (data: \`{tenant, test: true, webhook: {id}}\`), signed like every delivery, to this endpoint alone; it is not in the change feed. Watch the deliveries list for the outcome.`,
    tags: ["Webhooks"],
    request: { params: WebhookParams },
    responses: { 202: json(z.object({ eventId: z.string() }), "Queued"), ...errors(404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    return c.json(await sendTestEvent(c.env, tenant, c.req.param("id")!), 202);
  },
);

adminRoute(
  adminWebhookRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/webhooks/{id}/resend",
    summary: "Send one change event to this webhook again",
    description: "Queues the change event `eventId` for this endpoint again, with its original id (receivers dedupe on `webhook-id`), e.g. after it went dead.",
    tags: ["Webhooks"],
    request: { params: WebhookParams, body: { content: { "application/json": { schema: resendBody.openapi("WebhookResend") } } } },
    responses: { 202: json(z.object({ eventId: z.string() }), "Queued"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const { eventId } = parseInput(resendBody, await readJsonObject(c));
    await resendEvent(c.env, tenant, c.req.param("id")!, eventId);
    return c.json({ eventId }, 202);
  },
);

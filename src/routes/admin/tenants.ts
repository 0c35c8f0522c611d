/** Admin API: tenants and the SCIM switch (design.md §4). The logic lives in src/services/tenants.ts, shared with the console. */
import { publicOrigin, scimEndpoint } from "../../lib/hono";
import { readJsonObject } from "../../lib/respond";
import { parseInput } from "../../lib/validate";
import { controlDb, listTenants, type TenantWithToken } from "../../repo/control";
import { clientIp } from "../../services/auth-throttle";
import { createTenant, createTenantInput, disableScim, enableScim, PROVIDERS, regenerateInput, regenerateToken } from "../../services/tenants";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "./openapi";
import { healthOf, type HealthView } from "../../guardrails/health";
import { HEALTH_STATES } from "../../guardrails/core";
import { pathTenant } from "./path-tenant";

/** The documented body of POST /tenants: the service's own schema (plain zod, so described with `.meta`), with an example to build a request from. */
const createTenantBody = createTenantInput.meta({ id: "CreateTenant", example: { slug: "acme", name: "Acme Inc." } });

const enableInput = z.object({ provider: z.enum(PROVIDERS).default("okta") }).openapi("EnableScim", { example: { provider: "okta" } });

const NO_STORE = { "Cache-Control": "no-store" };

const regenerateBody = regenerateInput.meta({ id: "RegenerateToken", example: { keepPreviousForSeconds: 86400 } });

const NO_HEALTH: HealthView = { state: "never_connected", lastRequestAt: null, lastSuccessAt: null, errorRate1h: null, rejectedToken: null, firstRequest: null };

function tenantView(tenant: TenantWithToken, origin: string, health: HealthView = NO_HEALTH) {
  return {
    slug: tenant.slug,
    name: tenant.name,
    database: tenant.database,
    createdAt: tenant.createdAt,
    endpoint: scimEndpoint(origin, tenant.slug),
    scim: {
      enabled: tenant.token !== null,
      provider: tenant.token?.provider ?? null,
      tokenPrefix: tenant.token?.prefix ?? null,
      tokenCreatedAt: tenant.token?.createdAt ?? null,
      lastUsedAt: tenant.token?.lastUsedAt ?? null,
      previousToken: tenant.previous
        ? { tokenPrefix: tenant.previous.prefix, tokenCreatedAt: tenant.previous.createdAt, lastUsedAt: tenant.previous.lastUsedAt, expiresAt: tenant.previous.revokedAt! }
        : null,
      health,
    },
  };
}

const Tenant = z
  .object({
    slug: z.string(),
    name: z.string(),
    database: z.string(),
    createdAt: z.string(),
    endpoint: z.string().openapi({ description: "The SCIM base URL to give the identity provider." }),
    scim: z.object({
      enabled: z.boolean(),
      provider: z.string().nullable(),
      tokenPrefix: z.string().nullable(),
      tokenCreatedAt: z.string().nullable(),
      lastUsedAt: z.string().nullable(),
      previousToken: z
        .object({ tokenPrefix: z.string(), tokenCreatedAt: z.string(), lastUsedAt: z.string().nullable(), expiresAt: z.string() })
        .nullable()
        .openapi({ description: "The token rotated away with keepPreviousForSeconds, while it still works (until expiresAt); null otherwise." }),
      health: z
        .object({
          state: z.enum(HEALTH_STATES),
          lastRequestAt: z.string().nullable(),
          lastSuccessAt: z.string().nullable(),
          errorRate1h: z.number().nullable().openapi({ description: "Failed share of the last hour's SCIM requests (5xx, 400, 413, 429); null without requests." }),
          rejectedToken: z
            .object({ tokenPrefix: z.string(), lastPresentedAt: z.string() })
            .nullable()
            .openapi({ description: "A revoked or rotated-away token of this tenant still presented after the last success." }),
          firstRequest: z
            .object({ at: z.string(), request: z.string(), provider: z.string().nullable(), status: z.number().int().nullable(), text: z.string() })
            .nullable()
            .openapi({ description: "The first SCIM request ever received, e.g. \"Received GET /Users from Okta at 17:03:12 UTC\"." }),
        })
        .openapi("ConnectionHealth"),
    }),
  })
  .openapi("Tenant");

const ScimToken = z
  .object({
    token: z.string().openapi({ description: "The SCIM bearer token, shown only in this answer." }),
    endpoint: z.string(),
    provider: z.enum(PROVIDERS).optional(),
  })
  .openapi("ScimToken");

export const tenantRoutes = createAdminRouter();

adminRoute(
  tenantRoutes,
  createRoute({
    method: "post",
    path: "/tenants",
    summary: "Create a tenant",
    tags: ["Tenants"],
    request: { body: { required: true, content: { "application/json": { schema: createTenantBody } } } },
    responses: { 201: json(Tenant, "The tenant, SCIM off"), ...errors(400, 409) },
  }),
  async (c) => {
    const input = parseInput(createTenantBody, await readJsonObject(c));
    const created = await createTenant(c.env, input, c.get("adminActor"), clientIp(c));
    return c.json(tenantView({ ...created, token: null }, publicOrigin(c.env, c.req.url)), 201);
  },
);

adminRoute(
  tenantRoutes,
  createRoute({
    method: "get",
    path: "/tenants",
    summary: "List tenants",
    tags: ["Tenants"],
    responses: { 200: json(z.object({ tenants: z.array(Tenant) }), "Every tenant"), ...errors() },
  }),
  async (c) => {
    const origin = publicOrigin(c.env, c.req.url);
    const tenants = await listTenants(controlDb(c.env.CONTROL_DB));
    const health = await healthOf(c.env, tenants);
    return c.json({ tenants: tenants.map((t) => tenantView(t, origin, health.get(t.id))) });
  },
);

adminRoute(
  tenantRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}",
    summary: "One tenant with its SCIM connection state",
    tags: ["Tenants"],
    request: { params: SlugParam },
    responses: { 200: json(Tenant, "The tenant"), ...errors(404) },
  }),
  async (c) => {
    const tenant = await pathTenant(c);
    const health = await healthOf(c.env, [tenant]);
    return c.json(tenantView(tenant, publicOrigin(c.env, c.req.url), health.get(tenant.id)));
  },
);

adminRoute(
  tenantRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/scim",
    summary: "Turn SCIM on: mints the tenant's SCIM token",
    tags: ["Tenants"],
    request: { params: SlugParam, body: { required: false, content: { "application/json": { schema: enableInput } } } },
    responses: { 201: json(ScimToken, "SCIM is on; the token is shown only here"), ...errors(400, 404, 409) },
  }),
  async (c) => {
    const tenant = await pathTenant(c);
    const input = parseInput(enableInput, await readJsonObject(c, { allowEmpty: true }));
    const { raw } = await enableScim(c.env, tenant, input.provider, c.get("adminActor"), clientIp(c));
    const endpoint = scimEndpoint(publicOrigin(c.env, c.req.url), tenant.slug);
    return c.json({ token: raw, endpoint, provider: input.provider }, 201, NO_STORE);
  },
);

adminRoute(
  tenantRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/scim/token",
    summary: "Regenerate the SCIM token (the old one stops working, at once or after keepPreviousForSeconds)",
    tags: ["Tenants"],
    request: { params: SlugParam, body: { required: false, content: { "application/json": { schema: regenerateBody } } } },
    responses: {
      201: json(
        ScimToken.omit({ provider: true }).extend({ previousTokenExpiresAt: z.string().nullable().optional().openapi({ description: "When the previous token stops working, with keepPreviousForSeconds" }) }),
        "The new token, shown only here",
      ),
      ...errors(400, 404, 409),
    },
  }),
  async (c) => {
    const tenant = await pathTenant(c);
    const input = parseInput(regenerateBody, await readJsonObject(c, { allowEmpty: true }));
    const { raw, previousUntil } = await regenerateToken(c.env, tenant, c.get("adminActor"), clientIp(c), input);
    const endpoint = scimEndpoint(publicOrigin(c.env, c.req.url), tenant.slug);
    return c.json({ token: raw, endpoint, ...(previousUntil ? { previousTokenExpiresAt: previousUntil } : {}) }, 201, NO_STORE);
  },
);

adminRoute(
  tenantRoutes,
  createRoute({
    method: "delete",
    path: "/tenants/{slug}/scim",
    summary: "Turn SCIM off and revoke the token",
    tags: ["Tenants"],
    request: { params: SlugParam },
    responses: { 204: { description: "SCIM is off" }, ...errors(404) },
  }),
  async (c) => {
    const tenant = await pathTenant(c);
    await disableScim(c.env, tenant, c.get("adminActor"), clientIp(c));
    return c.body(null, 204);
  },
);

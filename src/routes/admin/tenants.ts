/** Admin API: tenants and the SCIM switch (design.md §4). The logic lives in src/services/tenants.ts, shared with the console. */
import { z } from "zod";
import { createRouter, publicOrigin, scimEndpoint } from "../../lib/hono";
import { readJsonObject } from "../../lib/respond";
import { parseInput } from "../../lib/validate";
import { controlDb, listTenants, type TenantWithToken } from "../../repo/control";
import { createTenant, createTenantInput, disableScim, enableScim, PROVIDERS, regenerateToken, requireTenant } from "../../services/tenants";

const enableInput = z.object({ provider: z.enum(PROVIDERS).default("okta") });

const NO_STORE = { "Cache-Control": "no-store" };

export function tenantView(tenant: TenantWithToken, origin: string) {
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
    },
  };
}

export const tenantRoutes = createRouter()
  .post("/tenants", async (c) => {
    const input = parseInput(createTenantInput, await readJsonObject(c));
    const created = await createTenant(c.env, input);
    return c.json(tenantView({ ...created, token: null }, publicOrigin(c.env, c.req.url)), 201);
  })
  .get("/tenants", async (c) => {
    const origin = publicOrigin(c.env, c.req.url);
    const tenants = await listTenants(controlDb(c.env.CONTROL_DB));
    return c.json({ tenants: tenants.map((t) => tenantView(t, origin)) });
  })
  .get("/tenants/:slug", async (c) => {
    const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
    return c.json(tenantView(tenant, publicOrigin(c.env, c.req.url)));
  })
  .post("/tenants/:slug/scim", async (c) => {
    const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
    const input = parseInput(enableInput, await readJsonObject(c, { allowEmpty: true }));
    const { raw } = await enableScim(c.env, tenant, input.provider);
    const endpoint = scimEndpoint(publicOrigin(c.env, c.req.url), tenant.slug);
    return c.json({ token: raw, endpoint, provider: input.provider }, 201, NO_STORE);
  })
  .post("/tenants/:slug/scim/token", async (c) => {
    const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
    const { raw } = await regenerateToken(c.env, tenant);
    const endpoint = scimEndpoint(publicOrigin(c.env, c.req.url), tenant.slug);
    return c.json({ token: raw, endpoint }, 201, NO_STORE);
  })
  .delete("/tenants/:slug/scim", async (c) => {
    const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
    await disableScim(c.env, tenant);
    return c.body(null, 204);
  });

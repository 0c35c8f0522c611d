/** Admin API: tenants and the SCIM switch (design.md §4). */
import { z } from "zod";
import type { ScimTokenRow } from "../../db/control/schema";
import { DISPLAY_PREFIX_LENGTH, generateScimToken, sha256Hex } from "../../lib/crypto";
import { createRouter, publicOrigin, scimEndpoint } from "../../lib/hono";
import { readJsonObject } from "../../lib/respond";
import { parseInput } from "../../lib/validate";
import { controlDb, getTenant, insertLiveToken, insertTenant, listTenants, revokeLiveToken, rotateToken, type TenantWithToken } from "../../repo/control";
import { ApiError } from "../../scim/errors";
import { DEFAULT_TENANT_BINDING, isTenantBinding, tenantBindings } from "../../tenancy/tenant-db";

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const PROVIDERS = ["okta", "entra", "onelogin", "jumpcloud", "google", "generic"] as const;

const createTenantInput = z.object({
  slug: z
    .string()
    .regex(SLUG_PATTERN, "must be 1–63 lower-case letters, digits or hyphens, starting and ending with a letter or digit (no underscores: Okta rejects base URLs with '_')"),
  name: z.string().trim().min(1).max(200).optional(),
  database: z.string().optional(),
});

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

async function mintToken(tenantId: string, provider: string, at: string): Promise<{ raw: string; row: ScimTokenRow }> {
  const raw = generateScimToken();
  const row = {
    id: crypto.randomUUID(),
    tenantId,
    digest: await sha256Hex(raw),
    prefix: raw.slice(0, DISPLAY_PREFIX_LENGTH),
    provider,
    createdAt: at,
    lastUsedAt: null,
    revokedAt: null,
  };
  return { raw, row };
}

export const tenantRoutes = createRouter()
  .post("/tenants", async (c) => {
    const input = parseInput(createTenantInput, await readJsonObject(c));
    const database = input.database ?? DEFAULT_TENANT_BINDING;
    if (!isTenantBinding(c.env, database)) {
      throw new ApiError(400, `database: '${database}' is not a tenant D1 binding of this deployment. Known: ${tenantBindings(c.env).join(", ")}.`);
    }
    const created = await insertTenant(controlDb(c.env.CONTROL_DB), {
      id: crypto.randomUUID(),
      slug: input.slug,
      name: input.name ?? input.slug,
      database,
      createdAt: new Date().toISOString(),
    });
    if (!created) throw new ApiError(409, `A tenant with slug '${input.slug}' already exists.`);
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
    if (tenant.token) throw new ApiError(409, "SCIM is already on for this tenant. To get a new token, regenerate it: POST …/scim/token.");
    const { raw, row } = await mintToken(tenant.id, input.provider, new Date().toISOString());
    const inserted = await insertLiveToken(controlDb(c.env.CONTROL_DB), row);
    if (!inserted) throw new ApiError(409, "SCIM is already on for this tenant. To get a new token, regenerate it: POST …/scim/token.");
    const endpoint = scimEndpoint(publicOrigin(c.env, c.req.url), tenant.slug);
    return c.json({ token: raw, endpoint, provider: input.provider }, 201, NO_STORE);
  })
  .post("/tenants/:slug/scim/token", async (c) => {
    const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
    if (!tenant.token) throw new ApiError(409, "SCIM is off for this tenant. Switch it on first: POST …/scim.");
    const { raw, row } = await mintToken(tenant.id, tenant.token.provider, new Date().toISOString());
    const rotated = await rotateToken(controlDb(c.env.CONTROL_DB), tenant.token, row);
    if (!rotated) throw new ApiError(409, "The token changed while regenerating (another regenerate or a switch-off). Read the tenant and retry.");
    const endpoint = scimEndpoint(publicOrigin(c.env, c.req.url), tenant.slug);
    return c.json({ token: raw, endpoint }, 201, NO_STORE);
  })
  .delete("/tenants/:slug/scim", async (c) => {
    const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
    await revokeLiveToken(controlDb(c.env.CONTROL_DB), tenant.id, new Date().toISOString());
    return c.body(null, 204);
  });

export async function requireTenant(d1: D1Database, slug: string): Promise<TenantWithToken> {
  const tenant = SLUG_PATTERN.test(slug) ? await getTenant(controlDb(d1), slug) : null;
  if (!tenant) throw new ApiError(404, `No tenant with slug '${slug}'.`);
  return tenant;
}

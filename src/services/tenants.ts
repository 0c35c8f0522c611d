/**
 * Tenants and the SCIM switch: the one implementation behind both the admin API (/admin/v1) and
 * the admin console (/admin). Failures are ApiErrors with the admin API's wording.
 */
import { z } from "zod";
import type { ScimTokenRow, TenantRow } from "../db/control/schema";
import type { Env } from "../env";
import type { AdminActor } from "../lib/hono";
import { DISPLAY_PREFIX_LENGTH, generateScimToken, sha256Hex } from "../lib/crypto";
import { controlDb, getTenant, insertLiveToken, insertTenant, overlappingTokens, revokeLiveToken, rotateToken, type TenantWithToken } from "../repo/control";
import { sql } from "drizzle-orm";
import type { ChangeEventType } from "../events/catalogue";
import { runBatch } from "../repo/batch";
import { insertChangeWhen } from "../repo/change-events";
import { slugBeingDeleted } from "../repo/tenant-erasure";
import { ApiError } from "../scim/errors";
import { DEFAULT_TENANT_BINDING, isTenantBinding, tenantBindings, tenantDb, tenantRefOf, type TenantRef } from "../tenancy/tenant-db";
import { recordAdminAction } from "./audit";
import { copyLiveToken, dropTokenCopies, overlapTokenCopy } from "./token-copies";
import { newChange } from "./write-context";

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const PROVIDERS = ["okta", "entra", "onelogin", "jumpcloud", "google", "generic"] as const;
export type Provider = (typeof PROVIDERS)[number];

export const SLUG_RULE =
  "must be 1–63 lower-case letters, digits or hyphens, starting and ending with a letter or digit (no underscores: Okta rejects base URLs with '_')";

export const createTenantInput = z.object({
  slug: z.string().regex(SLUG_PATTERN, SLUG_RULE),
  name: z.string().trim().min(1).max(200).optional(),
  database: z.string().optional(),
});
export type CreateTenantInput = z.infer<typeof createTenantInput>;

const ALREADY_ON = "SCIM is already on for this tenant. To get a new token, regenerate it: POST …/scim/token.";

export async function mintToken(tenantId: string, provider: string, at: string): Promise<{ raw: string; row: ScimTokenRow }> {
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

/**
 * Admin actions take the `actor` who asked and their client `ip` (design.md §4c): each is recorded
 * in the audit trail and the tenant's provisioning log.
 */
async function audited(env: Env, by: AdminCaller, action: string, tenant: TenantRef, detail: string, status: number): Promise<void> {
  await recordAdminAction(env, { action, actor: by.actor, tenant: tenantRefOf(tenant), status, detail, ip: by.ip ?? null });
}

/** Who asked for an admin action, and from which client IP (CF-Connecting-IP) when known. */
type AdminCaller = { actor: AdminActor; ip?: string | null };

/** Creates a tenant (400 for an unknown database binding, 409 for a taken slug). The input is already validated. */
export async function createTenant(env: Env, input: CreateTenantInput, actor: AdminActor, ip?: string | null): Promise<TenantRow> {
  const database = input.database ?? DEFAULT_TENANT_BINDING;
  if (!isTenantBinding(env, database)) {
    throw new ApiError(400, `database: '${database}' is not a tenant D1 binding of this deployment. Known: ${tenantBindings(env).join(", ")}.`);
  }
  const created = await insertTenant(controlDb(env.CONTROL_DB), {
    id: crypto.randomUUID(),
    slug: input.slug,
    name: input.name ?? input.slug,
    database,
    createdAt: new Date().toISOString(),
  });
  if (!created) {
    if (await slugBeingDeleted(controlDb(env.CONTROL_DB), input.slug)) {
      throw new ApiError(409, `The tenant '${input.slug}' is being deleted and keeps its slug until its data is erased (within the hour at the latest). Try again later, or choose another slug.`);
    }
    throw new ApiError(409, `A tenant with slug '${input.slug}' already exists.`);
  }
  await audited(env, { actor, ip }, "tenant.create", created, `tenant created on ${created.database}`, 201);
  return created;
}

export async function requireTenant(d1: D1Database, slug: string): Promise<TenantWithToken> {
  const tenant = SLUG_PATTERN.test(slug) ? await getTenant(controlDb(d1), slug) : null;
  if (!tenant) throw new ApiError(404, `No tenant with slug '${slug}'.`);
  return tenant;
}

/** The tenant named by `slug`, as the pipeline refers to it; 404 when there is none. */
export async function requireTenantRef(d1: D1Database, slug: string): Promise<TenantRef> {
  return tenantRefOf(await requireTenant(d1, slug));
}

/**
 * The `connection.*` change event, in the tenant's database once CONTROL_DB has committed the
 * change (the two databases share no transaction; the token row is the truth, the event follows it).
 * Versioned by the time of the change, so a receiver can order enable / rotate / disable.
 */
async function connectionChanged(env: Env, tenant: TenantRef, type: ChangeEventType, token: Pick<ScimTokenRow, "provider" | "prefix">, at: string): Promise<void> {
  const change = newChange({ tenant }, type, tenant.id, Date.parse(at), { connection: { provider: token.provider, tokenPrefix: token.prefix } });
  await runBatch(tenantDb(env, tenant), [insertChangeWhen(change, sql`1`)]);
}

/** Switches SCIM on: mints the tenant's first live token. The raw token is returned once and never stored. */
export async function enableScim(env: Env, tenant: TenantWithToken, provider: string, actor: AdminActor, ip?: string | null): Promise<{ raw: string; row: ScimTokenRow }> {
  if (tenant.token) throw new ApiError(409, ALREADY_ON);
  const minted = await mintToken(tenant.id, provider, new Date().toISOString());
  const inserted = await insertLiveToken(controlDb(env.CONTROL_DB), minted.row);
  if (!inserted) throw new ApiError(409, ALREADY_ON);
  await copyLiveToken(env, tenant, minted.row); // live in CONTROL_DB first, then the copy
  await connectionChanged(env, tenantRefOf(tenant), "connection.enabled", minted.row, minted.row.createdAt);
  await audited(env, { actor, ip }, "scim.enable", tenant, `SCIM switched on for ${provider}; token ${minted.row.prefix}…`, 201);
  return minted;
}

/** The longest overlap a regenerate may ask for (design.md §3): 7 days. */
export const MAX_KEEP_PREVIOUS_SECONDS = 7 * 24 * 3600;

export const regenerateInput = z.object({
  keepPreviousForSeconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_KEEP_PREVIOUS_SECONDS, `must be at most ${MAX_KEEP_PREVIOUS_SECONDS} (7 days)`)
    .optional()
    .describe("Keep the previous token working for this many seconds (at most 7 days), so the new one can be pasted into the IdP without failed pushes. 0 or absent: it stops at once."),
});
export type RegenerateInput = z.infer<typeof regenerateInput>;

/**
 * Replaces the live token. Keeps the provider. The old one stops working at once, or, with
 * `keepPreviousForSeconds`, at the end of that overlap (design.md §3); an earlier overlap still
 * running ends now, so at most two tokens ever work.
 */
export async function regenerateToken(env: Env, tenant: TenantWithToken, actor: AdminActor, ip?: string | null, input: RegenerateInput = {}): Promise<{ raw: string; row: ScimTokenRow; previousUntil: string | null }> {
  if (!tenant.token) throw new ApiError(409, "SCIM is off for this tenant. Switch it on first: POST …/scim.");
  const now = new Date();
  const minted = await mintToken(tenant.id, tenant.token.provider, now.toISOString());
  const keep = input.keepPreviousForSeconds ?? 0;
  const previousUntil = keep > 0 ? new Date(now.getTime() + keep * 1000).toISOString() : null;
  // Copies go (or get their expiry) before their tokens are revoked in CONTROL_DB: fail closed.
  for (const overlapping of await overlappingTokens(controlDb(env.CONTROL_DB), tenant.id, minted.row.createdAt)) {
    await dropTokenCopies(env, tenant, overlapping.digest);
  }
  if (previousUntil) await overlapTokenCopy(env, tenant, tenant.token.digest, previousUntil);
  else await dropTokenCopies(env, tenant, tenant.token.digest);
  const rotated = await rotateToken(controlDb(env.CONTROL_DB), tenant.token, minted.row, previousUntil ?? minted.row.createdAt);
  if (!rotated) throw new ApiError(409, "The token changed while regenerating (another regenerate or a switch-off). Read the tenant and retry.");
  await copyLiveToken(env, tenant, minted.row);
  await connectionChanged(env, tenantRefOf(tenant), "connection.token_rotated", { ...minted.row, provider: tenant.token.provider }, minted.row.createdAt);
  const fate = previousUntil ? `keeps working until ${previousUntil}` : "revoked";
  await audited(env, { actor, ip }, "scim.regenerate", tenant, `token ${tenant.token.prefix}… ${fate}; new token ${minted.row.prefix}…`, 201);
  return { ...minted, previousUntil };
}

/** Switches SCIM off: revokes the live token (idempotent: switching off what is off changes nothing and yields no event). */
export async function disableScim(env: Env, tenant: TenantWithToken, actor: AdminActor, ip?: string | null): Promise<void> {
  const at = new Date().toISOString();
  await dropTokenCopies(env, tenant); // the copies go before the token
  const revoked = await revokeLiveToken(controlDb(env.CONTROL_DB), tenant.id, at);
  if (revoked && tenant.token) await connectionChanged(env, tenantRefOf(tenant), "connection.disabled", tenant.token, at);
  await audited(env, { actor, ip }, "scim.disable", tenant, revoked ? "SCIM switched off; token revoked" : "SCIM was already off", 204);
}

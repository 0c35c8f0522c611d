/**
 * Control-plane repository: tenants and SCIM tokens in CONTROL_DB. A tenant being deleted
 * (`deleting_at` set) is gone for every lookup here: 404 on the admin API, 401 for its token.
 */
import { and, asc, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { alias } from "drizzle-orm/sqlite-core";
import { runBatch } from "./batch";
import { controlSchema, scimTokens, tenants, type ScimTokenRow, type TenantRow } from "../db/control/schema";

export type ControlDb = DrizzleD1Database<typeof controlSchema> & { $client: D1Database };

export function controlDb(d1: D1Database): ControlDb {
  return drizzle(d1, { schema: controlSchema });
}

export interface TenantWithToken extends TenantRow {
  token: ScimTokenRow | null;
  /**
   * The token rotated away with an overlap that still works (its `revokedAt` is in the future),
   * design.md §3; null (or absent, for rows built elsewhere) when there is none.
   */
  previous?: ScimTokenRow | null;
}

const previousTokens = alias(scimTokens, "previous_tokens");

/**
 * Joins the tenant's overlapping previous token: the latest-expiring token of the tenant whose
 * `revoked_at` is still ahead (regenerating cuts any earlier overlap, so there is at most one).
 */
const previousJoin = (now: string) =>
  eq(
    previousTokens.id,
    sql`(SELECT id FROM scim_tokens WHERE tenant_id = ${tenants.id} AND revoked_at > ${now} ORDER BY revoked_at DESC LIMIT 1)`,
  );

/** Inserts a tenant; returns null when the slug is taken (the unique index decides). */
export async function insertTenant(db: ControlDb, tenant: typeof tenants.$inferInsert): Promise<TenantRow | null> {
  const rows = await db.insert(tenants).values(tenant).onConflictDoNothing().returning();
  return rows[0] ?? null;
}

export async function listTenants(db: ControlDb): Promise<TenantWithToken[]> {
  const rows = await db
    .select()
    .from(tenants)
    .leftJoin(scimTokens, and(eq(scimTokens.tenantId, tenants.id), isNull(scimTokens.revokedAt)))
    .leftJoin(previousTokens, previousJoin(new Date().toISOString()))
    .where(isNull(tenants.deletingAt))
    .orderBy(asc(tenants.createdAt), asc(tenants.slug));
  return rows.map((r) => ({ ...r.tenants, token: r.scim_tokens, previous: r.previous_tokens }));
}

export async function getTenant(db: ControlDb, slug: string): Promise<TenantWithToken | null> {
  const rows = await db
    .select()
    .from(tenants)
    .leftJoin(scimTokens, and(eq(scimTokens.tenantId, tenants.id), isNull(scimTokens.revokedAt)))
    .leftJoin(previousTokens, previousJoin(new Date().toISOString()))
    .where(and(eq(tenants.slug, slug), isNull(tenants.deletingAt)))
    .limit(1);
  const row = rows[0];
  return row ? { ...row.tenants, token: row.scim_tokens, previous: row.previous_tokens } : null;
}

/**
 * The tenant and token for a SCIM request: both must match, so a token of another tenant finds
 * nothing. A revoked token is found too (`token.revokedAt` set), in the same single-row lookup by
 * digest, so that its refusal can be logged for the tenant at no extra cost.
 */
export async function findToken(db: ControlDb, slug: string, digest: string): Promise<{ tenant: TenantRow; token: ScimTokenRow } | null> {
  const rows = await db
    .select()
    .from(scimTokens)
    .innerJoin(tenants, eq(tenants.id, scimTokens.tenantId))
    .where(and(eq(scimTokens.digest, digest), eq(tenants.slug, slug), isNull(tenants.deletingAt)))
    .limit(1);
  const row = rows[0];
  return row ? { tenant: row.tenants, token: row.scim_tokens } : null;
}

/** Inserts the tenant's first live token; null when one is live already (partial unique index). */
export async function insertLiveToken(db: ControlDb, token: ScimTokenRow): Promise<ScimTokenRow | null> {
  const rows = await db.insert(scimTokens).values(token).onConflictDoNothing().returning();
  return rows[0] ?? null;
}

/** The tenant's tokens rotated away that still work at `now` (an overlap not yet run out). */
export async function overlappingTokens(db: ControlDb, tenantId: string, now: string): Promise<ScimTokenRow[]> {
  return db
    .select()
    .from(scimTokens)
    .where(and(eq(scimTokens.tenantId, tenantId), gt(scimTokens.revokedAt, now)));
}

/**
 * Replaces the live token `previous` by `next` atomically: the revoke is guarded by "still live",
 * and the insert only happens if that revoke did (it copies the provider from the row it just
 * revoked). Returns false when `previous` was no longer live (a concurrent regenerate or disable).
 * `previousUntil` (after `next.createdAt`) keeps `previous` working until then (design.md §3's
 * overlap); any earlier overlap of the tenant ends now, so at most two tokens ever work.
 */
export async function rotateToken(db: ControlDb, previous: ScimTokenRow, next: Omit<ScimTokenRow, "provider">, previousUntil = next.createdAt): Promise<boolean> {
  const [, revoked] = await runBatch(db, [
    db
      .update(scimTokens)
      .set({ revokedAt: next.createdAt })
      // Only when this batch is the one rotating `previous`: a racing regenerate that loses changes nothing.
      .where(and(eq(scimTokens.tenantId, previous.tenantId), gt(scimTokens.revokedAt, next.createdAt), sql`EXISTS (SELECT 1 FROM scim_tokens WHERE id = ${previous.id} AND revoked_at IS NULL)`)),
    db
      .update(scimTokens)
      .set({ revokedAt: previousUntil })
      .where(and(eq(scimTokens.id, previous.id), isNull(scimTokens.revokedAt))),
    // "Revoked at this instant" alone is not proof this batch revoked it: a concurrent regenerate of
    // the same token in the same millisecond would match too, and its insert hit the one-live-token
    // index (a 500). So the insert also requires that no token of the tenant is live.
    sql`INSERT INTO scim_tokens (id, tenant_id, digest, prefix, provider, created_at)
      SELECT ${next.id}, tenant_id, ${next.digest}, ${next.prefix}, provider, ${next.createdAt}
      FROM scim_tokens WHERE id = ${previous.id} AND revoked_at = ${previousUntil}
        AND NOT EXISTS (SELECT 1 FROM scim_tokens WHERE tenant_id = ${previous.tenantId} AND revoked_at IS NULL)`,
  ]);
  return revoked.meta.changes === 1;
}

/** Revokes every token of the tenant still working (the live one and an overlapping previous one); false when none was live (SCIM already off). */
export async function revokeLiveToken(db: ControlDb, tenantId: string, at: string): Promise<boolean> {
  const [live] = await runBatch(db, [
    db
      .update(scimTokens)
      .set({ revokedAt: at })
      .where(and(eq(scimTokens.tenantId, tenantId), isNull(scimTokens.revokedAt))),
    db
      .update(scimTokens)
      .set({ revokedAt: at })
      .where(and(eq(scimTokens.tenantId, tenantId), gt(scimTokens.revokedAt, at))),
  ]);
  return live!.meta.changes > 0;
}

/** Records use at most once a minute per token, so busy tenants don't write on every request. */
export async function touchToken(db: ControlDb, tokenId: string, at: string): Promise<void> {
  const aMinuteAgo = new Date(Date.parse(at) - 60_000).toISOString();
  await db
    .update(scimTokens)
    .set({ lastUsedAt: at })
    .where(and(eq(scimTokens.id, tokenId), or(isNull(scimTokens.lastUsedAt), lt(scimTokens.lastUsedAt, aMinuteAgo))));
}


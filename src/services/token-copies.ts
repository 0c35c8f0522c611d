/**
 * The tenant database's copies of its live SCIM token digests (`tenant_tokens`), which let a
 * request verify its token in the same round trip as its data (src/middleware/scim-auth.ts).
 * CONTROL_DB is the source of truth, and every change is ordered to fail closed:
 * - switching on or regenerating writes CONTROL_DB first, then the copy (a missing copy only
 *   refuses a live token, until the next sync);
 * - revoking deletes the copy first, then revokes in CONTROL_DB (a copy never outlives its token).
 */
import type { ScimTokenRow, TenantRow } from "../db/control/schema";
import type { Env } from "../env";
import { controlDb, getTenant, listTenants } from "../repo/control";
import { deleteTokenCopies, deleteTokenCopy, expireTokenCopy, insertTokenCopy, tokenCopyDigests } from "../repo/token-copies";
import { tenantDb } from "../tenancy/tenant-db";

type TenantLocation = Pick<TenantRow, "id" | "database">;

/**
 * After `token` is live in CONTROL_DB: its copy in the tenant database. A regenerate or switch-off
 * racing this one may revoke the token (and delete its copies) between the two writes, so the copy
 * is checked against CONTROL_DB once written and deleted if its token is no longer live: a copy never
 * outlives its token. Returns whether the token was still live.
 */
export async function copyLiveToken(env: Env, tenant: TenantLocation & Pick<TenantRow, "slug">, token: ScimTokenRow): Promise<boolean> {
  const db = tenantDb(env, tenant);
  await insertTokenCopy(db, {
    digest: token.digest,
    tenantId: tenant.id,
    tokenId: token.id,
    prefix: token.prefix,
    provider: token.provider,
    createdAt: token.createdAt,
    expiresAt: null,
  });
  const now = await getTenant(controlDb(env.CONTROL_DB), tenant.slug);
  if (now?.token?.digest === token.digest && !now.deletingAt) return true;
  await deleteTokenCopy(db, tenant.id, token.digest);
  return false;
}

/** Before revoking in CONTROL_DB: the copy of `digest`, or every copy of the tenant. */
export async function dropTokenCopies(env: Env, tenant: TenantLocation, digest?: string): Promise<void> {
  const db = tenantDb(env, tenant);
  if (digest) await deleteTokenCopy(db, tenant.id, digest);
  else await deleteTokenCopies(db, tenant.id);
}

/** Before a token goes into its overlap in CONTROL_DB: its copy stops working at `until` too. */
export async function overlapTokenCopy(env: Env, tenant: TenantLocation, digest: string, until: string): Promise<void> {
  await expireTokenCopy(tenantDb(env, tenant), tenant.id, digest, until);
}

/**
 * Makes every tenant's copies match CONTROL_DB: copies of tokens no longer live are deleted, a live
 * token without a copy (one minted before copies existed, or whose copy write failed) gets one.
 * Idempotent; run hourly by the scheduled handler (src/index.ts). A token revoked while this runs
 * loses the copy written here again (copyLiveToken checks after writing).
 */
export async function syncTokenCopies(env: Env): Promise<{ copied: number; dropped: number }> {
  const control = controlDb(env.CONTROL_DB);
  let copied = 0;
  let dropped = 0;
  for (const tenant of await listTenants(control)) {
    let db;
    try {
      db = tenantDb(env, tenant);
    } catch {
      continue; // a binding this deployment lacks: nothing to copy into
    }
    const live = tenant.deletingAt ? null : tenant.token;
    // A token in its overlap keeps its copy (which expires with it); every other copy goes.
    const overlapping = tenant.deletingAt ? null : tenant.previous;
    const keep = [live?.digest, overlapping?.digest].filter((d): d is string => !!d);
    const copies = await tokenCopyDigests(db, tenant.id);
    const stale = copies.filter((copy) => !keep.includes(copy.digest) || (copy.digest === overlapping?.digest && copy.expiresAt !== overlapping.revokedAt));
    if (stale.length) {
      await deleteTokenCopies(db, tenant.id, keep.filter((digest) => !stale.some((copy) => copy.digest === digest)));
      dropped += stale.length;
    }
    if (!live || copies.some((copy) => copy.digest === live.digest && copy.expiresAt === null)) continue;
    if (await copyLiveToken(env, tenant, live)) copied += 1;
  }
  return { copied, dropped };
}

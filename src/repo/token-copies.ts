/**
 * Copies of live SCIM token digests in the tenant's own database (`tenant_tokens`), so a request
 * can verify its token in the same D1 round trip as its data. CONTROL_DB stays the source of truth:
 * a copy is written only after the token is live there and deleted before it is revoked there, so
 * whatever fails in between fails closed.
 */
import { MOVE_REFUSAL, MOVED_AWAY } from "./placement";
import { and, eq, notInArray } from "drizzle-orm";
import { tenantTokens, type TenantTokenRow } from "../db/tenant/schema";
import type { TenantDb } from "../tenancy/tenant-db";

/** The text a refused token check makes D1 fail with: the marker of `tokenCheckSql`. */
export const TOKEN_REFUSED_MARKER = "scim-token-refused";

/**
 * A statement that succeeds only while `digest` is a live token of `tenantId`, and otherwise fails
 * (an invalid JSON path) with TOKEN_REFUSED_MARKER in its message. Placed in a D1 batch, which is
 * one transaction, a failing check rolls back every statement with it: a write batch that carries it
 * changes nothing for a refused token, and a read batch returns nothing.
 */
export function tokenCheckSql(tenantId: string, digest: string): { sql: string; params: unknown[] } {
  return {
    // A tenant that moved to another database (src/placement) fails with MOVE_REFUSAL instead: the
    // isolate that sent this remembered the old database, and the 429 makes it look the tenant up again.
    sql: `SELECT json_extract('{}', CASE WHEN EXISTS (SELECT 1 FROM tenant_tokens WHERE tenant_id = ?1 AND digest = ?2 AND ${UNEXPIRED}) THEN '$' WHEN EXISTS (SELECT 1 FROM placement_changes WHERE move_id = '${MOVED_AWAY}' AND tbl = ?1) THEN '${MOVE_REFUSAL}' ELSE '${TOKEN_REFUSED_MARKER}' END) AS live`,
    params: [tenantId, digest],
  };
}

/** A copy still works: the live token's (no expiry), or one rotated away whose overlap has not run out (design.md §3). */
const UNEXPIRED = "(expires_at IS NULL OR expires_at > strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))";

/** Whether `digest` has a copy (1 or 0, as `present`): never fails, for a request CONTROL_DB already authenticated. */
export function tokenCopyProbeSql(tenantId: string, digest: string): { sql: string; params: unknown[] } {
  return { sql: `SELECT count(*) AS present FROM tenant_tokens WHERE tenant_id = ? AND digest = ? AND ${UNEXPIRED}`, params: [tenantId, digest] };
}

export function isTokenRefusal(error: unknown): boolean {
  const e = error as { message?: string; cause?: { message?: string } };
  return `${e?.message} ${e?.cause?.message}`.includes(TOKEN_REFUSED_MARKER);
}

export async function insertTokenCopy(db: TenantDb, copy: TenantTokenRow): Promise<void> {
  await db.insert(tenantTokens).values(copy).onConflictDoNothing();
}

/** Deletes the tenant's copies, all of them or all but those in `keepDigests`. */
export async function deleteTokenCopies(db: TenantDb, tenantId: string, keepDigests: string[] = []): Promise<void> {
  await db.delete(tenantTokens).where(and(eq(tenantTokens.tenantId, tenantId), keepDigests.length ? notInArray(tenantTokens.digest, keepDigests) : undefined));
}

/** The copy of a token rotated away with an overlap: it stops working at `expiresAt`. */
export async function expireTokenCopy(db: TenantDb, tenantId: string, digest: string, expiresAt: string): Promise<void> {
  await db
    .update(tenantTokens)
    .set({ expiresAt })
    .where(and(eq(tenantTokens.tenantId, tenantId), eq(tenantTokens.digest, digest)));
}

export async function deleteTokenCopy(db: TenantDb, tenantId: string, digest: string): Promise<void> {
  await db.delete(tenantTokens).where(and(eq(tenantTokens.tenantId, tenantId), eq(tenantTokens.digest, digest)));
}

export async function tokenCopyDigests(db: TenantDb, tenantId: string): Promise<{ digest: string; expiresAt: string | null }[]> {
  return db.select({ digest: tenantTokens.digest, expiresAt: tenantTokens.expiresAt }).from(tenantTokens).where(eq(tenantTokens.tenantId, tenantId));
}


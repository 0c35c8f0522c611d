/**
 * SCIM bearer-token authentication, in at most the request's own first storage round trip.
 *
 * The token is hashed and looked up together with the tenant slug from the URL, so an unknown
 * tenant, a wrong, revoked or other tenant's token, and SCIM being off all fail the same way: 401
 * with the same detail.
 *
 * - Cold (this isolate has not seen this slug and token in the last minute): CONTROL_DB, the
 *   source of truth, answers, and the request is authenticated before anything else runs.
 * - Warm: the tenant comes from the isolate's memory, and the token is verified against the
 *   tenant database's copy of its live digests in the same round trip as the request's own first
 *   tenant-database call (src/tenancy/request-storage.ts). The copy is deleted before a token is
 *   revoked in CONTROL_DB, so a regenerated or revoked token is refused on its very next request
 *   whatever this isolate remembers; a refusal also forgets the entry. A request that never reads
 *   the tenant database (discovery, a malformed filter) is verified before its answer leaves.
 * - A token that was this tenant's but is no longer live (revoked: regenerated or SCIM switched
 *   off) is refused like any other, and recorded in the tenant's provisioning log with its prefix,
 *   off the response path and at most once a minute per token (services/token-refusals.ts). The
 *   cold lookup finds revoked tokens in the same query; a warm refusal knows the token already.
 */
import { createMiddleware } from "hono/factory";
import { digestsEqual, sha256Hex } from "../lib/crypto";
import type { Actor, AppEnv } from "../lib/hono";
import { isMoveRefusal } from "../placement/refusal";
import { controlDb, findToken, touchToken } from "../repo/control";
import { recordRefusedToken, type RefusedToken } from "../services/token-refusals";
import { CopyProbe, TokenGate, unauthorized } from "../tenancy/request-storage";
import { tenantD1, tenantRefOf, type TenantRef } from "../tenancy/tenant-db";

const TOUCH_INTERVAL_MS = 60_000;
/** Token id → when this isolate last recorded its use. */
const lastTouched = new Map<string, number>();

/** How long an isolate trusts its memory of which tenant a slug and token belong to. */
const KNOWN_TOKEN_TTL_MS = 60_000;
const MAX_KNOWN = 10_000;

interface KnownToken {
  tenant: TenantRef;
  actor: Actor;
  tokenId: string;
  until: number;
}

/** `slug digest` → what CONTROL_DB said about it. Never a reason to accept a token on its own. */
const known = new Map<string, KnownToken>();

/** Forgets what this isolate remembers of a tenant's tokens (its row changed: e.g. its custom attributes); other isolates within KNOWN_TOKEN_TTL_MS. */
export function forgetTenantTokens(tenantId: string): void {
  for (const [key, entry] of known) if (entry.tenant.id === tenantId) known.delete(key);
}

/** Accepts `Bearer <t>`, a bare `<t>`, and Okta's occasional `Bearer Bearer <t>`. */
export function extractBearer(header: string | undefined): string | null {
  if (!header) return null;
  let value = header.trim();
  while (/^bearer\s+/i.test(value)) value = value.replace(/^bearer\s+/i, "");
  return /^[A-Za-z0-9_\-.~+/=]{16,512}$/.test(value) ? value : null;
}

export const scimAuth = createMiddleware<AppEnv>(async (c, next) => {
  const refuseRevoked = (refused: Omit<RefusedToken, "request">) => {
    const path = c.req.path.replace(/^\/api\/[^/]+\/scim\/v2/, "") || "/";
    const record = recordRefusedToken(c.env, { ...refused, request: `${c.req.method} ${path}` });
    if (record) c.executionCtx.waitUntil(record);
    return unauthorized();
  };
  const token = extractBearer(c.req.header("Authorization"));
  const slug = c.req.param("tenant") ?? "";
  if (!token) throw unauthorized();
  const digest = await sha256Hex(token);
  const key = `${slug} ${digest}`;
  const now = Date.now();
  let entry = known.get(key);
  if (entry && entry.until <= now) {
    known.delete(key);
    entry = undefined;
  }
  let gate: TokenGate | null = null;
  let probe: CopyProbe | null = null;
  if (entry) {
    gate = new TokenGate({ tenantId: entry.tenant.id, digest }, tenantD1(c.env, entry.tenant), c.get("storageMeter"));
  } else {
    const db = controlDb(c.env.CONTROL_DB);
    const found = await c.get("storageMeter").track(() => findToken(db, slug, digest));
    if (!found || !digestsEqual(found.token.digest, digest)) throw unauthorized();
    // A token rotated away with an overlap (design.md §3) has its revocation ahead of it: it still works.
    if (found.token.revokedAt && found.token.revokedAt <= new Date(now).toISOString()) throw refuseRevoked({ tenant: tenantRefOf(found.tenant), tokenPrefix: found.token.prefix, digest, revokedAt: found.token.revokedAt });
    entry = {
      tenant: tenantRefOf(found.tenant),
      actor: { tokenPrefix: found.token.prefix, provider: found.token.provider },
      tokenId: found.token.id,
      until: now + KNOWN_TOKEN_TTL_MS,
    };
    probe = new CopyProbe({ tenantId: entry.tenant.id, digest });
  }

  c.set("tenant", entry.tenant);
  c.set("actor", entry.actor);
  c.set("tokenGate", gate);
  c.set("tokenCopyProbe", probe);
  await next();
  // A write refused because the tenant is moving: the database remembered here may be the one it left.
  if (isMoveRefusal(c.error)) known.delete(key);
  // Remembered only once its copy is known to exist: warm requests are checked against the copy.
  if (probe?.present) {
    if (known.size >= MAX_KNOWN) known.clear();
    known.set(key, entry);
  }
  if (gate && !(await gate.check())) {
    known.delete(key);
    throw refuseRevoked({ tenant: entry.tenant, tokenPrefix: entry.actor.tokenPrefix, digest });
  }

  // Off the response path, and at most once a minute per token per isolate: the IdP never waits
  // for bookkeeping, and a busy tenant doesn't write to the control database on every request.
  if (now - (lastTouched.get(entry.tokenId) ?? 0) >= TOUCH_INTERVAL_MS) {
    if (lastTouched.size > 10_000) lastTouched.clear();
    lastTouched.set(entry.tokenId, now);
    c.executionCtx.waitUntil(touchToken(controlDb(c.env.CONTROL_DB), entry.tokenId, new Date(now).toISOString()).catch(() => {}));
  }
});

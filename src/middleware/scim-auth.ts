/**
 * SCIM bearer-token authentication. The token is hashed and looked up together with the tenant
 * slug from the URL, so an unknown tenant, a wrong, revoked or other tenant's token, and SCIM being
 * off all fail the same way: 401 with the same detail.
 */
import { createMiddleware } from "hono/factory";
import { digestsEqual, sha256Hex } from "../lib/crypto";
import type { AppEnv } from "../lib/hono";
import { controlDb, findLiveToken, touchToken } from "../repo/control";
import { ApiError } from "../scim/errors";
import { tenantRefOf } from "../tenancy/tenant-db";

const UNAUTHORIZED_DETAIL =
  "Authentication failed. Send the tenant's SCIM token as 'Authorization: Bearer <token>', and check that the Base URL names the right tenant, that SCIM provisioning is switched on for it, and that the token is the latest one generated (regenerating or switching SCIM off revokes the previous token).";

const TOUCH_INTERVAL_MS = 60_000;
/** Token id → when this isolate last recorded its use. */
const lastTouched = new Map<string, number>();

export function unauthorized(): ApiError {
  return new ApiError(401, UNAUTHORIZED_DETAIL, { headers: { "WWW-Authenticate": 'Bearer realm="TheStorage SCIM"' } });
}

/** Accepts `Bearer <t>`, a bare `<t>`, and Okta's occasional `Bearer Bearer <t>`. */
export function extractBearer(header: string | undefined): string | null {
  if (!header) return null;
  let value = header.trim();
  while (/^bearer\s+/i.test(value)) value = value.replace(/^bearer\s+/i, "");
  return /^[A-Za-z0-9_\-.~+/=]{16,512}$/.test(value) ? value : null;
}

export const scimAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = extractBearer(c.req.header("Authorization"));
  const slug = c.req.param("tenant") ?? "";
  if (!token) throw unauthorized();
  const digest = await sha256Hex(token);
  const db = controlDb(c.env.CONTROL_DB);
  const found = await findLiveToken(db, slug, digest);
  if (!found || !digestsEqual(found.token.digest, digest)) throw unauthorized();

  c.set("tenant", tenantRefOf(found.tenant));
  c.set("actor", { tokenPrefix: found.token.prefix, provider: found.token.provider });
  // Off the response path, and at most once a minute per token per isolate: the IdP never waits
  // for bookkeeping, and a busy tenant doesn't write to the control database on every request.
  const now = Date.now();
  if (now - (lastTouched.get(found.token.id) ?? 0) >= TOUCH_INTERVAL_MS) {
    if (lastTouched.size > 10_000) lastTouched.clear();
    lastTouched.set(found.token.id, now);
    c.executionCtx.waitUntil(touchToken(db, found.token.id, new Date(now).toISOString()).catch(() => {}));
  }
  await next();
});

/**
 * Per-tenant request budget through the Workers Rate Limiting binding. Over budget → 429 with an
 * integer Retry-After: Okta and Entra back off and retry 429s (they do not retry 5xx).
 *
 * Reads don't wait for the verdict: the check runs alongside the handler and an over-budget read
 * still answers 429, one round trip sooner for everyone under budget. Writes wait, so that a
 * refused request never changes anything, but they wait while the request body arrives, which they
 * need before their first storage call anyway. (In production the binding is a counter in the
 * Worker's own location, not a storage round trip; `wrangler dev` simulates it with a Durable Object.)
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../lib/hono";
import { ApiError } from "../scim/errors";

export const RETRY_AFTER_SECONDS = 10;

export function tooManyRequests(detail: string): ApiError {
  return new ApiError(429, detail, { headers: { "Retry-After": String(RETRY_AFTER_SECONDS) } });
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

export const tenantRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const verdict = c.env.SCIM_RATE_LIMIT.limit({ key: c.get("tenant").id });
  const refuse = () => tooManyRequests(`Too many requests for this tenant. Retry after ${RETRY_AFTER_SECONDS} seconds.`);
  if (SAFE_METHODS.has(c.req.method)) {
    const handled = next().then(
      () => null,
      (error: unknown) => error,
    );
    const [{ success }, failure] = await Promise.all([verdict, handled]);
    if (!success) throw refuse();
    if (failure) throw failure;
    return;
  }
  // Hono caches the body, so the handler's own read of it is served from memory.
  const [{ success }] = await Promise.all([verdict, c.req.text().catch(() => "")]);
  if (!success) throw refuse();
  await next();
});

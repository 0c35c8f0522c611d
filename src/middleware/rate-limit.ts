/**
 * Per-tenant request budget through the Workers Rate Limiting binding. Over budget → 429 with an
 * integer Retry-After: Okta and Entra back off and retry 429s (they do not retry 5xx).
 *
 * No request waits for the binding's verdict:
 * - A read asks alongside its handler and answers 429 if the verdict is "over" (its data is
 *   discarded), so an over-budget read is refused exactly.
 * - A write is refused only on what is already known: when the tenant's latest verdict in this
 *   isolate was "over", the write answers 429 before touching anything; otherwise it proceeds
 *   while its own verdict is fetched in the background and recorded for the next request. A write
 *   that is refused therefore never changes data, and no write pays a round trip for the check.
 *   The price: each isolate lets one write past the moment the budget runs out, which is within
 *   the binding's own tolerance (its counters are per location and eventually consistent).
 * In production the binding is a counter in the Worker's own location; `wrangler dev` simulates it
 * with a Durable Object call per request, which is why it must stay off the critical path.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../lib/hono";
import { ApiError } from "../scim/errors";

export const RETRY_AFTER_SECONDS = 10;

export function tooManyRequests(detail: string): ApiError {
  return new ApiError(429, detail, { headers: { "Retry-After": String(RETRY_AFTER_SECONDS) } });
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

/** Tenants whose latest verdict in this isolate was "over budget". */
const overBudget = new Set<string>();

function record(tenantId: string, success: boolean): void {
  if (overBudget.size > 10_000) overBudget.clear();
  if (success) overBudget.delete(tenantId);
  else overBudget.add(tenantId);
}

export const tenantRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const tenantId = c.get("tenant").id;
  const verdict = c.env.SCIM_RATE_LIMIT.limit({ key: tenantId }).then(({ success }) => {
    record(tenantId, success);
    return success;
  });
  const refuse = () => tooManyRequests(`Too many requests for this tenant. Retry after ${RETRY_AFTER_SECONDS} seconds.`);
  if (SAFE_METHODS.has(c.req.method)) {
    const handled = next().then(
      () => null,
      (error: unknown) => error,
    );
    const [success, failure] = await Promise.all([verdict, handled]);
    if (!success) throw refuse();
    if (failure) throw failure;
    return;
  }
  c.executionCtx.waitUntil(verdict.catch(() => {}));
  if (overBudget.has(tenantId)) throw refuse();
  await next();
});

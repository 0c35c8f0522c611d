/**
 * Per-tenant request budget through the Workers Rate Limiting binding. Over budget → 429 with an
 * integer Retry-After: Okta and Entra back off and retry 429s (they do not retry 5xx).
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../lib/hono";
import { ApiError } from "../scim/errors";

export const RETRY_AFTER_SECONDS = 10;

export function tooManyRequests(detail: string): ApiError {
  return new ApiError(429, detail, { headers: { "Retry-After": String(RETRY_AFTER_SECONDS) } });
}

export const tenantRateLimit = createMiddleware<AppEnv>(async (c, next) => {
  const { success } = await c.env.SCIM_RATE_LIMIT.limit({ key: c.get("tenant").id });
  if (!success) {
    throw tooManyRequests(`Too many requests for this tenant. Retry after ${RETRY_AFTER_SECONDS} seconds.`);
  }
  await next();
});

/**
 * The one error handler. Every failure leaves as the protocol's error envelope: a SCIM Error on
 * SCIM routes, RFC 9457 problem details on the admin API. Never a stack trace, never bare text.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../lib/hono";
import { PROBLEM_CONTENT_TYPE, problemBody, SCIM_CONTENT_TYPE, scimErrorBody } from "../lib/respond";
import { ApiError } from "../scim/errors";
import { RETRY_AFTER_SECONDS } from "./rate-limit";
import { isMoveRefusal, moveRefusal } from "../placement/refusal";

/** Platform conditions worth a retry: mapped to 429, which IdPs retry, rather than a 5xx, which Okta does not. */
function isTransient(error: unknown): boolean {
  const e = error as { retryable?: boolean; overloaded?: boolean; message?: string };
  if (e?.retryable || e?.overloaded) return true;
  return /overloaded|network connection lost|storage operation exceeded timeout|too many requests queued|D1_ERROR: .*reset/i.test(
    String(e?.message ?? ""),
  );
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException) return new ApiError(error.status, error.message || "Request failed.");
  if (isMoveRefusal(error)) return moveRefusal(); // a write of a tenant frozen for its move (src/placement)
  if (isTransient(error)) {
    return new ApiError(429, `The service is briefly overloaded. Retry after ${RETRY_AFTER_SECONDS} seconds.`, {
      headers: { "Retry-After": String(RETRY_AFTER_SECONDS) },
    });
  }
  return new ApiError(500, "Internal error.");
}

export function isAdminApiPath(path: string): boolean {
  return path === "/admin/v1" || path.startsWith("/admin/v1/");
}

export function renderError(error: ApiError, c: Context<AppEnv>): Response {
  const headers = { ...(error.headers ?? {}) };
  const status = error.status as ContentfulStatusCode;
  if (isAdminApiPath(c.req.path)) {
    return c.body(JSON.stringify(problemBody(error)), status, { ...headers, "Content-Type": PROBLEM_CONTENT_TYPE });
  }
  return c.body(JSON.stringify(scimErrorBody(error)), status, { ...headers, "Content-Type": SCIM_CONTENT_TYPE });
}

export function onError(error: unknown, c: Context<AppEnv>): Response {
  const apiError = toApiError(error);
  if (!(error instanceof ApiError) && apiError.status >= 500) {
    // Logged with the request id for the operator; the client sees only the id.
    console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), path: c.req.path, error: String((error as Error)?.stack ?? error) }));
    const withId = new ApiError(apiError.status, `${apiError.detail} Request id: ${c.get("requestId") ?? "unknown"}.`, { headers: apiError.headers });
    return renderError(withId, c);
  }
  return renderError(apiError, c);
}

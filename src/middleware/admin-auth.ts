/**
 * Operator authentication for /admin/v1: the ADMIN_TOKEN secret (compared in constant time) or, when
 * Cloudflare Access is configured, a valid `Cf-Access-Jwt-Assertion`. Console cookies never count
 * here. Throttled per client IP: presented-but-wrong credentials are failures; after too many, every
 * attempt from that IP answers 429 until the window passes.
 */
import { createMiddleware } from "hono/factory";
import { secretsEqual } from "../lib/crypto";
import type { AppEnv } from "../lib/hono";
import { ApiError } from "../scim/errors";
import { clientIp, recordAuthFailure, throttledFor, throttleMessage } from "../services/auth-throttle";
import { ACCESS_HEADER, accessConfig, verifyAccessAssertion } from "./access";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="TheStorage SCIM admin"' };

export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const secret = c.env.ADMIN_TOKEN?.trim();
  const access = accessConfig(c.env);
  if (!secret && !access) {
    throw new ApiError(503, "The admin API is disabled: the ADMIN_TOKEN secret is not set. Set it with `wrangler secret put ADMIN_TOKEN` (locally: .dev.vars).");
  }
  const ip = clientIp(c);
  const retryAfter = await throttledFor(c.env, ip);
  if (retryAfter !== null) throw new ApiError(429, throttleMessage(retryAfter), { headers: { "Retry-After": String(retryAfter) } });

  const assertion = access ? c.req.header(ACCESS_HEADER)?.trim() : undefined;
  const header = c.req.header("Authorization") ?? "";
  const presented = /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, "").trim() : "";

  if (presented && secret && (await secretsEqual(presented, secret))) {
    c.set("adminActor", { type: "admin-token" });
    return next();
  }
  if (access && assertion) {
    const verified = await verifyAccessAssertion(assertion, access);
    if (verified.ok) {
      c.set("adminActor", { type: "access", email: verified.email });
      return next();
    }
    if (verified.unavailable) throw new ApiError(503, `Cannot check the Cloudflare Access assertion now: ${verified.reason}. Retry shortly, or use the admin token.`);
    await recordAuthFailure(c.env, ip);
    throw new ApiError(401, `The Cloudflare Access assertion (${ACCESS_HEADER}) was refused: ${verified.reason}.`, { headers: CHALLENGE });
  }
  if (presented) await recordAuthFailure(c.env, ip);
  throw new ApiError(401, `Send the operator token as 'Authorization: Bearer <ADMIN_TOKEN>'${access ? " or come through Cloudflare Access" : ""}.`, { headers: CHALLENGE });
});

/**
 * Operator authentication for /admin/v1: the ADMIN_TOKEN secret (compared in constant time) or, when
 * Cloudflare Access is configured, a valid `Cf-Access-Jwt-Assertion`. Console cookies never count
 * here. Throttled per client IP: presented-but-wrong credentials are failures; after too many, every
 * attempt from that IP answers 429 until the window passes. The credential is checked first (locally,
 * or against Access's keys) so each attempt makes one call to the throttle: "may it?" for a right one,
 * "count it" for a wrong one.
 */
import { createMiddleware } from "hono/factory";
import type { Env } from "../env";
import { secretsEqual } from "../lib/crypto";
import type { AppEnv } from "../lib/hono";
import { ApiError } from "../scim/errors";
import { clientIp, recordAuthFailure, throttledFor, throttleMessage } from "../services/auth-throttle";
import { ACCESS_HEADER, accessConfig, verifyAccessAssertion } from "./access";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="TheStorage SCIM admin"' };

function throttledError(seconds: number): ApiError {
  return new ApiError(429, throttleMessage(seconds), { headers: { "Retry-After": String(seconds) } });
}

async function refuseIfThrottled(env: Env, ip: string): Promise<void> {
  const seconds = await throttledFor(env, ip);
  if (seconds !== null) throw throttledError(seconds);
}

/** Counts a wrong credential; once the IP's budget is spent the answer is 429 instead of 401. */
async function countFailure(env: Env, ip: string): Promise<void> {
  const seconds = await recordAuthFailure(env, ip);
  if (seconds !== null) throw throttledError(seconds);
}

export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const secret = c.env.ADMIN_TOKEN?.trim();
  const access = accessConfig(c.env);
  if (!secret && !access) {
    throw new ApiError(503, "The admin API is disabled: the ADMIN_TOKEN secret is not set. Set it with `wrangler secret put ADMIN_TOKEN` (locally: .dev.vars).");
  }
  const ip = clientIp(c);
  const assertion = access ? c.req.header(ACCESS_HEADER)?.trim() : undefined;
  const header = c.req.header("Authorization") ?? "";
  const presented = /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, "").trim() : "";

  if (presented && secret && (await secretsEqual(presented, secret))) {
    await refuseIfThrottled(c.env, ip);
    c.set("adminActor", { type: "admin-token" });
    return next();
  }
  if (access && assertion) {
    const verified = await verifyAccessAssertion(assertion, access);
    if (verified.ok) {
      await refuseIfThrottled(c.env, ip);
      c.set("adminActor", { type: "access", email: verified.email });
      return next();
    }
    if (verified.unavailable) throw new ApiError(503, `Cannot check the Cloudflare Access assertion now: ${verified.reason}. Retry shortly, or use the admin token.`);
    await countFailure(c.env, ip);
    throw new ApiError(401, `The Cloudflare Access assertion (${ACCESS_HEADER}) was refused: ${verified.reason}.`, { headers: CHALLENGE });
  }
  // No credentials at all is not a guess: it is not counted, but a throttled IP still hears 429.
  if (presented) await countFailure(c.env, ip);
  else await refuseIfThrottled(c.env, ip);
  throw new ApiError(401, `Send the operator token as 'Authorization: Bearer <ADMIN_TOKEN>'${access ? " or come through Cloudflare Access" : ""}.`, { headers: CHALLENGE });
});

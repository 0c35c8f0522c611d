/** Operator authentication for /admin/v1: the ADMIN_TOKEN secret, compared in constant time. */
import { createMiddleware } from "hono/factory";
import { secretsEqual } from "../lib/crypto";
import type { AppEnv } from "../lib/hono";
import { ApiError } from "../scim/errors";

export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const secret = c.env.ADMIN_TOKEN?.trim();
  if (!secret) {
    throw new ApiError(503, "The admin API is disabled: the ADMIN_TOKEN secret is not set. Set it with `wrangler secret put ADMIN_TOKEN` (locally: .dev.vars).");
  }
  const header = c.req.header("Authorization") ?? "";
  const presented = /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, "").trim() : "";
  if (!presented || !(await secretsEqual(presented, secret))) {
    throw new ApiError(401, "Send the operator token as 'Authorization: Bearer <ADMIN_TOKEN>'.", {
      headers: { "WWW-Authenticate": 'Bearer realm="TheStorage SCIM admin"' },
    });
  }
  c.set("adminActor", { type: "admin-token" });
  await next();
});

/**
 * The SCIM service root of one tenant: `/api/:tenant/scim/v2`. Authentication, then the tenant's
 * rate limit, then the resource routes; every answer is `application/scim+json`.
 */
import { createMiddleware } from "hono/factory";
import { allowedMethodsOf } from "../../lib/allowed-methods";
import { createRouter, type AppEnv } from "../../lib/hono";
import { SCIM_CONTENT_TYPE } from "../../lib/respond";
import { tenantRateLimit } from "../../middleware/rate-limit";
import { dispatchAfterWrite } from "../../middleware/dispatch-after-write";
import { scimAuth } from "../../middleware/scim-auth";
import { connectionHealth } from "../../guardrails/health";
import { ApiError } from "../../scim/errors";
import { discoveryRoutes } from "./discovery";
import { bulkRoutes } from "./bulk";
import { groupRoutes } from "./groups";
import { searchRoutes } from "./search";
import { userRoutes } from "./users";
import { roleScimRoutes } from "../../roles/scim-routes";

/** Every SCIM response body is SCIM JSON, whoever wrote it (RFC 7644 §3.1; Entra rejects anything else). */
const scimContentType = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (c.res.body !== null && c.res.status !== 304) c.res.headers.set("Content-Type", SCIM_CONTENT_TYPE);
});

export const scimRoutes = createRouter()
  .use(scimContentType)
  .use(scimAuth)
  .use(connectionHealth)
  .use(dispatchAfterWrite)
  .use(tenantRateLimit)
  .route("/", searchRoutes)
  .route("/Bulk", bulkRoutes)
  .route("/Users", userRoutes)
  .route("/Groups", groupRoutes)
  .route("/Roles", roleScimRoutes)
  .route("/", discoveryRoutes)
  .all("*", (c) => {
    const allowed = allowedMethods(c.req.path.replace(/^\/api\/[^/]+\/scim\/v2/, "") || "/");
    if (allowed.length) {
      throw new ApiError(405, `${c.req.method} is not allowed on ${c.req.path}; it serves ${allowed.join(", ")}.`, { headers: { Allow: allowed.join(", ") } });
    }
    throw new ApiError(404, `There is no SCIM endpoint at '${c.req.path}'. This tenant's base URL serves /Users, /Groups, /Roles, /ServiceProviderConfig, /ResourceTypes, /Schemas and /.search.`);
  });

/** Methods served at a path under the SCIM root: a known path with another method is a 405. */
const allowedMethods = allowedMethodsOf(scimRoutes);

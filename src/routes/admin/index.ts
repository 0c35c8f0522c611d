/** The operator's admin API, mounted at /admin/v1 behind admin authentication; its OpenAPI document at /admin/v1/openapi.json. */
import { adminAuditRoutes } from "./audit";
import { adminGroupRoutes } from "./groups";
import { createAdminRouter, serveDocument } from "./openapi";
import { setupLinkRoutes } from "./setup-links";
import { tenantLifecycleRoutes } from "./tenant-lifecycle";
import { tenantRoutes } from "./tenants";
import { adminUserRoutes } from "./users";

export const adminApiRoutes = serveDocument(
  createAdminRouter().route("/", tenantRoutes).route("/", adminUserRoutes).route("/", adminGroupRoutes).route("/", setupLinkRoutes).route("/", adminAuditRoutes).route("/", tenantLifecycleRoutes),
);

/** The operator's admin API, mounted at /admin/v1 behind admin authentication; its OpenAPI document at /admin/v1/openapi.json. */
import { adminAuditRoutes } from "./audit";
import { adminChangeRoutes } from "./changes";
import { adminGroupRoutes } from "./groups";
import { createAdminRouter, documentConfig, serveDocument } from "./openapi";
import { setupLinkRoutes } from "./setup-links";
import { tenantLifecycleRoutes } from "./tenant-lifecycle";
import { tenantRoutes } from "./tenants";
import { adminUserRoutes } from "./users";
import { adminWebhookRoutes } from "./webhooks";
import { dispatchAfterWrite } from "../../middleware/dispatch-after-write";
import { ssoAdminRoutes } from "../../sso/admin-routes";
import { roleMappingRoutes } from "../../roles/routes";
import { attributeRoutes } from "../../attributes/routes";
import { guardRoutes } from "../../guardrails/routes";
import { placementRoutes } from "../../placement/routes";

const router = createAdminRouter();
router.use("/tenants/:slug/*", dispatchAfterWrite); // writes under a tenant: hand its change events to the queue

export const adminApiRoutes = serveDocument(
  router
    .route("/", tenantRoutes)
    .route("/", adminUserRoutes)
    .route("/", adminGroupRoutes)
    .route("/", setupLinkRoutes)
    .route("/", adminChangeRoutes)
    .route("/", adminWebhookRoutes)
    .route("/", adminAuditRoutes)
    .route("/", tenantLifecycleRoutes)
    .route("/", ssoAdminRoutes)
    .route("/", roleMappingRoutes)
    .route("/", attributeRoutes)
    .route("/", guardRoutes)
    .route("/", placementRoutes),
);

/** The same document /admin/v1/openapi.json serves, for the console's API reference page. */
export function adminApiDocument(origin: string) {
  return adminApiRoutes.getOpenAPI31Document(documentConfig(origin));
}

/** The operator's admin API, mounted at /admin/v1 behind admin authentication; its OpenAPI document at /admin/v1/openapi.json. */
import { adminGroupRoutes } from "./groups";
import { createAdminRouter, serveDocument } from "./openapi";
import { tenantRoutes } from "./tenants";
import { adminUserRoutes } from "./users";
import { adminWebhookRoutes } from "./webhooks";
import { dispatchAfterWrite } from "../../middleware/dispatch-after-write";

const router = createAdminRouter();
router.use("/tenants/:slug/*", dispatchAfterWrite); // writes under a tenant: hand its change events to the queue

export const adminApiRoutes = serveDocument(router.route("/", tenantRoutes).route("/", adminUserRoutes).route("/", adminGroupRoutes).route("/", adminWebhookRoutes));

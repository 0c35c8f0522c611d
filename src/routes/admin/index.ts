/** The operator's admin API, mounted at /admin/v1 behind the ADMIN_TOKEN check. */
import { createRouter } from "../../lib/hono";
import { adminGroupRoutes } from "./groups";
import { tenantRoutes } from "./tenants";
import { adminUserRoutes } from "./users";

export const adminApiRoutes = createRouter().route("/", tenantRoutes).route("/", adminUserRoutes).route("/", adminGroupRoutes);

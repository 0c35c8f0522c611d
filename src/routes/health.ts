/** GET /healthz: 200 once the Worker can serve the admin API (control database migrated, secret set). */
import { sql } from "drizzle-orm";
import { createRouter } from "../lib/hono";
import { controlDb } from "../repo/control";

export const healthRoutes = createRouter().get("/healthz", async (c) => {
  const checks = { controlDatabase: "ok", adminToken: c.env.ADMIN_TOKEN?.trim() ? "ok" : "missing" };
  try {
    await controlDb(c.env.CONTROL_DB).run(sql`SELECT 1 FROM tenants LIMIT 1`);
  } catch {
    checks.controlDatabase = "unavailable (are the CONTROL_DB migrations applied?)";
  }
  const healthy = checks.controlDatabase === "ok" && checks.adminToken === "ok";
  return c.json({ status: healthy ? "ok" : "degraded", checks }, healthy ? 200 : 503);
});

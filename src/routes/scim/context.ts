/** What every SCIM handler needs from the request context, in one place. */
import type { Context } from "hono";
import { publicOrigin, scimEndpoint, type AppEnv } from "../../lib/hono";
import { tenantDb } from "../../tenancy/tenant-db";
import type { WriteContext } from "../../services/write-context";

export function scimContext(c: Context<AppEnv>) {
  const tenant = c.get("tenant");
  const actor = c.get("actor");
  const db = tenantDb(c.env, tenant);
  const baseUrl = scimEndpoint(publicOrigin(c.env, c.req.url), tenant.slug);
  const write: WriteContext = { db, tenant, actor };
  return { tenant, actor, db, baseUrl, write };
}

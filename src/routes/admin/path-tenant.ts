/** The tenant an admin route's (or a console page's) `{slug}` names, read once per request. */
import type { Context } from "hono";
import type { AppEnv } from "../../lib/hono";
import type { TenantWithToken } from "../../repo/control";
import { requireTenant } from "../../services/tenants";
import { tenantRefOf, type TenantRef } from "../../tenancy/tenant-db";

/**
 * The tenant with its SCIM token row; 404 when there is none. Remembered on the context so the
 * after-write dispatch (src/middleware/dispatch-after-write.ts) need not read it from CONTROL_DB again.
 */
export async function pathTenant<E extends AppEnv>(c: Context<E>): Promise<TenantWithToken> {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug")!);
  c.set("tenant", tenantRefOf(tenant));
  return tenant;
}

/** The same tenant as the pipeline refers to it (id, slug, database). */
export async function pathTenantRef<E extends AppEnv>(c: Context<E>): Promise<TenantRef> {
  return tenantRefOf(await pathTenant(c));
}

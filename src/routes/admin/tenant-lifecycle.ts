/** Admin API: deleting a tenant and exporting its users (design.md §4c). The logic lives in src/services. */
import { clientIp } from "../../services/auth-throttle";
import { deleteTenant } from "../../services/tenant-lifecycle";
import { requireTenantRef } from "../../services/tenants";
import { csvHeaders, exportUsers } from "../../services/user-export";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "./openapi";

export const tenantLifecycleRoutes = createAdminRouter();

adminRoute(
  tenantLifecycleRoutes,
  createRoute({
    method: "delete",
    path: "/tenants/{slug}",
    summary: "Delete a tenant and erase all its data",
    description:
      "Revokes the SCIM token and hides the tenant at once (404 from then on), then erases every row of the tenant from its database. 204 when the erasure finished within the request; 202 when it continues in the background (the hourly job finishes any that remain).",
    tags: ["Tenants"],
    request: { params: SlugParam },
    responses: {
      204: { description: "Deleted: every row of the tenant is erased." },
      202: json(z.object({ slug: z.string(), status: z.literal("erasing"), detail: z.string() }), "Deleted and token revoked; erasure continues in the background"),
      ...errors(404, 409),
    },
  }),
  async (c) => {
    // Not pathTenantRef: a tenant being erased is not handed to the after-write dispatch.
    const tenant = await requireTenantRef(c.env.CONTROL_DB, c.req.param("slug")!);
    const state = await deleteTenant(c.env, tenant, c.get("adminActor"), clientIp(c), (work) => c.executionCtx.waitUntil(work));
    if (state === "erased") return c.body(null, 204);
    return c.json(
      { slug: tenant.slug, status: "erasing" as const, detail: "The tenant is deleted and its token revoked. Its data is being erased in the background; the hourly job finishes whatever remains." },
      202,
    );
  },
);

adminRoute(
  tenantLifecycleRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/users/export",
    summary: "Export a tenant's users as CSV",
    description:
      "One row per user after a header row: id, userName, displayName, email, active, source, externalId, givenName, familyName, title, department, avatarUrl, createdAt, updatedAt. RFC 4180 quoting; text cells starting with = + - @ (or a tab or CR) are prefixed with ' against formula injection.",
    tags: ["Users"],
    request: { params: SlugParam },
    responses: { 200: { description: "The CSV file", content: { "text/csv": { schema: z.string() } } }, ...errors(404) },
  }),
  async (c) => {
    const tenant = await requireTenantRef(c.env.CONTROL_DB, c.req.param("slug")!);
    return c.body(await exportUsers(c.env, tenant, c.get("adminActor"), clientIp(c)), 200, csvHeaders(tenant.slug));
  },
);

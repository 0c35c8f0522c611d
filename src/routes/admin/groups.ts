/** Admin API: a tenant's provisioned groups with member counts, and one group's members. */
import type { GroupRow } from "../../db/tenant/schema";
import { createRouter } from "../../lib/hono";
import { parseInput } from "../../lib/validate";
import { getGroup, listGroups, listMembers } from "../../repo/groups";
import { requireTenantRef } from "../../services/tenants";
import { ApiError } from "../../scim/errors";
import { tenantDb } from "../../tenancy/tenant-db";
import { adminListQuery } from "./users";

export function groupView(row: GroupRow) {
  return {
    id: row.id,
    displayName: row.displayName,
    externalId: row.externalId,
    source: row.source,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export const adminGroupRoutes = createRouter()
  .get("/tenants/:slug/groups", async (c) => {
    const tenant = await requireTenantRef(c.env.CONTROL_DB, c.req.param("slug"));
    const query = parseInput(adminListQuery, c.req.query());
    const { total, rows } = await listGroups(tenantDb(c.env, tenant), tenant.id, { offset: query.startIndex - 1, limit: query.count, q: query.q });
    return c.json({ totalResults: total, startIndex: query.startIndex, groups: rows.map((row) => ({ ...groupView(row), memberCount: row.memberCount })) });
  })
  .get("/tenants/:slug/groups/:id", async (c) => {
    const tenant = await requireTenantRef(c.env.CONTROL_DB, c.req.param("slug"));
    const db = tenantDb(c.env, tenant);
    const group = await getGroup(db, tenant.id, c.req.param("id"));
    if (!group) throw new ApiError(404, `No group '${c.req.param("id")}' in tenant '${tenant.slug}'.`);
    const members = await listMembers(db, tenant.id, group.id);
    return c.json({ ...groupView(group), memberCount: members.length, members });
  });

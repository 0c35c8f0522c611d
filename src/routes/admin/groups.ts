/** Admin API: a tenant's provisioned groups with member counts, and one group's members. */
import { z } from "zod";
import type { GroupRow } from "../../db/tenant/schema";
import { createRouter } from "../../lib/hono";
import { parseInput } from "../../lib/validate";
import { getGroup, listGroups, listMembers } from "../../repo/groups";
import { ApiError } from "../../scim/errors";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../scim/list";
import { tenantDb } from "../../tenancy/tenant-db";
import { tenantRef } from "./users";

const listQuery = z.object({
  startIndex: z.coerce.number().int().min(1).default(1),
  count: z.coerce.number().int().min(0).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  q: z.string().trim().max(200).optional(),
});

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
    const tenant = await tenantRef(c.env.CONTROL_DB, c.req.param("slug"));
    const query = parseInput(listQuery, c.req.query());
    const { total, rows } = await listGroups(tenantDb(c.env, tenant), tenant.id, { offset: query.startIndex - 1, limit: query.count, q: query.q });
    return c.json({ totalResults: total, startIndex: query.startIndex, groups: rows.map((row) => ({ ...groupView(row), memberCount: row.memberCount })) });
  })
  .get("/tenants/:slug/groups/:id", async (c) => {
    const tenant = await tenantRef(c.env.CONTROL_DB, c.req.param("slug"));
    const db = tenantDb(c.env, tenant);
    const group = await getGroup(db, tenant.id, c.req.param("id"));
    if (!group) throw new ApiError(404, `No group '${c.req.param("id")}' in tenant '${tenant.slug}'.`);
    const members = await listMembers(db, tenant.id, group.id);
    return c.json({ ...groupView(group), memberCount: members.length, members });
  });

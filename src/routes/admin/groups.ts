/** Admin API: a tenant's provisioned groups with member counts, and one group's members. */
import type { GroupRow } from "../../db/tenant/schema";
import { parseInput } from "../../lib/validate";
import { getGroup, listGroups, listMembers } from "../../repo/groups";
import { pathTenantRef } from "./path-tenant";
import { ApiError } from "../../scim/errors";
import { tenantDb } from "../../tenancy/tenant-db";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "./openapi";
import { adminListQuery } from "./users";

function groupView(row: GroupRow) {
  return {
    id: row.id,
    displayName: row.displayName,
    externalId: row.externalId,
    source: row.source,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const Group = z
  .object({
    id: z.string(),
    displayName: z.string(),
    externalId: z.string().nullable(),
    source: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    memberCount: z.number().int(),
  })
  .openapi("Group");

const Member = z.object({ id: z.string(), userName: z.string(), displayName: z.string().nullable(), active: z.boolean() }).openapi("GroupMember");

export const adminGroupRoutes = createAdminRouter();

adminRoute(
  adminGroupRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/groups",
    summary: "List a tenant's provisioned groups with member counts",
    tags: ["Groups"],
    request: { params: SlugParam, query: adminListQuery },
    responses: { 200: json(z.object({ totalResults: z.number().int(), startIndex: z.number().int(), groups: z.array(Group) }), "A page of groups"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const query = parseInput(adminListQuery, c.req.query());
    const { total, rows } = await listGroups(tenantDb(c.env, tenant), tenant.id, { offset: query.startIndex - 1, limit: query.count, q: query.q });
    return c.json({ totalResults: total, startIndex: query.startIndex, groups: rows.map((row) => ({ ...groupView(row), memberCount: row.memberCount })) });
  },
);

adminRoute(
  adminGroupRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/groups/{id}",
    summary: "One group with its members",
    tags: ["Groups"],
    request: { params: SlugParam.extend({ id: z.string().openapi({ param: { name: "id", in: "path" } }) }) },
    responses: { 200: json(Group.extend({ members: z.array(Member) }), "The group and its members"), ...errors(404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const db = tenantDb(c.env, tenant);
    const group = await getGroup(db, tenant.id, c.req.param("id")!);
    if (!group) throw new ApiError(404, `No group '${c.req.param("id")}' in tenant '${tenant.slug}'.`);
    const members = await listMembers(db, tenant.id, group.id);
    return c.json({ ...groupView(group), memberCount: members.length, members });
  },
);

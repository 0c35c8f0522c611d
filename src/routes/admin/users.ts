/** Admin API: a tenant's provisioned users, TheStorage-owned fields, and the provisioning log (design.md §4). */
import { and, asc, eq } from "drizzle-orm";
import { z } from "@hono/zod-openapi";
import { users, type UserRow } from "../../db/tenant/schema";
import { createRouter } from "../../lib/hono";
import { readJsonObject } from "../../lib/respond";
import { parseInput } from "../../lib/validate";
import { listEvents } from "../../repo/events";
import { listUsers, userSearch } from "../../repo/users";
import { runWrite } from "../../services/commands";
import { requireTenantRef } from "../../services/tenants";
import { OPERATOR } from "../../services/write-context";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../scim/list";
import { tenantDb } from "../../tenancy/tenant-db";

/** Paging and search of the admin lists (users, groups). */
export const adminListQuery = z.object({
  startIndex: z.coerce.number().int().min(1).default(1),
  count: z.coerce.number().int().min(0).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
  q: z.string().trim().max(200).optional(),
});

const listQuery = adminListQuery.extend({ status: z.enum(["active", "deactivated"]).optional() });

const eventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().min(1).optional(),
  outcome: z.enum(["success", "failure"]).optional(),
  action: z.string().trim().max(50).optional(),
  resourceId: z.string().trim().max(200).optional(),
});

const avatarInput = z.object({
  avatarUrl: z
    .string()
    .trim()
    .max(2048)
    .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), "must be an http(s) URL")
    .nullable(),
});

export function userView(row: UserRow) {
  return {
    id: row.id,
    userName: row.userName,
    displayName: row.displayName,
    email: row.email,
    active: row.active,
    source: row.source,
    avatarUrl: row.avatarUrl,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export const adminUserRoutes = createRouter()
  .get("/tenants/:slug/users", async (c) => {
    const tenant = await requireTenantRef(c.env.CONTROL_DB, c.req.param("slug"));
    const query = parseInput(listQuery, c.req.query());
    const { total, rows } = await listUsers(tenantDb(c.env, tenant), tenant.id, {
      where: and(query.q ? userSearch(query.q) : undefined, query.status ? eq(users.active, query.status === "active") : undefined),
      orderBy: asc(users.createdAt),
      offset: query.startIndex - 1,
      limit: query.count,
    });
    return c.json({ totalResults: total, startIndex: query.startIndex, users: rows.map(userView) });
  })
  .patch("/tenants/:slug/users/:id", async (c) => {
    const tenant = await requireTenantRef(c.env.CONTROL_DB, c.req.param("slug"));
    const { avatarUrl } = parseInput(avatarInput, await readJsonObject(c));
    const row = await runWrite<UserRow>(c.env, tenant, OPERATOR, { kind: "user.avatar", id: c.req.param("id"), avatarUrl });
    return c.json(userView(row));
  })
  .get("/tenants/:slug/events", async (c) => {
    const tenant = await requireTenantRef(c.env.CONTROL_DB, c.req.param("slug"));
    const query = parseInput(eventsQuery, c.req.query());
    const rows = await listEvents(tenantDb(c.env, tenant), tenant.id, query);
    return c.json({ events: rows.map(({ tenantId: _tenant, target, ...event }) => ({ ...event, userName: target })) });
  });

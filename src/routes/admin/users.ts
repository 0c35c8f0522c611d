/** Admin API: a tenant's provisioned users, TheStorage-owned fields, and the provisioning log (design.md §4). */
import { and, asc, eq } from "drizzle-orm";
import { users, type UserRow } from "../../db/tenant/schema";
import { rolesOf } from "../../roles/config";
import { customValues } from "../../attributes/core";
import { readJsonObject } from "../../lib/respond";
import { parseInput } from "../../lib/validate";
import { listEvents } from "../../repo/events";
import { listUsers, userSearch, userSearchIndexed } from "../../repo/users";
import { clientIp } from "../../services/auth-throttle";
import { avatarUrlProblem, MAX_AVATAR_URL, setAvatarAsAdmin } from "../../services/avatar";
import { pathTenantRef } from "./path-tenant";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_START_INDEX } from "../../scim/list";
import { tenantDb } from "../../tenancy/tenant-db";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "./openapi";

/** Paging and search of the admin lists (users, groups). */
export const adminListQuery = z.object({
  startIndex: z.coerce.number().int().min(1).max(MAX_START_INDEX).default(1),
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

const avatarInput = z
  .object({
  avatarUrl: z
    .string()
    .trim()
    .max(MAX_AVATAR_URL)
    .superRefine((v, ctx) => {
      const problem = avatarUrlProblem(v);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .nullable(),
  })
  .openapi("UserAvatar", { example: { avatarUrl: "https://example.com/avatar.png" } });

function userView(row: UserRow, defaultRole: string) {
  return {
    id: row.id,
    userName: row.userName,
    displayName: row.displayName,
    email: row.email,
    active: row.active,
    source: row.source,
    avatarUrl: row.avatarUrl,
    role: row.role ?? defaultRole,
    attributes: customValues(row.data),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    lastSignInAt: row.lastSignInAt ?? null,
  };
}

const User = z
  .object({
    id: z.string(),
    userName: z.string(),
    displayName: z.string().nullable(),
    email: z.string().nullable().openapi({ description: "The primary (else first) email, lower-cased." }),
    active: z.boolean(),
    source: z.string().nullable().openapi({ description: "The origin badge: the provider that created the user (okta, entra, …); null for local users." }),
    avatarUrl: z.string().nullable(),
    role: z.string().openapi({ description: "The effective role (design.md §4f): the first mapping rule whose group holds the user, else a catalogue role the IdP pushed in `roles`, else the tenant's default." }),
    attributes: z.record(z.string(), z.unknown()).openapi({ description: "The tenant's custom attributes this user has values for, by name (PUT /tenants/{slug}/attributes defines them)." }),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastSignInAt: z.string().nullable().openapi({ description: "When the user last signed in through the tenant's IdP (design.md §4e); null if never." }),
  })
  .openapi("User");

const LogEvent = z
  .object({
    id: z.number().int(),
    at: z.string(),
    action: z.string(),
    resourceType: z.string(),
    resourceId: z.string().nullable(),
    userName: z.string().nullable(),
    outcome: z.enum(["success", "failure"]),
    status: z.number().int(),
    detail: z.string(),
    tokenPrefix: z.string().nullable(),
    actor: z.object({ type: z.string(), id: z.string().optional(), email: z.string().optional() }).nullable(),
  })
  .openapi("ProvisioningEvent");

const UserIdParam = SlugParam.extend({ id: z.string().openapi({ param: { name: "id", in: "path" } }) });

export const adminUserRoutes = createAdminRouter();

adminRoute(
  adminUserRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/users",
    summary: "List a tenant's provisioned users",
    tags: ["Users"],
    request: { params: SlugParam, query: listQuery },
    responses: { 200: json(z.object({ totalResults: z.number().int(), startIndex: z.number().int(), users: z.array(User) }), "A page of users"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const query = parseInput(listQuery, c.req.query());
    const { total, rows } = await listUsers(tenantDb(c.env, tenant), tenant.id, {
      where: and(query.q ? userSearch(query.q) : undefined, query.status ? eq(users.active, query.status === "active") : undefined),
      orderBy: asc(users.createdAt),
      offset: query.startIndex - 1,
      limit: query.count,
      textIndexed: query.q ? userSearchIndexed(query.q) : false,
    });
    return c.json({ totalResults: total, startIndex: query.startIndex, users: rows.map((row) => userView(row, rolesOf(c.env).defaultRole)) });
  },
);

adminRoute(
  adminUserRoutes,
  createRoute({
    method: "patch",
    path: "/tenants/{slug}/users/{id}",
    summary: "Set a user's TheStorage-owned fields (avatarUrl), never touched by SCIM",
    tags: ["Users"],
    request: { params: UserIdParam, body: { required: true, content: { "application/json": { schema: avatarInput } } } },
    responses: { 200: json(User, "The user"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const { avatarUrl } = parseInput(avatarInput, await readJsonObject(c));
    const row = await setAvatarAsAdmin(c.env, tenant, c.req.param("id")!, avatarUrl, c.get("adminActor"), clientIp(c));
    return c.json(userView(row, rolesOf(c.env).defaultRole));
  },
);

adminRoute(
  adminUserRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/events",
    summary: "The provisioning log, newest first",
    tags: ["Provisioning log"],
    request: { params: SlugParam, query: eventsQuery },
    responses: { 200: json(z.object({ events: z.array(LogEvent) }), "A page of the log"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const query = parseInput(eventsQuery, c.req.query());
    const rows = await listEvents(tenantDb(c.env, tenant), tenant.id, query);
    return c.json({ events: rows.map(({ tenantId: _tenant, target, ...event }) => ({ ...event, userName: target })) });
  },
);

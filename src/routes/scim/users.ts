/** /Users (RFC 7644 §3.2–3.6): reads straight from the tenant database, writes through the user's Durable Object. */
import type { Context } from "hono";
import type { UserRow } from "../../db/tenant/schema";
import { createRouter, type AppEnv } from "../../lib/hono";
import { readJsonObject } from "../../lib/respond";
import { getUserWithGroups, groupsOfUsers, listUsers } from "../../repo/users";
import { runWrite } from "../../services/commands";
import { createUser, type WrittenUser } from "../../services/users";
import { notFound } from "../../scim/errors";
import { parseFilter } from "../../scim/filter/parse";
import { compileFilterQuery, compileSort, isSorted } from "../../scim/filter/sql";
import type { ListParams } from "../../scim/list";
import { userTypeFor } from "../../attributes/core";
import { toScimUser, type GroupRef } from "../../scim/users";
import { scimContext } from "./context";
import { isRequested, listPageResponse, notModified, queryParams, resourceResponse, searchPage, type SearchPage } from "./respond";

export const userRoutes = createRouter();

/** `groups` given: already loaded (or known empty, as for a user just created); else read if the response needs it. */
async function userResponse(c: Context<AppEnv>, row: UserRow, status: 200 | 201 = 200, groups?: GroupRef[]) {
  const { db, tenant, baseUrl } = scimContext(c);
  const type = userTypeFor(tenant.attributes);
  const memberships = groups ?? (isRequested(type, queryParams(c), "groups") ? (await groupsOfUsers(db, tenant.id, [row.id])).get(row.id) : []);
  return resourceResponse(c, toScimUser(row, baseUrl, memberships), type, row.version, status);
}

/** GET /Users and both forms of POST .search share this. */
export async function searchUsers(c: Context<AppEnv>, params: ListParams): Promise<SearchPage> {
  const { db, tenant, baseUrl } = scimContext(c);
  const type = userTypeFor(tenant.attributes);
  const { where, textIndexed } = params.filter ? compileFilterQuery(parseFilter(params.filter), type) : { where: undefined, textIndexed: false };
  const orderBy = compileSort(params.sortBy, params.sortOrder, type);
  const withGroups = isRequested(type, params, "groups");
  const query = { where, orderBy: isSorted(params.sortBy) ? orderBy : undefined, offset: params.startIndex - 1, limit: params.count, textIndexed };
  const { total, rows, groups } = await listUsers(db, tenant.id, query, { withGroups });
  return searchPage(rows.map((row) => toScimUser(row, baseUrl, groups.get(row.id))), type, params, total);
}

userRoutes.get("/", async (c) => {
  const params = queryParams(c);
  return listPageResponse(c, await searchUsers(c, params), params);
});

userRoutes.post("/", async (c) => {
  const { write } = scimContext(c);
  const row = await createUser(write, await readJsonObject(c));
  return userResponse(c, row, 201, []);
});

userRoutes.get("/:id", async (c) => {
  const { db, tenant } = scimContext(c);
  const found = await getUserWithGroups(db, tenant.id, c.req.param("id"));
  if (!found) throw notFound(`User '${c.req.param("id")}' not found.`);
  return notModified(c, found.row.version) ?? userResponse(c, found.row, 200, found.groups);
});

userRoutes.put("/:id", async (c) => {
  const { tenant, actor, via } = scimContext(c);
  const body = await readJsonObject(c);
  const { groups, ...row } = await runWrite<WrittenUser>(c.env, tenant, actor, { kind: "user.replace", id: c.req.param("id"), body, ifMatch: c.req.header("If-Match") }, via);
  return userResponse(c, row, 200, groups);
});

userRoutes.patch("/:id", async (c) => {
  const { tenant, actor, via } = scimContext(c);
  const body = await readJsonObject(c);
  const { groups, ...row } = await runWrite<WrittenUser>(c.env, tenant, actor, { kind: "user.patch", id: c.req.param("id"), body, ifMatch: c.req.header("If-Match") }, via);
  return userResponse(c, row, 200, groups);
});

userRoutes.delete("/:id", async (c) => {
  const { tenant, actor, via } = scimContext(c);
  await runWrite(c.env, tenant, actor, { kind: "user.delete", id: c.req.param("id"), ifMatch: c.req.header("If-Match") }, via);
  return c.body(null, 204);
});

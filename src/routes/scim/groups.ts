/** /Groups (RFC 7644 §3.2–3.6): Okta Group Push and Entra group provisioning. */
import type { Context } from "hono";
import type { GroupRow } from "../../db/tenant/schema";
import { createRouter, type AppEnv } from "../../lib/hono";
import { readJsonObject } from "../../lib/respond";
import { getGroup, getGroupWithMembers, listGroupRows, membersOfGroups } from "../../repo/groups";
import { runWrite } from "../../services/commands";
import { createGroup, type WrittenGroup } from "../../services/groups";
import { etagOf } from "../../scim/etag";
import { notFound } from "../../scim/errors";
import { fieldOf } from "../../scim/json";
import { parseFilter } from "../../scim/filter/parse";
import { compileFilter, compileSort } from "../../scim/filter/sql";
import { toScimGroup, type MemberRef } from "../../scim/groups";
import type { ListParams } from "../../scim/list";
import { GROUP_RESOURCE } from "../../scim/schema";
import { scimContext } from "./context";
import { isRequested, listPageResponse, notModified, queryParams, resourceResponse, searchPage, type SearchPage } from "./respond";

export const groupRoutes = createRouter();

/** Members are loaded only when the response will carry them (Entra asks `excludedAttributes=members`). */
async function groupResponse(c: Context<AppEnv>, row: GroupRow, status: 200 | 201 = 200, members?: MemberRef[]) {
  const { db, tenant, baseUrl } = scimContext(c);
  const loaded = members ?? (isRequested(GROUP_RESOURCE, queryParams(c), "members") ? (await membersOfGroups(db, tenant.id, [row.id])).get(row.id) : undefined);
  return resourceResponse(c, toScimGroup(row, baseUrl, loaded), GROUP_RESOURCE, row.version, status);
}

export async function searchGroups(c: Context<AppEnv>, params: ListParams): Promise<SearchPage> {
  const { db, tenant, baseUrl } = scimContext(c);
  const where = params.filter ? compileFilter(parseFilter(params.filter), GROUP_RESOURCE) : undefined;
  const orderBy = compileSort(params.sortBy, params.sortOrder, GROUP_RESOURCE);
  const withMembers = isRequested(GROUP_RESOURCE, params, "members");
  const { total, rows, members } = await listGroupRows(db, tenant.id, { where, orderBy, offset: params.startIndex - 1, limit: params.count }, { withMembers });
  return searchPage(rows.map((row) => toScimGroup(row, baseUrl, withMembers ? (members.get(row.id) ?? []) : undefined)), GROUP_RESOURCE, params, total);
}

groupRoutes.get("/", async (c) => {
  const params = queryParams(c);
  return listPageResponse(c, await searchGroups(c, params), params);
});

groupRoutes.post("/", async (c) => {
  const { write } = scimContext(c);
  const body = await readJsonObject(c);
  const row = await createGroup(write, body);
  // A group created without members has none to read back (Okta creates, then pushes members).
  const members = fieldOf(body, "members");
  const memberless = !Array.isArray(members) || members.length === 0;
  return groupResponse(c, row, 201, memberless ? [] : undefined);
});

groupRoutes.get("/:id", async (c) => {
  const { db, tenant } = scimContext(c);
  const id = c.req.param("id");
  const withMembers = isRequested(GROUP_RESOURCE, queryParams(c), "members");
  const found = withMembers ? await getGroupWithMembers(db, tenant.id, id) : await getGroup(db, tenant.id, id).then((row) => row && { row, members: undefined });
  if (!found) throw notFound(`Group '${id}' not found.`);
  return notModified(c, found.row.version) ?? groupResponse(c, found.row, 200, found.members);
});

groupRoutes.put("/:id", async (c) => {
  const { tenant, actor, via } = scimContext(c);
  const body = await readJsonObject(c);
  const { members, ...row } = await runWrite<WrittenGroup>(c.env, tenant, actor, { kind: "group.replace", id: c.req.param("id"), body, ifMatch: c.req.header("If-Match") }, via);
  return groupResponse(c, row, 200, members);
});

/**
 * 204 by default (RFC 7644 §3.5.2 allows it; Okta and Entra accept it): a membership push to a
 * 5,000-member group should not echo 5,000 members back. A client that asks for a representation
 * with `attributes` or `excludedAttributes` gets 200 with it.
 */
groupRoutes.patch("/:id", async (c) => {
  const { tenant, actor, via } = scimContext(c);
  const body = await readJsonObject(c);
  // Read before the write: the log records the status the client gets, and a bad query parameter
  // is refused before anything changes.
  const params = queryParams(c);
  const answer = params.attributes || params.excludedAttributes ? 200 : 204;
  const row = await runWrite<GroupRow>(c.env, tenant, actor, { kind: "group.patch", id: c.req.param("id"), body, ifMatch: c.req.header("If-Match"), answer }, via);
  if (answer === 204) return c.body(null, 204, { ETag: etagOf(row.version) });
  return groupResponse(c, row);
});

groupRoutes.delete("/:id", async (c) => {
  const { tenant, actor, via } = scimContext(c);
  await runWrite(c.env, tenant, actor, { kind: "group.delete", id: c.req.param("id"), ifMatch: c.req.header("If-Match") }, via);
  return c.body(null, 204);
});

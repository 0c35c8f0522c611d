/**
 * POST /.search (RFC 7644 §3.4.3): the query parameters of a GET, carried in a SearchRequest body
 * so that long filters need not fit in a URL. Per resource type (`/Users/.search`) or at the root,
 * where the answer spans every resource type the filter applies to (Users, then Groups).
 */
import type { Context } from "hono";
import { createRouter, type AppEnv } from "../../lib/hono";
import { readJsonObject } from "../../lib/respond";
import { ApiError } from "../../scim/errors";
import { parseListParams, type ListParams } from "../../scim/list";
import { searchGroups } from "./groups";
import { listPageResponse, type SearchPage } from "./respond";
import { searchUsers } from "./users";

type Search = (c: Context<AppEnv>, params: ListParams) => Promise<SearchPage>;

async function searchParams(c: Context<AppEnv>): Promise<ListParams> {
  return parseListParams(await readJsonObject(c));
}

/** Pages across several resource types as if their results were one list. */
async function searchAll(c: Context<AppEnv>, params: ListParams, searches: Search[]): Promise<SearchPage> {
  const totals: { search: Search; total: number }[] = [];
  let refusal: ApiError | undefined;
  for (const search of searches) {
    try {
      totals.push({ search, total: (await search(c, { ...params, startIndex: 1, count: 0 })).total });
    } catch (error) {
      // A filter on attributes one resource type lacks (userName on Groups) matches none of that type.
      if (!(error instanceof ApiError && error.scimType === "invalidFilter")) throw error;
      refusal ??= error;
    }
  }
  if (totals.length === 0) throw refusal!;
  const resources: Record<string, unknown>[] = [];
  let skip = params.startIndex - 1;
  for (const { search, total } of totals) {
    const room = params.count - resources.length;
    if (room <= 0) break;
    if (skip >= total) {
      skip -= total;
      continue;
    }
    resources.push(...(await search(c, { ...params, startIndex: skip + 1, count: room })).resources);
    skip = 0;
  }
  return { total: totals.reduce((sum, t) => sum + t.total, 0), resources };
}

export const searchRoutes = createRouter()
  .post("/Users/.search", async (c) => {
    const params = await searchParams(c);
    return listPageResponse(c, await searchUsers(c, params), params);
  })
  .post("/Groups/.search", async (c) => {
    const params = await searchParams(c);
    return listPageResponse(c, await searchGroups(c, params), params);
  })
  .post("/.search", async (c) => {
    const params = await searchParams(c);
    return listPageResponse(c, await searchAll(c, params, [searchUsers, searchGroups]), params);
  });

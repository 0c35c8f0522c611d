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

/**
 * Pages across several resource types as if their results were one list. Two storage round trips:
 * every type's total at once, then every page the window touches at once.
 */
async function searchAll(c: Context<AppEnv>, params: ListParams, searches: Search[]): Promise<SearchPage> {
  const counted = await Promise.all(
    searches.map((search) =>
      search(c, { ...params, startIndex: 1, count: 0 }).then(
        ({ total }) => ({ search, total }),
        (error: unknown) => {
          // A filter on attributes one resource type lacks (userName on Groups) matches none of that type.
          if (!(error instanceof ApiError && error.scimType === "invalidFilter")) throw error;
          return error;
        },
      ),
    ),
  );
  const totals = counted.filter((t): t is { search: Search; total: number } => !(t instanceof ApiError));
  if (totals.length === 0) throw counted[0];
  const windows: { search: Search; startIndex: number; count: number }[] = [];
  let skip = params.startIndex - 1;
  let room = params.count;
  for (const { search, total } of totals) {
    if (room <= 0) break;
    if (skip >= total) {
      skip -= total;
      continue;
    }
    const count = Math.min(room, total - skip);
    windows.push({ search, startIndex: skip + 1, count });
    room -= count;
    skip = 0;
  }
  const pages = await Promise.all(windows.map(({ search, startIndex, count }) => search(c, { ...params, startIndex, count })));
  return { total: totals.reduce((sum, t) => sum + t.total, 0), resources: pages.flatMap((page) => page.resources) };
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

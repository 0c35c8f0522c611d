/** Shared response shapes of the resource routes: single resources and ListResponses, projected. */
import type { Context } from "hono";
import type { AppEnv } from "../../lib/hono";
import { scimJson } from "../../lib/respond";
import { etagOf, versionsIn } from "../../scim/etag";
import { listResponse, parseListParams, type ListParams } from "../../scim/list";
import { project, type ProjectionParams } from "../../scim/projection";
import type { ResourceTypeDef } from "../../scim/schema";

/** The query string as list/projection parameters (URLSearchParams decodes `+` and `%20` alike). */
export function queryParams(c: Context<AppEnv>): ListParams {
  return parseListParams(Object.fromEntries(new URL(c.req.url).searchParams));
}

/** True when the projection keeps `attribute`: lets handlers skip loading what won't be returned. */
export function isRequested(type: ResourceTypeDef, params: ProjectionParams, attribute: string): boolean {
  return attribute in project({ id: "x", [attribute]: [{ value: "x" }] }, type, params);
}

/** One resource, with Location and ETag (RFC 7644 §3.1, §3.14), honouring attributes/excludedAttributes. */
export function resourceResponse(
  c: Context<AppEnv>,
  resource: Record<string, unknown>,
  type: ResourceTypeDef,
  version: number,
  status: 200 | 201 = 200,
): Response {
  const params = queryParams(c);
  const meta = resource.meta as { location: string };
  return scimJson(c, project(resource, type, params), status, { Location: meta.location, ETag: etagOf(version) });
}

/** One page of a search: the total and the page's resources, already projected. */
export interface SearchPage {
  total: number;
  resources: Record<string, unknown>[];
}

export function searchPage(resources: Record<string, unknown>[], type: ResourceTypeDef, params: ListParams, total: number): SearchPage {
  return { total, resources: resources.map((r) => project(r, type, params)) };
}

export function listPageResponse(c: Context<AppEnv>, page: SearchPage, params: ListParams): Response {
  return scimJson(c, listResponse(page.resources, page.total, params.startIndex));
}

/** 304 when `If-None-Match` names the current version (RFC 7644 §3.14), else null. */
export function notModified(c: Context<AppEnv>, version: number): Response | null {
  return versionsIn(c.req.header("If-None-Match"))?.includes(version) ? c.body(null, 304, { ETag: etagOf(version) }) : null;
}

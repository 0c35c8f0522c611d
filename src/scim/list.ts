/** Query parameters and the ListResponse envelope of RFC 7644 §3.4.2. */
import { ApiError } from "./errors";
import { fieldOf } from "./json";
import { SCHEMA } from "./schema";

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/**
 * The largest startIndex taken as given; a larger one is read as this (the page is empty either way).
 * SQLite's OFFSET is a 64-bit integer, so `startIndex=1e20` must never reach it.
 */
export const MAX_START_INDEX = 2_147_483_647;

export interface ListParams {
  /** 1-based. */
  startIndex: number;
  count: number;
  filter?: string;
  sortBy?: string;
  sortOrder?: string;
  attributes?: string[];
  excludedAttributes?: string[];
}

function integerParam(name: string, raw: string | number | undefined | null): number | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const n = typeof raw === "number" ? raw : Number(String(raw).trim());
  if (!Number.isFinite(n)) throw new ApiError(400, `Query parameter '${name}' must be an integer; got '${raw}'.`, { scimType: "invalidValue" });
  return Math.trunc(n);
}

function listParam(raw: string | string[] | undefined | null): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const items = (Array.isArray(raw) ? raw : [raw]).flatMap((s) => String(s).split(",")).map((s) => s.trim()).filter(Boolean);
  return items.length ? items : undefined;
}

/**
 * From URL query parameters (already decoded by URLSearchParams, so `+` is a space) or a
 * `/.search` body. Parameter names are matched case-insensitively. startIndex < 1 means 1 (and one
 * past MAX_START_INDEX means MAX_START_INDEX); count
 * is clamped to [0, MAX_PAGE_SIZE] (RFC 7644: a negative count is 0).
 */
export function parseListParams(input: Record<string, unknown>): ListParams {
  const get = (name: string) => fieldOf(input, name) as string | undefined;
  const startIndex = Math.min(MAX_START_INDEX, Math.max(1, integerParam("startIndex", get("startIndex")) ?? 1));
  const count = Math.min(MAX_PAGE_SIZE, Math.max(0, integerParam("count", get("count")) ?? DEFAULT_PAGE_SIZE));
  const filter = get("filter");
  const text = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
  return {
    startIndex,
    count,
    filter: typeof filter === "string" && filter.trim() ? filter : undefined,
    sortBy: text(get("sortBy")),
    sortOrder: text(get("sortOrder")),
    attributes: listParam(get("attributes") as string | string[] | undefined),
    excludedAttributes: listParam(get("excludedAttributes") as string | string[] | undefined),
  };
}

export function listResponse(resources: unknown[], totalResults: number, startIndex: number) {
  return {
    schemas: [SCHEMA.listResponse],
    totalResults,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

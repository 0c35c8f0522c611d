/** Response writers for the two wire formats: SCIM JSON and RFC 9457 problem details. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError } from "../scim/errors";
import { SCHEMA } from "../scim/schema";
import { MAX_JSON_DEPTH } from "../scim/limits";

export const SCIM_CONTENT_TYPE = "application/scim+json; charset=utf-8";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function scimJson(c: Context, body: unknown, status: ContentfulStatusCode = 200, headers: Record<string, string> = {}): Response {
  return c.body(JSON.stringify(body), status, { ...headers, "Content-Type": SCIM_CONTENT_TYPE });
}

export function scimErrorBody(error: ApiError) {
  return {
    schemas: [SCHEMA.error],
    status: String(error.status),
    ...(error.scimType ? { scimType: error.scimType } : {}),
    detail: error.detail,
  };
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  412: "Precondition Failed",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

export function problemBody(error: ApiError) {
  return { type: "about:blank", title: TITLES[error.status] ?? "Error", status: error.status, detail: error.detail };
}

/** Reads a JSON object body whatever the Content-Type (Okta's own tests POST as application/json). */
export async function readJsonObject(c: Context, options: { allowEmpty?: boolean } = {}): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (!text.trim() && options.allowEmpty) return {};
  if (!text.trim()) throw new ApiError(400, "The request body is empty; send a JSON object.", { scimType: "invalidSyntax" });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, `The request body is not valid JSON (${(error as Error).message}).`, { scimType: "invalidSyntax" });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, "The request body must be a JSON object.", { scimType: "invalidSyntax" });
  }
  if (nestingDepth(parsed) > MAX_JSON_DEPTH) {
    throw new ApiError(400, `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep; SCIM and admin documents need far fewer.`, { scimType: "invalidSyntax" });
  }
  return parsed as Record<string, unknown>;
}

/**
 * How deeply `value` nests arrays and objects, counted without recursion (a body 5,000 levels deep
 * must not overflow the stack here); stops counting once past MAX_JSON_DEPTH.
 */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * The admin API's OpenAPI 3.1 document, built from the same zod schemas the handlers validate with.
 *
 * Every admin route is declared with `adminRoute(router, createRoute({...}), handler)`: the route
 * goes into the router's OpenAPI registry (for `/admin/v1/openapi.json`) and is served as a plain
 * Hono route. Handlers keep validating with `parseInput(schema, …)` so that bad input answers the
 * admin API's RFC 9457 problem details, and a JSON body is read whatever its Content-Type (as the
 * rest of the service does), rather than through zod-openapi's validator middleware.
 */
import { createRoute, OpenAPIHono, z, type RouteConfig } from "@hono/zod-openapi";
import type { Handler } from "hono";
import type { AppEnv } from "../../lib/hono";
import { MAX_BODY_BYTES } from "../../scim/limits";

export { createRoute, z };

export function createAdminRouter() {
  return new OpenAPIHono<AppEnv>();
}

/** `/tenants/{slug}` → `/tenants/:slug`. */
export function honoPath(openApiPath: string): string {
  return openApiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
}

/** Registers `route` in the document and serves it with `handler`. */
export function adminRoute(router: OpenAPIHono<AppEnv>, route: RouteConfig, handler: Handler<AppEnv>) {
  // Every request body is held to the body limit (src/app.ts); the 405 for other methods needs no entry.
  const responses = route.request?.body ? { ...route.responses, 413: problem(`The request body is larger than ${MAX_BODY_BYTES} bytes.`) } : route.responses;
  router.openAPIRegistry.registerPath({ ...route, responses, security: route.security ?? [{ adminToken: [] }] });
  router.on(route.method.toUpperCase(), honoPath(route.path), handler);
  return router;
}

/** RFC 9457 problem details: the body of every admin API error. */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
  })
  .openapi("Problem");

const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: Problem } } });

/** The error answers every admin route can give, plus the ones a route names. */
export function errors(...statuses: (400 | 403 | 404 | 409)[]) {
  const known: Record<number, string> = {
    400: "Invalid input: the detail names the field.",
    403: "Not allowed for this session.",
    404: "No such tenant or resource.",
    409: "Conflicts with the current state.",
  };
  return {
    401: problem("Missing or wrong admin credentials."),
    // Admin authentication is throttled per client IP on every route.
    429: problem("Too many failed admin authentications from this client IP; see Retry-After."),
    503: problem("The admin API is disabled: ADMIN_TOKEN is not set."),
    ...Object.fromEntries(statuses.map((s) => [s, problem(known[s])])),
  };
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

export const SlugParam = z.object({ slug: z.string().openapi({ param: { name: "slug", in: "path" }, example: "acme" }) });

/** The document's header; `origin` is where the admin API is served. */
export function documentConfig(origin: string) {
  return {
    openapi: "3.1.0",
    info: { title: "TheStorage SCIM admin API", version: "1", description: "Tenants, SCIM connections, provisioned users and groups, the provisioning log, change events and webhooks." },
    servers: [{ url: `${origin}/admin/v1` }],
  };
}

/** Serves the document; the routers' registries are merged when they are mounted with `.route()`. */
export function serveDocument(router: OpenAPIHono<AppEnv>) {
  router.openAPIRegistry.registerComponent("securitySchemes", "adminToken", { type: "http", scheme: "bearer", description: "The operator token (ADMIN_TOKEN secret)." });
  router.doc31("/openapi.json", (c) => documentConfig(new URL(c.req.url).origin));
  return router;
}

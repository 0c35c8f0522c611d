/**
 * The Worker's HTTP surface. Middleware runs in this order for every request:
 * request id → secure headers → Server-Timing (SCIM paths) → body limit → route (admin token or
 * SCIM token + rate limit) → onError.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { consoleRoutes } from "./console";
import type { AppEnv } from "./lib/hono";
import { allowedMethodsOf } from "./lib/allowed-methods";
import { adminAuth } from "./middleware/admin-auth";
import { isAdminApiPath, onError, renderError } from "./middleware/errors";
import { adminApiRoutes } from "./routes/admin";
import { faviconRoutes } from "./routes/favicon";
import { healthRoutes } from "./routes/health";
import { scimServerTiming } from "./middleware/server-timing";
import { scimRoutes } from "./routes/scim";
import { ssoRoutes } from "./sso/routes";
import { ApiError } from "./scim/errors";
import { MAX_BODY_BYTES, MAX_LARGE_BODY_BYTES } from "./scim/limits";

/**
 * Routing path with doubled and trailing slashes collapsed: Okta admins paste base URLs with a
 * trailing slash, so `/scim/v2//Users` and `/scim/v2/Users/` must reach `/scim/v2/Users`.
 */
export function normalisedPath(request: Request): string {
  const url = request.url;
  const start = url.indexOf("/", url.indexOf("://") + 3);
  const end = url.indexOf("?", start);
  const path = start === -1 ? "/" : url.slice(start, end === -1 ? undefined : end);
  const collapsed = path.replace(/\/{2,}/g, "/");
  return collapsed.length > 1 && collapsed.endsWith("/") ? collapsed.slice(0, -1) : collapsed;
}

/** `PUT`/`PATCH /Groups/{id}` and `POST /Bulk` under a tenant's SCIM root: the writes that take large bodies. */
export function takesLargeBody(method: string, path: string): boolean {
  return (
    ((method === "PATCH" || method === "PUT") && /^\/api\/[^/]+\/scim\/v2\/Groups\/[^/]+$/.test(path)) ||
    (method === "POST" && /^\/api\/[^/]+\/scim\/v2\/Bulk$/.test(path))
  );
}

export function createApp() {
  const app = new Hono<AppEnv>({ getPath: normalisedPath });

  app.use(requestId());
  app.use(secureHeaders({ xFrameOptions: "DENY" }));
  app.use("/api/:tenant/scim/v2/*", scimServerTiming);
  app.use("/api/:tenant/sso/*", scimServerTiming);
  const limit = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError(413, `The request body is larger than ${maxSize} bytes. Send fewer resources per request.`, { scimType: "tooLarge" });
      },
    });
  const [small, large] = [limit(MAX_BODY_BYTES), limit(MAX_LARGE_BODY_BYTES)];
  // Okta's Push Now of a 100,000-member group and /Bulk may carry up to 16 MiB (scim/limits.ts); the rest 1 MB.
  app.use((c, next) => (takesLargeBody(c.req.method, c.req.path) ? large(c, next) : small(c, next)));

  // A person who opens the bare origin in a browser lands on the console; API clients keep the JSON 404.
  app.get("/", (c, next) => (/\btext\/html\b/.test(c.req.header("Accept") ?? "") ? c.redirect("/admin", 303) : next()));
  app.route("/", healthRoutes);
  app.route("/", faviconRoutes);
  app.use("/admin/v1/*", adminAuth);
  app.route("/admin/v1", adminApiRoutes);
  app.route("/admin", consoleRoutes);
  app.route("/api/:tenant/scim/v2", scimRoutes);
  app.route("/api/:tenant/sso", ssoRoutes);

  const adminAllowed = allowedMethodsOf(adminApiRoutes);
  app.notFound((c) => {
    const path = c.req.path;
    if (isAdminApiPath(path)) {
      const allowed = adminAllowed(path.slice("/admin/v1".length) || "/");
      if (allowed.length) {
        return renderError(new ApiError(405, `${c.req.method} is not allowed on ${path}; it serves ${allowed.join(", ")}.`, { headers: { Allow: allowed.join(", ") } }), c);
      }
    }
    const detail = isAdminApiPath(path) ? `No admin API route ${c.req.method} ${path}.` : `Nothing at ${path}. SCIM endpoints live under /api/<tenant>/scim/v2.`;
    return renderError(new ApiError(404, detail), c);
  });
  app.onError(onError);
  return app;
}

/**
 * The admin console: server-rendered pages under /admin (the JSON admin API stays at /admin/v1).
 *
 * Middleware, in order, for every console path (admin API paths pass straight through):
 *   1. console headers: strict CSP (self only, no inline anything), frame-ancestors 'none' (and the
 *      app-wide X-Frame-Options: DENY), Cache-Control: no-store (static assets excepted: their
 *      URLs carry a content hash);
 *   2. static assets and the sign-in routes (public);
 *   3. session: a valid signed cookie, else a redirect to the sign-in page; on every POST the
 *      Origin / Sec-Fetch-Site check (hono/csrf) and the session's CSRF token in `_csrf`.
 * Errors render as HTML pages here (onError is per router), never as SCIM JSON.
 */
import { asc } from "drizzle-orm";
import { Hono, type Context } from "hono";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { users } from "../db/tenant/schema";
import { secretsEqual } from "../lib/crypto";
import { publicOrigin, scimEndpoint, type AppEnv } from "../lib/hono";
import { isAdminApiPath, toApiError } from "../middleware/errors";
import { controlDb, listTenants, type TenantWithToken } from "../repo/control";
import { listEvents } from "../repo/events";
import { getGroup, listGroups, listMembers } from "../repo/groups";
import { getUser, groupsOfUsers, listUsers, userSearch } from "../repo/users";
import { ApiError } from "../scim/errors";
import { toScimUser } from "../scim/users";
import { retentionDays } from "../jobs/retention";
import { setAvatarAsAdmin } from "../services/avatar";
import { createTenant, createTenantInput, disableScim, enableScim, PROVIDERS, regenerateToken, requireTenant } from "../services/tenants";
import { tenantBindings, tenantDb, tenantRefOf } from "../tenancy/tenant-db";
import { CONSOLE_CSS, CONSOLE_JS } from "./assets";
import { consoleActor, lifecycleConsoleRoutes } from "./lifecycle-routes";
import { SignInPage } from "./pages/auth";
import { GroupPage, GroupsPage, GROUPS_PAGE_SIZE } from "./pages/groups";
import { LOG_PAGE_SIZE, LogPage, type LogFilters } from "./pages/log";
import { ConfirmPage, ProvisioningPage } from "./pages/provisioning";
import { TenantsPage, type TenantForm } from "./pages/tenants";
import { UserPage, UsersPage, USERS_PAGE_SIZE } from "./pages/users";
import { csrfTokenValid, endSession, readSession, startSession, type ConsoleSession } from "./session";
import { ErrorPage } from "./ui";

export interface ConsoleEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { session: ConsoleSession };
}
type C = Context<ConsoleEnv>;

const consoleSecureHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", "https:", "data:"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
  },
  referrerPolicy: "no-referrer",
});

/** Cross-origin form posts are refused: Sec-Fetch-Site same-origin, or an Origin of this deployment. */
const originCheck = csrf({
  origin: (origin, c) => origin === new URL(c.req.url).origin || origin === publicOrigin(c.env, c.req.url),
});

function adminSecret(c: C): string | undefined {
  return c.env.ADMIN_TOKEN?.trim() || undefined;
}

function pageCtx(c: C) {
  return { csrfToken: c.get("session").csrfToken };
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function intParam(value: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : fallback;
}

function origin(c: C): string {
  return publicOrigin(c.env, c.req.url);
}

function forbidden(c: C, session?: ConsoleSession) {
  return c.html(
    <ErrorPage
      ctx={{ csrfToken: session?.csrfToken }}
      status={403}
      title="Request refused"
      detail="This form was missing its security token, carried a stale one, or was sent from another site. Nothing was changed. Reload the page and try again."
    />,
    403,
  );
}

export const consoleRoutes = new Hono<ConsoleEnv>();

consoleRoutes.onError((error, c) => {
  const session = c.get("session") as ConsoleSession | undefined;
  if (error instanceof HTTPException && error.status === 403) return forbidden(c, session);
  const apiError = toApiError(error);
  let detail = apiError.detail;
  if (!(error instanceof ApiError) && apiError.status >= 500) {
    console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), path: c.req.path, error: String((error as Error)?.stack ?? error) }));
    detail = `${detail} Request id: ${c.get("requestId") ?? "unknown"}.`;
  }
  const titles: Record<number, string> = { 400: "Invalid request", 404: "Not found", 409: "Conflict", 429: "Busy, try again", 503: "Unavailable" };
  const page = (
    <ErrorPage ctx={{ csrfToken: session?.csrfToken }} status={apiError.status} title={titles[apiError.status] ?? (apiError.status >= 500 ? "Something went wrong" : "Error")} detail={detail} />
  );
  return c.html(page, apiError.status as ContentfulStatusCode, apiError.headers);
});

// 1. Headers on every console response.
consoleRoutes.use("*", async (c, next) => {
  if (isAdminApiPath(c.req.path)) return next();
  await consoleSecureHeaders(c, next);
  if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
});

// 2. Public: static assets and sign-in.
const ASSET_CACHE = "public, max-age=31536000, immutable";
consoleRoutes.get("/assets/console.css", (c) => c.body(CONSOLE_CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": ASSET_CACHE }));
consoleRoutes.get("/assets/console.js", (c) => c.body(CONSOLE_JS, 200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": ASSET_CACHE }));

consoleRoutes.get("/sign-in", async (c) => {
  const secret = adminSecret(c);
  if (!secret) return c.html(<SignInPage disabled />, 503);
  if (await readSession(c, secret)) return c.redirect("/admin/tenants", 303);
  return c.html(<SignInPage signedOut={c.req.query("signed-out") === "1"} />);
});

consoleRoutes.post("/sign-in", originCheck, async (c) => {
  const secret = adminSecret(c);
  if (!secret) return c.html(<SignInPage disabled />, 503);
  const body = await c.req.parseBody();
  const presented = str(body.token).trim();
  if (!presented || !(await secretsEqual(presented, secret))) {
    return c.html(<SignInPage error="That is not the admin token. Check ADMIN_TOKEN (locally in .dev.vars) and try again." />, 401);
  }
  await startSession(c, secret);
  return c.redirect("/admin/tenants", 303);
});

// 3. Everything below needs a session; state-changing requests need the origin check and the CSRF token.
consoleRoutes.use("*", async (c, next) => {
  if (isAdminApiPath(c.req.path)) return next();
  const secret = adminSecret(c);
  if (!secret) return c.html(<SignInPage disabled />, 503);
  const session = await readSession(c, secret);
  if (!session) return c.redirect("/admin/sign-in", 303);
  c.set("session", session);
  if (c.req.method !== "GET" && c.req.method !== "HEAD") {
    await originCheck(c, async () => {});
    const body = await c.req.parseBody();
    if (!(await csrfTokenValid(session, body._csrf))) return forbidden(c, session);
  }
  await next();
});

consoleRoutes.post("/sign-out", (c) => {
  endSession(c);
  return c.redirect("/admin/sign-in?signed-out=1", 303);
});

consoleRoutes.get("/", (c) => c.redirect("/admin/tenants", 303));
consoleRoutes.route("/", lifecycleConsoleRoutes);

// Tenants.
async function renderTenants(c: C, form?: TenantForm, status: ContentfulStatusCode = 200) {
  const tenants = await listTenants(controlDb(c.env.CONTROL_DB));
  return c.html(<TenantsPage ctx={pageCtx(c)} tenants={tenants} databases={tenantBindings(c.env)} form={form} />, status);
}

consoleRoutes.get("/tenants", (c) => renderTenants(c));

consoleRoutes.post("/tenants", async (c) => {
  const body = await c.req.parseBody();
  const values = { slug: str(body.slug).trim(), name: str(body.name).trim(), database: str(body.database) };
  const parsed = createTenantInput.safeParse({ slug: values.slug, name: values.name || undefined, database: values.database || undefined });
  if (!parsed.success) {
    const errors: TenantForm["errors"] = {};
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? "form") as keyof TenantForm["errors"];
      errors[field] ??= field === "slug" && !values.slug ? "Enter a slug." : `${field === "form" ? "" : "Must be "}${issue.message.replace(/^must be /, "")}`;
    }
    return renderTenants(c, { values, errors }, 400);
  }
  try {
    const created = await createTenant(c.env, parsed.data, consoleActor(c));
    return c.redirect(`/admin/tenants/${created.slug}/provisioning?created=1`, 303);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 400 || error.status === 409)) {
      const errors = error.status === 409 ? { slug: `The slug '${values.slug}' is taken. Choose another.` } : { database: error.detail.replace(/^database: /, "") };
      return renderTenants(c, { values, errors }, error.status);
    }
    throw error;
  }
});

consoleRoutes.get("/tenants/:slug", (c) => c.redirect(`/admin/tenants/${encodeURIComponent(c.req.param("slug"))}/users`, 303));

// Settings › User Provisioning.
async function renderProvisioning(c: C, slug: string, extra: { minted?: { token: string; regenerated: boolean }; notice?: { kind: "ok" | "error" | "warn"; text: string } } = {}, status: ContentfulStatusCode = 200) {
  const tenant = await requireTenant(c.env.CONTROL_DB, slug);
  return c.html(<ProvisioningPage ctx={pageCtx(c)} tenant={tenant} endpoint={scimEndpoint(origin(c), tenant.slug)} {...extra} />, status);
}

consoleRoutes.get("/tenants/:slug/provisioning", (c) => {
  const notices: Record<string, { kind: "ok" | "warn"; text: string }> = {
    created: { kind: "ok", text: "Tenant created. Next: switch SCIM on to get the Base URL and API token." },
    off: { kind: "ok", text: "SCIM is off. The token was revoked; provisioning requests are refused from now on." },
  };
  const key = c.req.query("created") === "1" ? "created" : c.req.query("off") === "1" ? "off" : "";
  return renderProvisioning(c, c.req.param("slug"), { notice: notices[key] });
});

consoleRoutes.post("/tenants/:slug/provisioning/enable", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  const provider = str((await c.req.parseBody()).provider) || "okta";
  if (!(PROVIDERS as readonly string[]).includes(provider)) throw new ApiError(400, `Unknown identity provider '${provider}'.`);
  if (tenant.token) {
    return renderProvisioning(c, tenant.slug, { notice: { kind: "warn", text: "SCIM is already on. To get a new token, regenerate it." } }, 409);
  }
  const { raw } = await enableScim(c.env, tenant, provider, consoleActor(c));
  // The raw token is rendered in this response only: never stored, never in a URL or redirect.
  return renderProvisioning(c, tenant.slug, { minted: { token: raw, regenerated: false } });
});

consoleRoutes.get("/tenants/:slug/provisioning/regenerate", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  if (!tenant.token) return c.redirect(`/admin/tenants/${tenant.slug}/provisioning`, 303);
  return c.html(<ConfirmPage ctx={pageCtx(c)} tenant={tenant} kind="regenerate" />);
});

consoleRoutes.post("/tenants/:slug/provisioning/regenerate", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  if (!tenant.token) {
    return renderProvisioning(c, tenant.slug, { notice: { kind: "warn", text: "SCIM is off, so there is no token to regenerate. Switch it on instead." } }, 409);
  }
  const { raw } = await regenerateToken(c.env, tenant, consoleActor(c));
  return renderProvisioning(c, tenant.slug, { minted: { token: raw, regenerated: true } });
});

consoleRoutes.get("/tenants/:slug/provisioning/disable", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  if (!tenant.token) return c.redirect(`/admin/tenants/${tenant.slug}/provisioning`, 303);
  return c.html(<ConfirmPage ctx={pageCtx(c)} tenant={tenant} kind="disable" />);
});

consoleRoutes.post("/tenants/:slug/provisioning/disable", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  await disableScim(c.env, tenant, consoleActor(c));
  return c.redirect(`/admin/tenants/${tenant.slug}/provisioning?off=1`, 303);
});

// Users.
consoleRoutes.get("/tenants/:slug/users", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  const q = (c.req.query("q") ?? "").trim().slice(0, 200);
  const start = intParam(c.req.query("start"), 1);
  const { total, rows } = await listUsers(tenantDb(c.env, tenant), tenant.id, {
    where: q ? userSearch(q) : undefined,
    orderBy: asc(users.createdAt),
    offset: start - 1,
    limit: USERS_PAGE_SIZE,
  });
  return c.html(<UsersPage ctx={pageCtx(c)} tenant={tenant} rows={rows} total={total} q={q} start={start} />);
});

async function renderUser(c: C, tenant: TenantWithToken, id: string, extra: { avatar?: { value: string; error?: string }; notice?: string } = {}, status: ContentfulStatusCode = 200) {
  const db = tenantDb(c.env, tenant);
  const user = await getUser(db, tenant.id, id);
  if (!user) throw new ApiError(404, `No user with id '${id}' in tenant '${tenant.slug}'.`);
  const [groups, events] = await Promise.all([groupsOfUsers(db, tenant.id, [user.id]), listEvents(db, tenant.id, { limit: 20, resourceId: user.id })]);
  const groupRefs = groups.get(user.id) ?? [];
  const resource = toScimUser(user, scimEndpoint(origin(c), tenant.slug), groupRefs);
  return c.html(<UserPage ctx={pageCtx(c)} tenant={tenant} user={user} resource={resource} groups={groupRefs} events={events} {...extra} />, status);
}

consoleRoutes.get("/tenants/:slug/users/:id", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  return renderUser(c, tenant, c.req.param("id"), { notice: c.req.query("saved") === "1" ? "Avatar saved." : undefined });
});

consoleRoutes.post("/tenants/:slug/users/:id/avatar", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  const id = c.req.param("id");
  const body = await c.req.parseBody();
  const value = str(body.avatarUrl).trim();
  const clear = str(body.clear) === "1" || value === "";
  if (!clear && (value.length > 2048 || !/^https?:\/\//i.test(value) || !URL.canParse(value))) {
    return renderUser(c, tenant, id, { avatar: { value, error: "Enter an http(s) URL of at most 2048 characters, or clear the field to remove the avatar." } }, 400);
  }
  await setAvatarAsAdmin(c.env, tenantRefOf(tenant), id, clear ? null : value, consoleActor(c));
  return c.redirect(`/admin/tenants/${tenant.slug}/users/${encodeURIComponent(id)}?saved=1`, 303);
});

// Groups.
consoleRoutes.get("/tenants/:slug/groups", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  const q = (c.req.query("q") ?? "").trim().slice(0, 200);
  const start = intParam(c.req.query("start"), 1);
  const { total, rows } = await listGroups(tenantDb(c.env, tenant), tenant.id, { offset: start - 1, limit: GROUPS_PAGE_SIZE, q: q || undefined });
  return c.html(<GroupsPage ctx={pageCtx(c)} tenant={tenant} rows={rows} total={total} q={q} start={start} />);
});

consoleRoutes.get("/tenants/:slug/groups/:id", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  const id = c.req.param("id");
  const db = tenantDb(c.env, tenant);
  const group = await getGroup(db, tenant.id, id);
  if (!group) throw new ApiError(404, `No group with id '${id}' in tenant '${tenant.slug}'.`);
  const members = await listMembers(db, tenant.id, id);
  return c.html(<GroupPage ctx={pageCtx(c)} tenant={tenant} group={group} members={members} />);
});

// Provisioning log.
consoleRoutes.get("/tenants/:slug/log", async (c) => {
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  const outcome = c.req.query("outcome");
  const action = (c.req.query("action") ?? "").trim().slice(0, 50);
  const filters: LogFilters = {
    outcome: outcome === "success" || outcome === "failure" ? outcome : undefined,
    action: action || undefined,
    before: c.req.query("before") ? intParam(c.req.query("before"), 0) || undefined : undefined,
  };
  const rows = await listEvents(tenantDb(c.env, tenant), tenant.id, { limit: LOG_PAGE_SIZE + 1, ...filters });
  return c.html(<LogPage ctx={pageCtx(c)} tenant={tenant} events={rows.slice(0, LOG_PAGE_SIZE)} filters={filters} hasMore={rows.length > LOG_PAGE_SIZE} retentionDays={retentionDays(c.env)} />);
});

// Anything else under /admin: an HTML 404 (admin API paths keep the API's own 404).
consoleRoutes.all("*", (c) => {
  if (isAdminApiPath(c.req.path)) return c.notFound();
  return c.html(<ErrorPage ctx={pageCtx(c)} status={404} title="Not found" detail={`Nothing at ${c.req.path}.`} />, 404);
});


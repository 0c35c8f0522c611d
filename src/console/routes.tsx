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
import { and, asc, desc, eq, type SQL } from "drizzle-orm";
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
import { userCountsOf } from "../repo/user-counts";
import { getGroup, listGroups, listMembers } from "../repo/groups";
import { getUser, groupsOfUsers, listUsers, userSearch, userSearchIndexed } from "../repo/users";
import { ApiError } from "../scim/errors";
import { toScimUser } from "../scim/users";
import { retentionDays } from "../jobs/retention";
import { avatarUrlProblem, setAvatarAsAdmin } from "../services/avatar";
import { createTenant, createTenantInput, disableScim, enableScim, PROVIDERS, regenerateToken, requireTenant } from "../services/tenants";
import { tenantBindings, tenantDb, tenantRefOf } from "../tenancy/tenant-db";
import { apiReferenceRoutes } from "./api-reference";
import { CONSOLE_CSS, CONSOLE_JS } from "./assets";
import { lifecycleConsoleRoutes } from "./lifecycle-routes";
import { SignInPage } from "./pages/auth";
import { GroupPage, GroupsPage, GROUPS_PAGE_SIZE } from "./pages/groups";
import { LOG_PAGE_SIZE, LogPage, type LogFilters } from "./pages/log";
import { KEEP_PREVIOUS_CHOICES, ProvisioningConfirmPage, ProvisioningPage, REGENERATE_UNDERSTOOD, type ProvisioningProps, type SetupLinkForm } from "./pages/provisioning";
import { TenantsPage, type TenantForm } from "./pages/tenants";
import { movesInProgress } from "../placement/service";
import { USER_SORTS, USER_STATUSES, UserPage, UsersPage, USERS_PAGE_SIZE, type UserSort } from "./pages/users";
import { ACCESS_HEADER, accessConfig, verifyAccessAssertion } from "../middleware/access";
import { recordAdminAction } from "../services/audit";
import { clientIp, recordAuthFailure, throttledFor, throttleMessage } from "../services/auth-throttle";
import { createSetupLink, createSetupLinkInput, DEFAULT_MINUTES, MAX_MINUTES, redeemSetupLink } from "../services/setup-links";
import { getTenant } from "../repo/control";
import { pathTenant } from "../routes/admin/path-tenant";
import { consoleActor, csrfTokenValid, endSession, readSession, setFlash, startSession, takeFlash, type ConsoleSession } from "./session";
import { ErrorPage, homeHref, pageCtx, type PageContext, type ScopedView } from "./ui";
import { itAdminScopeSentence, scopedPathAllowed } from "./scope";
import { registerWebhookPages } from "./webhooks";
import { registerSsoPages } from "../sso/console";
import { registerRolePages } from "../roles/console";
import { rolesOf } from "../roles/config";
import { registerAttributePages } from "../attributes/console";
import { guardrailsNotice, heldHeadline, loadGuardrails, registerGuardrailsPages } from "../guardrails/console";
import { healthOf } from "../guardrails/health";

export interface ConsoleEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { session: ConsoleSession; scoped?: ScopedView };
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

/** The page context for error pages, which may render before (or without) a session. */
function errorCtx(c: C): PageContext {
  const session = c.get("session") as ConsoleSession | undefined;
  return { csrfToken: session?.csrfToken, scoped: c.get("scoped") };
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

function forbidden(c: C) {
  return c.html(
    <ErrorPage
      ctx={errorCtx(c)}
      status={403}
      title="Request refused"
      detail="This form was missing its security token, carried a stale one, or was sent from another site. Nothing was changed. Reload the page and try again."
    />,
    403,
  );
}

export const consoleRoutes = new Hono<ConsoleEnv>();

consoleRoutes.onError((error, c) => {
  if (error instanceof HTTPException && error.status === 403) return forbidden(c);
  const apiError = toApiError(error);
  let detail = apiError.detail;
  if (!(error instanceof ApiError) && apiError.status >= 500) {
    console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), path: c.req.path, error: String((error as Error)?.stack ?? error) }));
    detail = `${detail} Request id: ${c.get("requestId") ?? "unknown"}.`;
  }
  const titles: Record<number, string> = { 400: "Invalid request", 404: "Not found", 409: "Conflict", 429: "Busy, try again", 503: "Unavailable" };
  const page = (
    <ErrorPage ctx={errorCtx(c)} status={apiError.status} title={titles[apiError.status] ?? (apiError.status >= 500 ? "Something went wrong" : "Error")} detail={detail} />
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

/** 429 while this client IP is throttled (design.md §4c), else null. */
async function throttled(c: C): Promise<Response | null> {
  const seconds = await throttledFor(c.env, clientIp(c));
  return seconds === null ? null : throttlePage(c, seconds);
}

/** Counts a failed attempt; a 429 page when the IP's budget was already spent (nothing counted), else null. */
async function failedAttempt(c: C): Promise<Response | null> {
  const seconds = await recordAuthFailure(c.env, clientIp(c));
  return seconds === null ? null : throttlePage(c, seconds);
}

function throttlePage(c: C, seconds: number): Response | Promise<Response> {
  return c.html(<ErrorPage ctx={{}} status={429} title="Too many attempts" detail={throttleMessage(seconds)} back={{ href: "", label: "" }} />, 429, {
    "Retry-After": String(seconds),
  });
}

type AccessSignIn = { kind: "none" } | { kind: "ok"; session: ConsoleSession } | { kind: "refused"; response: Response };

/**
 * With Cloudflare Access on, a request that carries a valid assertion starts an operator session
 * attributed to the Access email; an invalid one is a failed sign-in. No assertion (or Access off): none.
 */
async function signInWithAccess(c: C, secret: string): Promise<AccessSignIn> {
  const access = accessConfig(c.env);
  const assertion = access ? c.req.header(ACCESS_HEADER)?.trim() : undefined;
  if (!access || !assertion) return { kind: "none" };
  const ip = clientIp(c);
  const verified = await verifyAccessAssertion(assertion, access);
  if (!verified.ok && verified.unavailable) {
    return { kind: "refused", response: await c.html(<SignInPage error={`Cannot check your Cloudflare Access sign-in now: ${verified.reason}. Retry shortly, or use the admin token.`} />, 503) };
  }
  if (!verified.ok) {
    const limited = await failedAttempt(c);
    if (limited) return { kind: "refused", response: await limited };
    await recordAdminAction(c.env, { action: "console.sign_in", actor: { type: "access" }, outcome: "failure", status: 401, detail: `Cloudflare Access assertion refused: ${verified.reason}.`, ip });
    return { kind: "refused", response: await c.html(<SignInPage error={`Cloudflare Access did not vouch for this request: ${verified.reason}. Reload the page to sign in through Access again, or use the admin token.`} />, 401) };
  }
  const limited = await throttled(c);
  if (limited) return { kind: "refused", response: await limited };
  const actor = { type: "access" as const, email: verified.email };
  const session = await startSession(c, secret, { scope: { kind: "operator" }, actor });
  await recordAdminAction(c.env, { action: "console.sign_in", actor, status: 303, detail: `Signed in through Cloudflare Access as ${verified.email}.`, ip });
  return { kind: "ok", session };
}

consoleRoutes.get("/sign-in", async (c) => {
  const secret = adminSecret(c);
  if (!secret) return c.html(<SignInPage disabled />, 503);
  const session = await readSession(c, secret);
  if (session) return c.redirect(session.scope.kind === "tenant" ? `/admin/tenants/${session.scope.slug}/provisioning` : "/admin/tenants", 303);
  const access = await signInWithAccess(c, secret);
  if (access.kind === "ok") return c.redirect("/admin/tenants", 303);
  if (access.kind === "refused") return access.response;
  return c.html(<SignInPage signedOut={c.req.query("signed-out") === "1"} />);
});

consoleRoutes.post("/sign-in", originCheck, async (c) => {
  const secret = adminSecret(c);
  if (!secret) return c.html(<SignInPage disabled />, 503);
  const ip = clientIp(c);
  const body = await c.req.parseBody();
  const presented = str(body.token).trim();
  if (!presented || !(await secretsEqual(presented, secret))) {
    const limited = await failedAttempt(c);
    if (limited) return limited;
    await recordAdminAction(c.env, { action: "console.sign_in", actor: { type: "console" }, outcome: "failure", status: 401, detail: "Wrong admin token.", ip });
    return c.html(<SignInPage error="That is not the admin token. Check ADMIN_TOKEN (locally in .dev.vars) and try again." />, 401);
  }
  const limited = await throttled(c);
  if (limited) return limited;
  await startSession(c, secret);
  await recordAdminAction(c.env, { action: "console.sign_in", actor: { type: "console" }, status: 303, detail: "Signed in with the admin token.", ip });
  return c.redirect("/admin/tenants", 303);
});

// A setup link: single use, opens a session scoped to its tenant (design.md §4c).
consoleRoutes.get("/setup/:secret", async (c) => {
  const secret = adminSecret(c);
  if (!secret) return c.html(<SignInPage disabled />, 503);
  const limited = await throttled(c);
  if (limited) return limited;
  const ip = clientIp(c);
  // Checked before the redemption, which uses the link up; a failure is then counted after it.
  const redemption = await redeemSetupLink(c.env, c.req.param("secret"));
  if (!redemption.ok) {
    const over = await failedAttempt(c);
    if (over) return over;
    if (redemption.linkId) {
      await recordAdminAction(c.env, {
        action: "setup_link.use",
        actor: { type: "setup-link", id: redemption.linkId },
        tenant: redemption.tenant ? tenantRefOf(redemption.tenant) : null,
        outcome: "failure",
        status: 410,
        detail: `Setup link ${redemption.linkId} refused: ${redemption.reason}.`,
        ip,
      });
    }
    const why = { unknown: "This setup link is not valid.", used: "This setup link has already been used.", expired: "This setup link has expired." }[redemption.reason];
    return c.html(
      <ErrorPage ctx={{}} status={redemption.reason === "unknown" ? 404 : 410} title="This link no longer works" detail={`${why} Setup links work once and only for a few minutes. Ask your TheStorage administrator for a new link.`} back={{ href: "", label: "" }}>
        {redemption.returnUrl ? (
          <p>
            <a class="button" href={redemption.returnUrl} rel="noreferrer">
              Back to TheStorage
            </a>
          </p>
        ) : null}
      </ErrorPage>,
      redemption.reason === "unknown" ? 404 : 410,
    );
  }
  const { tenant, linkId } = redemption;
  const actor = { type: "setup-link" as const, id: linkId };
  await startSession(c, secret, { scope: { kind: "tenant", tenantId: tenant.id, slug: tenant.slug, ...(redemption.returnUrl ? { returnUrl: redemption.returnUrl } : {}) }, actor });
  await recordAdminAction(c.env, { action: "setup_link.use", actor, tenant: tenantRefOf(tenant), status: 303, detail: `Setup link ${linkId} opened a console session for this organisation.`, ip });
  return c.redirect(`/admin/tenants/${tenant.slug}/provisioning`, 303);
});

// 3. Everything below needs a session; state-changing requests need the origin check and the CSRF token.
consoleRoutes.use("*", async (c, next) => {
  if (isAdminApiPath(c.req.path)) return next();
  const secret = adminSecret(c);
  if (!secret) return c.html(<SignInPage disabled />, 503);
  let session = await readSession(c, secret);
  if (!session) {
    const access = await signInWithAccess(c, secret);
    if (access.kind === "refused") return access.response;
    if (access.kind === "none") return c.redirect("/admin/sign-in", 303);
    session = access.session;
  }
  c.set("session", session);
  if (session.scope.kind === "tenant") {
    const refused = await enterScopedSession(c, session.scope);
    if (refused) return refused;
  }
  if (c.req.method !== "GET" && c.req.method !== "HEAD") {
    await originCheck(c, async () => {});
    const body = await c.req.parseBody();
    if (!(await csrfTokenValid(session, body._csrf))) return forbidden(c);
  }
  await next();
});

registerWebhookPages(consoleRoutes); // Settings › Webhooks, and change-event dispatch after console writes
registerSsoPages(consoleRoutes); // Settings › Single sign-on
registerRolePages(consoleRoutes); // Settings › Roles
registerAttributePages(consoleRoutes); // Settings › Custom attributes
registerGuardrailsPages(consoleRoutes, (c, slug, extra, status) => renderProvisioning(c, slug, extra, status as ContentfulStatusCode)); // held deactivations, the hold, health

/**
 * A setup-link session: its tenant must still exist (same id: a deleted and recreated slug is another
 * organisation), and the path must be one of that tenant's pages. Anything else answers 403.
 */
async function enterScopedSession(c: C, scope: { tenantId: string; slug: string; returnUrl?: string }): Promise<Response | null> {
  const tenant = await getTenant(controlDb(c.env.CONTROL_DB), scope.slug);
  if (!tenant || tenant.id !== scope.tenantId) {
    endSession(c);
    return c.html(<ErrorPage ctx={{}} status={403} title="This session has ended" detail="The organisation this session was for no longer exists. Ask your TheStorage administrator for a new link." back={{ href: "", label: "" }} />, 403);
  }
  c.set("scoped", { slug: tenant.slug, name: tenant.name, ...(scope.returnUrl ? { returnUrl: scope.returnUrl } : {}) });
  const path = c.req.path;
  if (path === "/admin" || path === "/admin/tenants/" + tenant.slug) return c.redirect(homeHref(errorCtx(c)), 303);
  if (scopedPathAllowed(path, tenant.slug)) return null;
  return c.html(
    <ErrorPage
      ctx={errorCtx(c)}
      status={403}
      title="Outside this session's organisation"
      detail={`This session was opened with a setup link for ${tenant.name}, and ${path} is outside it. ${itAdminScopeSentence()}`}
    />,
    403,
  );
}

consoleRoutes.post("/sign-out", (c) => {
  const scoped = c.get("scoped");
  endSession(c);
  if (!scoped) return c.redirect("/admin/sign-in?signed-out=1", 303);
  // A customer IT admin has no token to sign in again with: say how to come back instead.
  return c.html(
    <ErrorPage ctx={{}} status={200} title="You are signed out" detail={`Your session for ${scoped.name} has ended. To come back, ask your TheStorage administrator for a new setup link.`} back={scoped.returnUrl ? { href: scoped.returnUrl, label: "Back to TheStorage" } : { href: "", label: "" }} />,
  );
});

consoleRoutes.get("/", (c) => c.redirect(homeHref(pageCtx(c)), 303));
consoleRoutes.route("/", apiReferenceRoutes);
consoleRoutes.route("/", lifecycleConsoleRoutes);

// Tenants.
async function renderTenants(c: C, form?: TenantForm, status: ContentfulStatusCode = 200) {
  const tenants = await listTenants(controlDb(c.env.CONTROL_DB));
  // User counts: the row each tenant keeps in user_counts, one read per database (all in parallel).
  const byDatabase = new Map<string, TenantWithToken[]>();
  for (const t of tenants) byDatabase.set(t.database, [...(byDatabase.get(t.database) ?? []), t]);
  const counts = new Map<string, number>();
  await Promise.all(
    [...byDatabase].map(async ([database, group]) => {
      for (const [id, count] of await userCountsOf(tenantDb(c.env, { database }), group.map((t) => t.id))) counts.set(id, count);
    }),
  );
  const [health, moves] = await Promise.all([healthOf(c.env, tenants), movesInProgress(c.env)]);
  return c.html(<TenantsPage ctx={pageCtx(c)} tenants={tenants} counts={counts} health={health} moves={moves} databases={tenantBindings(c.env)} form={form} />, status);
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
    const created = await createTenant(c.env, parsed.data, consoleActor(c), clientIp(c));
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
type ProvisioningExtra = Partial<Pick<ProvisioningProps, "minted" | "notice" | "setupLink" | "setupLinkForm" | "regenerateUnconfirmed" | "guardError">>;

async function renderProvisioning(c: C, slug: string, extra: ProvisioningExtra = {}, status: ContentfulStatusCode = 200) {
  const tenant = await requireTenant(c.env.CONTROL_DB, slug);
  const guardrails = await loadGuardrails(c, tenant);
  return c.html(<ProvisioningPage ctx={pageCtx(c)} tenant={tenant} endpoint={scimEndpoint(origin(c), tenant.slug)} guardrails={guardrails} {...extra} />, status);
}

function provisioningPath(slug: string): string {
  return `/admin/tenants/${slug}/provisioning`;
}

consoleRoutes.get("/tenants/:slug/provisioning", async (c) => {
  const notices: Record<string, { kind: "ok" | "warn"; text: string }> = {
    created: { kind: "ok", text: "Tenant created. Next: switch SCIM on to get the Base URL and API token." },
    off: { kind: "ok", text: "SCIM is off. The token was revoked; provisioning requests are refused from now on." },
  };
  const key = c.req.query("created") === "1" ? "created" : c.req.query("off") === "1" ? "off" : "";
  const slug = c.req.param("slug");
  // A setup link just created (POST-redirect-GET): shown on this one answer, then gone.
  const setupLink = c.get("scoped") ? undefined : await takeFlash<{ url: string; expiresAt: string }>(c, adminSecret(c)!, provisioningPath(slug));
  return renderProvisioning(c, slug, { notice: notices[key] ?? guardrailsNotice(c.req.query("done")), setupLink });
});

consoleRoutes.post("/tenants/:slug/provisioning/enable", async (c) => {
  const tenant = await pathTenant(c);
  const provider = str((await c.req.parseBody()).provider) || "okta";
  if (!(PROVIDERS as readonly string[]).includes(provider)) throw new ApiError(400, `Unknown identity provider '${provider}'.`);
  if (tenant.token) {
    return renderProvisioning(c, tenant.slug, { notice: { kind: "warn", text: "SCIM is already on. To get a new token, regenerate it." } }, 409);
  }
  const { raw } = await enableScim(c.env, tenant, provider, consoleActor(c), clientIp(c));
  // The raw token is rendered in this response only: never stored, never in a URL or redirect.
  return renderProvisioning(c, tenant.slug, { minted: { token: raw, regenerated: false } });
});

consoleRoutes.get("/tenants/:slug/provisioning/regenerate", async (c) => {
  const tenant = await pathTenant(c);
  if (!tenant.token) return c.redirect(`/admin/tenants/${tenant.slug}/provisioning`, 303);
  return c.html(<ProvisioningConfirmPage ctx={pageCtx(c)} tenant={{ ...tenant, token: tenant.token }} kind="regenerate" />);
});

consoleRoutes.post("/tenants/:slug/provisioning/regenerate", async (c) => {
  const tenant = await pathTenant(c);
  if (!tenant.token) {
    return renderProvisioning(c, tenant.slug, { notice: { kind: "warn", text: "SCIM is off, so there is no token to regenerate. Switch it on instead." } }, 409);
  }
  const body = await c.req.parseBody();
  // A customer IT admin may be killing a token the operator handed to the IdP: they must say they understood.
  if (c.get("scoped") && str(body[REGENERATE_UNDERSTOOD]) !== "1") {
    return renderProvisioning(c, tenant.slug, { regenerateUnconfirmed: true }, 400);
  }
  const keep = Number(str(body.keepPrevious) || "0");
  if (!KEEP_PREVIOUS_CHOICES.some(([seconds]) => seconds === keep)) throw new ApiError(400, "Choose how long the current token keeps working from the list.");
  const { raw, previousUntil } = await regenerateToken(c.env, tenant, consoleActor(c), clientIp(c), { keepPreviousForSeconds: keep });
  return renderProvisioning(c, tenant.slug, { minted: { token: raw, regenerated: true, previousUntil } });
});

consoleRoutes.get("/tenants/:slug/provisioning/disable", async (c) => {
  const tenant = await pathTenant(c);
  if (!tenant.token) return c.redirect(`/admin/tenants/${tenant.slug}/provisioning`, 303);
  return c.html(<ProvisioningConfirmPage ctx={pageCtx(c)} tenant={{ ...tenant, token: tenant.token }} kind="disable" />);
});

consoleRoutes.post("/tenants/:slug/provisioning/disable", async (c) => {
  const tenant = await pathTenant(c);
  await disableScim(c.env, tenant, consoleActor(c), clientIp(c));
  return c.redirect(`/admin/tenants/${tenant.slug}/provisioning?off=1`, 303);
});

// Setup links (operator only: a scoped session never reaches this path). POST-redirect-GET: the link
// rides to the provisioning page in a one-time cookie, so reloading that page creates nothing.
consoleRoutes.post("/tenants/:slug/setup-links", async (c) => {
  const tenant = await pathTenant(c);
  const body = await c.req.parseBody();
  const form: SetupLinkForm = { minutes: str(body.minutes).trim() || String(DEFAULT_MINUTES), returnUrl: str(body.returnUrl).trim() };
  const input = createSetupLinkInput.safeParse({ expiresInMinutes: Number(form.minutes), ...(form.returnUrl ? { returnUrl: form.returnUrl } : {}) });
  if (!input.success) {
    const issue = input.error.issues[0]!;
    const field = issue.path[0] === "returnUrl" ? "returnUrl" : "minutes";
    const text = field === "minutes" ? `Choose an expiry from 1 to ${MAX_MINUTES} minutes.` : `The return URL ${issue.message}.`;
    return renderProvisioning(c, tenant.slug, { setupLinkForm: { ...form, error: { field, text } } }, 400);
  }
  const link = await createSetupLink(c.env, tenantRefOf(tenant), input.data, { actor: consoleActor(c), ip: clientIp(c) }, origin(c));
  await setFlash(c, adminSecret(c)!, provisioningPath(tenant.slug), { url: link.url, expiresAt: link.expiresAt });
  return c.redirect(`${provisioningPath(tenant.slug)}#setup-link-heading`, 303);
});

// Users.
/** Each order walks an index on (tenant_id, [active,] created_at) or (tenant_id, user_name_norm). */
const USER_ORDER: Record<UserSort, SQL> = {
  created: asc(users.createdAt),
  "-created": desc(users.createdAt),
  userName: asc(users.userNameNorm),
  "-userName": desc(users.userNameNorm),
};

/** A query value that must be one of `options`' keys; anything else is the default. */
function oneOf<K extends string>(value: string | undefined, options: Record<K, string>, fallback: K): K {
  return value !== undefined && Object.hasOwn(options, value) ? (value as K) : fallback;
}

consoleRoutes.get("/tenants/:slug/users", async (c) => {
  const tenant = await pathTenant(c);
  const q = (c.req.query("q") ?? "").trim().slice(0, 200);
  const start = intParam(c.req.query("start"), 1);
  const status = oneOf(c.req.query("status"), USER_STATUSES, "");
  const sort = oneOf(c.req.query("sort"), USER_SORTS, "created");
  // With the deactivation hold's headline, if anything is held.
  const [banner, { total, rows }] = await Promise.all([heldHeadline(c, tenant), listUsers(tenantDb(c.env, tenant), tenant.id, {
    where: and(q ? userSearch(q) : undefined, status ? eq(users.active, status === "active") : undefined),
    orderBy: USER_ORDER[sort],
    offset: start - 1,
    limit: USERS_PAGE_SIZE,
    textIndexed: q ? userSearchIndexed(q) : false,
  })]);
  return c.html(<UsersPage ctx={pageCtx(c)} tenant={tenant} rows={rows} total={total} list={{ q, status, sort }} start={start} banner={banner} />);
});

async function renderUser(c: C, tenant: TenantWithToken, id: string, extra: { avatar?: { value: string; error?: string }; notice?: string } = {}, status: ContentfulStatusCode = 200) {
  const db = tenantDb(c.env, tenant);
  const user = await getUser(db, tenant.id, id);
  if (!user) throw new ApiError(404, `No user with id '${id}' in tenant '${tenant.slug}'.`);
  const [groups, events] = await Promise.all([groupsOfUsers(db, tenant.id, [user.id]), listEvents(db, tenant.id, { limit: 20, resourceId: user.id })]);
  const groupRefs = groups.get(user.id) ?? [];
  const resource = toScimUser(user, scimEndpoint(origin(c), tenant.slug), groupRefs);
  return c.html(<UserPage ctx={pageCtx(c)} tenant={tenant} user={{ ...user, role: user.role ?? rolesOf(c.env).defaultRole }} resource={resource} groups={groupRefs} events={events} {...extra} />, status);
}

consoleRoutes.get("/tenants/:slug/users/:id", async (c) => {
  const tenant = await pathTenant(c);
  return renderUser(c, tenant, c.req.param("id"), { notice: c.req.query("saved") === "1" ? "Avatar saved." : undefined });
});

consoleRoutes.post("/tenants/:slug/users/:id/avatar", async (c) => {
  const tenant = await pathTenant(c);
  const id = c.req.param("id");
  const body = await c.req.parseBody();
  const value = str(body.avatarUrl).trim();
  const clear = str(body.clear) === "1" || value === "";
  const problem = clear ? null : avatarUrlProblem(value);
  if (problem) {
    return renderUser(c, tenant, id, { avatar: { value, error: `The image URL ${problem}. Or clear the field to remove the avatar.` } }, 400);
  }
  await setAvatarAsAdmin(c.env, tenantRefOf(tenant), id, clear ? null : value, consoleActor(c), clientIp(c));
  return c.redirect(`/admin/tenants/${tenant.slug}/users/${encodeURIComponent(id)}?saved=1`, 303);
});

// Groups.
consoleRoutes.get("/tenants/:slug/groups", async (c) => {
  const tenant = await pathTenant(c);
  const q = (c.req.query("q") ?? "").trim().slice(0, 200);
  const start = intParam(c.req.query("start"), 1);
  const { total, rows } = await listGroups(tenantDb(c.env, tenant), tenant.id, { offset: start - 1, limit: GROUPS_PAGE_SIZE, q: q || undefined });
  return c.html(<GroupsPage ctx={pageCtx(c)} tenant={tenant} rows={rows} total={total} q={q} start={start} />);
});

consoleRoutes.get("/tenants/:slug/groups/:id", async (c) => {
  const tenant = await pathTenant(c);
  const id = c.req.param("id");
  const db = tenantDb(c.env, tenant);
  const group = await getGroup(db, tenant.id, id);
  if (!group) throw new ApiError(404, `No group with id '${id}' in tenant '${tenant.slug}'.`);
  const members = await listMembers(db, tenant.id, id);
  return c.html(<GroupPage ctx={pageCtx(c)} tenant={tenant} group={group} members={members} />);
});

// Provisioning log.
consoleRoutes.get("/tenants/:slug/log", async (c) => {
  const tenant = await pathTenant(c);
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
  return c.html(<ErrorPage ctx={errorCtx(c)} status={404} title="Not found" detail={`Nothing at ${c.req.path}.`} />, 404);
});


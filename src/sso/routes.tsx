/**
 * The browser's side of sign-in through the customer's IdP (design.md §4e), under /api/{slug}/sso:
 * `start`, Okta's third-party `oidc/initiate`, `oidc/callback`, and SAML's `saml/acs` and
 * `saml/metadata`. Refusals are HTML pages that
 * say what happened and what to do; never a stack trace.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createRouter, publicOrigin, type AppEnv } from "../lib/hono";
import { toApiError } from "../middleware/errors";
import { ApiError } from "../scim/errors";
import { acsPath, attemptCookieName, callbackPath, connectionUrls, refusal } from "./core";
import { spMetadataXml } from "./saml/metadata";
import { RefusalPage, TestResultPage } from "./pages";
import { finishSamlSignIn, finishSignIn, initiateSignIn, loadTenant, startSignIn, type SamlSettings, type Step } from "./service";

const COOKIE_PREFIX = "secure" as const;

function cookieOptions(slug: string, protocol: "oidc" | "saml" = "oidc") {
  // OIDC, Lax: the cookie must come back on the IdP's cross-site top-level redirect to the callback.
  // SAML, None: the IdP's answer is a cross-site POST to the ACS, on which browsers drop Lax cookies.
  // Either way only the one endpoint receives it, and it holds only a sealed, single-use attempt.
  if (protocol === "saml") return { path: acsPath(slug), httpOnly: true, secure: true, sameSite: "None" as const, prefix: COOKIE_PREFIX };
  return { path: callbackPath(slug), httpOnly: true, secure: true, sameSite: "Lax" as const, prefix: COOKIE_PREFIX };
}

/** The sign-in pages load nothing, run nothing and post nowhere: only their own inline style. */
const PAGE_HEADERS = {
  "Cache-Control": "no-store",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "Referrer-Policy": "no-referrer",
};

/** The sealed attempt, in a cookie that only the tenant's callback receives. */
export function setAttemptCookie(c: Context, slug: string, cookie: { name: string; value: string; protocol?: "oidc" | "saml" }): void {
  setCookie(c, attemptCookieName(cookie.name), cookie.value, { ...cookieOptions(slug, cookie.protocol), maxAge: 600 });
}

async function answer(c: Context<AppEnv>, slug: string, step: Step): Promise<Response> {
  if (step.kind === "redirect") {
    if (step.cookie) setAttemptCookie(c, slug, step.cookie);
    c.header("Cache-Control", "no-store");
    c.header("Referrer-Policy", "no-referrer");
    return c.redirect(step.location, step.status);
  }
  if (step.kind === "tested") return c.html(<TestResultPage result={step.result} />, 200, PAGE_HEADERS);
  const r = refusal(step.reason);
  return c.html(<RefusalPage refusal={r} detail={step.detail} />, r.status, PAGE_HEADERS);
}

export const ssoRoutes = createRouter();

// A person in a browser is on this path: any failure is a page that says what to do, never JSON or a stack trace.
ssoRoutes.onError((error, c) => {
  const apiError = toApiError(error);
  if (apiError.status >= 500 && !(error instanceof ApiError)) {
    console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), path: c.req.path, error: String((error as Error)?.stack ?? error) }));
  }
  const status = (apiError.status >= 500 ? apiError.status : 400) as 400 | 500 | 503;
  const page = {
    status: 400 as const,
    title: "Sign-in is unavailable right now",
    what: `TheStorage could not complete the sign-in (HTTP ${apiError.status}, request id ${c.get("requestId") ?? "unknown"}).`,
    todo: "Try again in a minute. If it keeps happening, tell your IT administrator and quote the request id.",
  };
  return c.html(<RefusalPage refusal={{ ...page, status: status as 400 }} />, status, { ...PAGE_HEADERS, ...apiError.headers });
});

ssoRoutes.get("/start", async (c) => {
  const slug = c.req.param("tenant")!;
  const step = await startSignIn(c.env, slug, {
    returnTo: c.req.query("return_to") ?? null,
    loginHint: c.req.query("login_hint") || undefined,
    mode: "sign-in",
    origin: publicOrigin(c.env, c.req.url),
    meter: c.get("storageMeter"),
  });
  return answer(c, slug, step);
});

ssoRoutes.get("/oidc/initiate", async (c) => {
  const slug = c.req.param("tenant")!;
  const step = await initiateSignIn(c.env, slug, { iss: c.req.query("iss"), loginHint: c.req.query("login_hint") || undefined, origin: publicOrigin(c.env, c.req.url), meter: c.get("storageMeter") });
  return answer(c, slug, step);
});

function waitUntilOf(c: Context<AppEnv>): ((p: Promise<unknown>) => void) | undefined {
  try {
    const ctx = c.executionCtx;
    return (p) => ctx.waitUntil(p);
  } catch {
    return undefined; // no execution context: the minute sweep dispatches change events
  }
}

// The SAML ACS (HTTP-POST binding): RelayState names this browser's attempt cookie.
ssoRoutes.post("/saml/acs", async (c) => {
  const slug = c.req.param("tenant")!;
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const field = (name: string) => (typeof form[name] === "string" ? (form[name] as string) : null);
  const relayState = field("RelayState");
  const cookies: Record<string, string> = {};
  if (relayState && relayState.length <= 128) {
    const name = attemptCookieName(relayState);
    const value = getCookie(c, name, COOKIE_PREFIX);
    if (value) cookies[relayState] = value;
    if (value) deleteCookie(c, name, cookieOptions(slug, "saml"));
  }
  const step = await finishSamlSignIn(c.env, slug, { samlResponse: field("SAMLResponse"), relayState, cookies, origin: publicOrigin(c.env, c.req.url), meter: c.get("storageMeter"), waitUntil: waitUntilOf(c) });
  return answer(c, slug, step);
});

// Our SP metadata, for IdPs that import it (Entra ID, Okta's "SP metadata" upload).
ssoRoutes.get("/saml/metadata", async (c) => {
  const slug = c.req.param("tenant")!;
  const found = await loadTenant(c.env, slug, c.get("storageMeter"));
  if (!found) return c.text(`No tenant '${slug}'.`, 404);
  const urls = connectionUrls(publicOrigin(c.env, c.req.url), found.tenant.slug);
  const spCertificate = found.connection?.protocol === "saml" ? (found.connection.metadata as unknown as SamlSettings).spCertificate : undefined;
  return c.body(spMetadataXml(urls.spEntityId, urls.acsUrl, spCertificate), 200, { "Content-Type": "application/samlmetadata+xml; charset=utf-8", "Cache-Control": "no-cache" });
});

ssoRoutes.get("/oidc/callback", async (c) => {
  const slug = c.req.param("tenant")!;
  const state = c.req.query("state");
  const cookies: Record<string, string> = {};
  if (state) {
    const name = attemptCookieName(state);
    const value = getCookie(c, name, COOKIE_PREFIX);
    if (value) cookies[state] = value;
    // Whatever happens next, this attempt is over in this browser.
    if (value) deleteCookie(c, name, cookieOptions(slug));
  }
  const step = await finishSignIn(c.env, slug, { url: new URL(c.req.url), cookies, origin: publicOrigin(c.env, c.req.url), meter: c.get("storageMeter"), waitUntil: waitUntilOf(c) });
  return answer(c, slug, step);
});

/**
 * Sign-in through the customer's IdP (design.md §4e): the protocol decisions, pure and env-free.
 * Which URLs may be issuers and return_to targets, what a sign-in attempt carries and when it has
 * expired, which directory keys an ID token's claims match, the ticket's shape, and what a refusal
 * tells the person. The routes (src/sso/routes.ts) and services only move data in and out.
 */
import { foldCase } from "../scim/text";

/** state, nonce and PKCE verifier live this long (and are used once). */
export const ATTEMPT_TTL_MS = 10 * 60_000;
/** A ticket must be redeemed within this. */
export const TICKET_TTL_MS = 60_000;
/** Clock skew tolerated on the ID token's exp and iat. */
export const CLOCK_SKEW_SECONDS = 60;
/** The only ID token signature algorithms accepted. */
export const ID_TOKEN_ALGORITHMS = ["RS256", "ES256"] as const;
export const SCOPE = "openid email profile";
const MAX_URL_LENGTH = 2048;

// ── URLs ────────────────────────────────────────────────────────────────────────────────────────

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

/**
 * Null when `raw` may be an OIDC issuer, else why not: an absolute https:// URL without query,
 * fragment or credentials; http:// only to a loopback host and only when the Worker runs locally.
 */
export function issuerProblem(raw: string, allowLoopback: boolean): string | null {
  if (raw.length > MAX_URL_LENGTH) return `The issuer is longer than ${MAX_URL_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "The issuer is not an absolute URL. Okta: https://<your-org>.okta.com; Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0.";
  }
  if (url.username || url.password) return "The issuer carries credentials (user:password@); remove them.";
  if (url.search || url.hash) return "The issuer has a query or fragment; an OpenID issuer is a plain https:// URL.";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) {
    return allowLoopback ? null : "An http:// issuer is accepted only for a loopback host on a local run; use the IdP's https:// issuer.";
  }
  return "The issuer must be an https:// URL.";
}

/** SIGN_IN_RETURN_ORIGINS: comma-separated origins; malformed entries are ignored. */
export function parseReturnOrigins(raw: string | undefined): string[] {
  const origins: string[] = [];
  for (const part of (raw ?? "").split(",")) {
    const value = part.trim();
    if (!value) continue;
    try {
      const url = new URL(value);
      if (url.origin !== "null") origins.push(url.origin);
    } catch {
      // not an origin: skipped
    }
  }
  return origins;
}

/**
 * Null when a sign-in may end at `raw`, else why not. Its origin must equal one of `allowedOrigins`
 * exactly (scheme, host and port); on a local run (`allowLoopback`) loopback origins are allowed too.
 */
export function returnToProblem(raw: string, allowedOrigins: readonly string[], allowLoopback: boolean): string | null {
  if (!raw) return "return_to is missing: say where the sign-in should end (an absolute URL of TheStorage's app).";
  if (raw.length > MAX_URL_LENGTH) return `return_to is longer than ${MAX_URL_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "return_to is not an absolute URL.";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "return_to must be an http(s) URL.";
  if (url.username || url.password) return "return_to must not carry credentials.";
  if (allowedOrigins.includes(url.origin)) return null;
  if (allowLoopback && url.protocol === "http:" && isLoopbackHost(url.hostname)) return null;
  return `return_to's origin ${url.origin} is not one TheStorage signs in to (SIGN_IN_RETURN_ORIGINS).`;
}

/** return_to with `ticket=<ticket>` added to its query (an existing `ticket` is replaced). */
export function withTicket(returnTo: string, ticket: string): string {
  const url = new URL(returnTo);
  url.searchParams.set("ticket", ticket);
  return url.toString();
}

export function callbackPath(slug: string): string {
  return `/api/${slug}/sso/oidc/callback`;
}

/** The SAML ACS (HTTP-POST binding); the SAML attempt cookie is scoped to it. */
export function acsPath(slug: string): string {
  return `/api/${slug}/sso/saml/acs`;
}

/** What the IdP admin pastes into the IdP (design.md §4e). */
export function connectionUrls(origin: string, slug: string) {
  const base = `${origin}/api/${slug}/sso`;
  return {
    redirectUri: `${origin}${callbackPath(slug)}`,
    initiateLoginUri: `${base}/oidc/initiate`,
    acsUrl: `${origin}${acsPath(slug)}`,
    spEntityId: `${base}/saml/metadata`,
    metadataUrl: `${base}/saml/metadata`,
  };
}

/** The provider badge of users a JIT sign-in creates, from the issuer's host. */
export function providerOfIssuer(issuer: string): string {
  let host: string;
  try {
    host = new URL(issuer).hostname.toLowerCase();
  } catch {
    return "generic"; // a SAML entity ID need not be a URL
  }
  if (host === "sts.windows.net") return "entra";
  if (host.endsWith(".okta.com") || host.endsWith(".oktapreview.com") || host.endsWith(".okta-emea.com")) return "okta";
  if (host === "login.microsoftonline.com" || host.endsWith(".microsoftonline.com")) return "entra";
  if (host.endsWith(".onelogin.com")) return "onelogin";
  if (host.endsWith(".jumpcloud.com")) return "jumpcloud";
  if (host === "accounts.google.com") return "google";
  return "generic";
}

// ── The attempt ─────────────────────────────────────────────────────────────────────────────────

/** A sign-in in flight, sealed into a cookie of the browser that started it. */
export interface Attempt {
  v: 1;
  tenantId: string;
  issuer: string;
  state: string;
  nonce: string;
  verifier: string;
  /** Where a successful sign-in lands (null: a test sign-in from the console). */
  returnTo: string | null;
  /** "test": the console's Test sign-in: show the claims and the match, issue no ticket. */
  mode: "sign-in" | "test";
  /** ms since the epoch. */
  createdAt: number;
}

/** The cookie an attempt travels in: one per attempt, so two tabs signing in don't overwrite each other. */
export function attemptCookieName(state: string): string {
  return `ts_sso_${state.slice(0, 22)}`;
}

/** The additional authenticated data of a sealed attempt: a cookie copied to another tenant or state does not open. */
export function attemptSealContext(tenantId: string, state: string): string {
  return `sso-attempt:${tenantId}:${state}`;
}

export function attemptExpiresAt(attempt: Pick<Attempt, "createdAt">): number {
  return attempt.createdAt + ATTEMPT_TTL_MS;
}

/** Why a decoded cookie is not a live attempt for this tenant and state, or null when it is. */
export function attemptProblem(value: unknown, tenantId: string, state: string, now: number): RefusalReason | null {
  if (typeof value !== "object" || value === null) return "broken";
  const a = value as Partial<Attempt>;
  if (a.v !== 1 || a.tenantId !== tenantId || a.state !== state || typeof a.nonce !== "string" || typeof a.verifier !== "string" || typeof a.createdAt !== "number") return "broken";
  if (now > attemptExpiresAt(a as Attempt) || now < a.createdAt - CLOCK_SKEW_SECONDS * 1000) return "expired";
  return null;
}

// ── Matching ────────────────────────────────────────────────────────────────────────────────────

/** The claims of a verified ID token this service reads. */
export interface IdClaims {
  iss: string;
  sub: string;
  oid?: string;
  email?: string;
  preferred_username?: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  [claim: string]: unknown;
}

/** What a first sign-in may match, in priority order: externalId (sub, then Entra's oid), then userName. */
export interface MatchKeys {
  issuer: string;
  subject: string;
  /** Compared with SCIM externalId exactly. */
  externalIds: string[];
  /** Compared with userName case-insensitively (folded like `user_name_norm`). */
  userNames: string[];
}

const str = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value : undefined);

export function matchKeys(claims: IdClaims): MatchKeys {
  const externalIds = [...new Set([claims.sub, str(claims.oid)].filter((v): v is string => !!v))];
  const userNames = [...new Set([str(claims.preferred_username), str(claims.email)].filter((v): v is string => !!v).map(foldCase))];
  return { issuer: claims.iss, subject: claims.sub, externalIds, userNames };
}

/** The body of a user created by a JIT sign-in (SCIM is off and the connection allows it). */
export function jitUserBody(claims: IdClaims): Record<string, unknown> | null {
  const userName = str(claims.preferred_username) ?? str(claims.email);
  if (!userName) return null;
  const email = str(claims.email);
  const name = str(claims.given_name) || str(claims.family_name) ? { givenName: str(claims.given_name), familyName: str(claims.family_name) } : undefined;
  return {
    userName,
    externalId: str(claims.oid) ?? claims.sub,
    displayName: str(claims.name) ?? userName,
    ...(name ? { name } : {}),
    ...(email ? { emails: [{ value: email, type: "work", primary: true }] } : {}),
    active: true,
  };
}

export type SignInDecision = { ok: true } | { ok: false; reason: "not_provisioned" | "deactivated" } | { ok: false; jit: true };

/** Who gets in: a matched active user; a matched inactive user is refused; no match is refused unless JIT may create one. */
export function decide(user: { active: boolean } | null, options: { jit: boolean; scimEnabled: boolean }): SignInDecision {
  if (user) return user.active ? { ok: true } : { ok: false, reason: "deactivated" };
  if (options.jit && !options.scimEnabled) return { ok: false, jit: true };
  return { ok: false, reason: "not_provisioned" };
}

// ── Tickets ─────────────────────────────────────────────────────────────────────────────────────

export const TICKET_PREFIX = "tssi_";
const TICKET_PATTERN = /^tssi_([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;

/** `tssi_<tenant id, 32 hex>.<43 base64url>`: the tenant part lets redemption find the tenant's database. */
export function formatTicket(tenantId: string, secret: string): string {
  return `${TICKET_PREFIX}${tenantId.replace(/-/g, "")}.${secret}`;
}

/** The tenant id (as stored, with dashes) a well-formed ticket names; null for anything else. */
export function ticketTenant(ticket: unknown): string | null {
  if (typeof ticket !== "string") return null;
  const m = TICKET_PATTERN.exec(ticket);
  if (!m) return null;
  const h = m[1]!;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ── Refusals ────────────────────────────────────────────────────────────────────────────────────

export type RefusalReason =
  | "not_provisioned"
  | "deactivated"
  | "sso_off"
  | "expired"
  | "broken"
  | "replayed"
  | "idp_error"
  | "invalid_token"
  | "wrong_issuer"
  | "bad_return_to"
  | "no_default_return"
  | "unsolicited";

export interface Refusal {
  status: 400 | 403;
  title: string;
  /** What happened, in words a person understands. */
  what: string;
  /** What to do about it. */
  todo: string;
}

/** The page a person sees for each refusal; `detail` (optional) is appended to what happened. */
export function refusal(reason: RefusalReason, detail?: string): Refusal {
  const r = REFUSALS[reason];
  return detail ? { ...r, what: `${r.what} ${detail}` } : r;
}

const ASK_ADMIN = "If you think this is wrong, ask your company's IT administrator.";

const REFUSALS: Record<RefusalReason, Refusal> = {
  not_provisioned: {
    status: 403,
    title: "You don't have access to TheStorage yet",
    what: "Your company's identity provider signed you in, but your account has not been provisioned in TheStorage.",
    todo: `Ask your IT administrator to assign TheStorage to you in your identity provider (for example Okta or Entra ID), wait a minute for it to sync, then sign in again. ${ASK_ADMIN}`,
  },
  deactivated: {
    status: 403,
    title: "Your TheStorage account is deactivated",
    what: "Your company's identity provider has deactivated your access to TheStorage.",
    todo: `If you should still have access, ask your IT administrator to reactivate TheStorage for you in your identity provider.`,
  },
  sso_off: {
    status: 403,
    title: "Sign-in through your company's identity provider is off",
    what: "This organisation has not set up (or has turned off) sign-in through its identity provider in TheStorage.",
    todo: `Sign in to TheStorage the usual way, or ask your IT administrator to set up single sign-on.`,
  },
  expired: {
    status: 400,
    title: "This sign-in attempt expired",
    what: "The sign-in took longer than 10 minutes, or it was started in another browser.",
    todo: "Go back to TheStorage and start the sign-in again.",
  },
  broken: {
    status: 400,
    title: "This sign-in attempt could not be completed",
    what: "The answer from your identity provider did not belong to a sign-in started in this browser.",
    todo: "Go back to TheStorage and start the sign-in again from there. Make sure cookies are allowed for this site.",
  },
  replayed: {
    status: 400,
    title: "This sign-in link was already used",
    what: "Each sign-in can be completed only once, and this one already was.",
    todo: "Go back to TheStorage and start the sign-in again.",
  },
  idp_error: {
    status: 400,
    title: "Your identity provider did not sign you in",
    what: "Your company's identity provider answered with an error.",
    todo: `Try again. If it keeps happening, ask your IT administrator to check that TheStorage is assigned to you and that its settings match TheStorage's (redirect URI, client ID and secret).`,
  },
  invalid_token: {
    status: 400,
    title: "The sign-in could not be verified",
    what: "The identity token from your company's identity provider did not pass TheStorage's checks.",
    todo: `Try again. If it keeps happening, ask your IT administrator to check the single sign-on settings in TheStorage (OpenID Connect: issuer, client ID and secret; SAML: the IdP's entity ID and signing certificate, SHA-256).`,
  },
  wrong_issuer: {
    status: 400,
    title: "This sign-in came from an unexpected identity provider",
    what: "The sign-in was started by an identity provider that is not the one this organisation connected to TheStorage.",
    todo: `Start the sign-in from TheStorage, or from your company's own identity provider dashboard. ${ASK_ADMIN}`,
  },
  bad_return_to: {
    status: 400,
    title: "This sign-in link is not valid",
    what: "The link asks to return to a place TheStorage does not sign in to.",
    todo: "Start the sign-in from TheStorage itself.",
  },
  no_default_return: {
    status: 400,
    title: "Start the sign-in from TheStorage",
    what: "Signing in from your identity provider's dashboard is not set up for this organisation.",
    todo: "Open TheStorage and choose to sign in with your company account there.",
  },
  unsolicited: {
    status: 400,
    title: "Start the sign-in from TheStorage",
    what: "Your identity provider sent a sign-in that TheStorage did not ask for, and this organisation does not accept sign-ins started from the identity provider's dashboard.",
    todo: `Open TheStorage and choose to sign in with your company account there. ${ASK_ADMIN}`,
  },
};

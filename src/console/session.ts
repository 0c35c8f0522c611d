/**
 * Console sessions and CSRF tokens, with Web Crypto only and no server-side state.
 *
 * - The session cookie holds `v2.<session id>.<expiry ms>.<grant>`, signed with HMAC-SHA256
 *   (hono/cookie's signed cookies) under a key derived from ADMIN_TOKEN: HMAC-SHA256(ADMIN_TOKEN,
 *   "thestorage console session v1"). `<grant>` is base64url JSON: the scope (the operator, or one
 *   tenant by id and slug, with the optional "Back to TheStorage" URL) and the actor the session's
 *   writes are attributed to. Rotating ADMIN_TOKEN changes the key, so every session stops verifying.
 *   The expiry is inside the signed value: a replayed old cookie is refused even if the browser
 *   kept it past Max-Age. An operator signed in with the token gets `v1.<id>.<expiry>` (no grant:
 *   the operator scope and the `console` actor are implied).
 * - The CSRF token of a session is HMAC-SHA256(key, "csrf." + session id), base64url. It goes in a
 *   hidden `_csrf` field of every form and is compared in constant time on every POST.
 */
import type { Context } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { base64url, base64ToBytes, secretsEqual } from "../lib/crypto";
import type { AdminActor } from "../lib/hono";

export const SESSION_COOKIE = "ts_console";
/** `__Secure-` prefix: browsers accept the cookie only with the Secure flag from a secure origin. */
const COOKIE_PREFIX = "secure" as const;
export const SESSION_SECONDS = 8 * 60 * 60;
/** A customer IT admin's session from a setup link: long enough to connect the IdP, no longer. */
export const SCOPED_SESSION_SECONDS = 60 * 60;
export const CONSOLE_PATH = "/admin";

/** What a session may reach: every tenant (the operator), or one tenant's pages (a setup-link session). */
export type SessionScope = { kind: "operator" } | { kind: "tenant"; tenantId: string; slug: string; returnUrl?: string };

export interface SessionGrant {
  scope: SessionScope;
  actor: AdminActor;
}

export interface ConsoleSession extends SessionGrant {
  id: string;
  expiresAt: number;
  csrfToken: string;
}

export const OPERATOR_GRANT: SessionGrant = { scope: { kind: "operator" }, actor: { type: "console" } };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function hmac(key: BufferSource, message: string): Promise<ArrayBuffer> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message));
}

/** The console's signing key: derived from ADMIN_TOKEN, never the token itself. */
export async function sessionKey(adminToken: string): Promise<ArrayBuffer> {
  return hmac(encoder.encode(adminToken), "thestorage console session v1");
}

async function csrfFor(key: ArrayBuffer, sessionId: string): Promise<string> {
  return base64url(await hmac(key, `csrf.${sessionId}`));
}

function lifetimeSeconds(scope: SessionScope): number {
  return scope.kind === "tenant" ? SCOPED_SESSION_SECONDS : SESSION_SECONDS;
}

const cookieOptions = {
  path: CONSOLE_PATH,
  httpOnly: true,
  secure: true,
  sameSite: "Strict" as const,
  prefix: COOKIE_PREFIX,
};

/**
 * A setup link is usually opened from another site (an email, TheStorage's own app): browsers do not
 * send a SameSite=Strict cookie on the redirect that follows a cross-site navigation, so a scoped
 * session is Lax. Its POSTs are still guarded by the Origin check and the CSRF token.
 */
function cookieOptionsFor(scope: SessionScope) {
  return scope.kind === "tenant" ? { ...cookieOptions, sameSite: "Lax" as const } : cookieOptions;
}

function encodeGrant(grant: SessionGrant): string {
  const compact = {
    s: grant.scope.kind === "tenant" ? { t: grant.scope.tenantId, s: grant.scope.slug, ...(grant.scope.returnUrl ? { r: grant.scope.returnUrl } : {}) } : null,
    a: grant.actor,
  };
  return base64url(encoder.encode(JSON.stringify(compact)));
}

function decodeGrant(text: string): SessionGrant | null {
  try {
    const value = JSON.parse(decoder.decode(base64ToBytes(text))) as { s: { t: string; s: string; r?: string } | null; a: AdminActor };
    if (!value || typeof value.a?.type !== "string") return null;
    if (value.s === null) return { scope: { kind: "operator" }, actor: value.a };
    if (typeof value.s?.t !== "string" || typeof value.s?.s !== "string") return null;
    return { scope: { kind: "tenant", tenantId: value.s.t, slug: value.s.s, ...(typeof value.s.r === "string" ? { returnUrl: value.s.r } : {}) }, actor: value.a };
  } catch {
    return null;
  }
}

/** Starts a session: sets the signed cookie and returns the session (with its CSRF token). */
export async function startSession(c: Context, adminToken: string, grant: SessionGrant = OPERATOR_GRANT, now = Date.now()): Promise<ConsoleSession> {
  const key = await sessionKey(adminToken);
  const id = base64url(crypto.getRandomValues(new Uint8Array(18)));
  const seconds = lifetimeSeconds(grant.scope);
  const expiresAt = now + seconds * 1000;
  // An operator signed in with the token keeps the v1 value: nothing to carry beyond the expiry.
  const plain = grant.scope.kind === "operator" && grant.actor.type === "console" && !grant.actor.id && !grant.actor.email;
  const value = plain ? `v1.${id}.${expiresAt}` : `v2.${id}.${expiresAt}.${encodeGrant(grant)}`;
  await setSignedCookie(c, SESSION_COOKIE, value, key, { ...cookieOptionsFor(grant.scope), maxAge: seconds });
  return { id, expiresAt, csrfToken: await csrfFor(key, id), ...grant };
}

/** The session of this request, or null when the cookie is missing, forged, malformed or expired. */
export async function readSession(c: Context, adminToken: string, now = Date.now()): Promise<ConsoleSession | null> {
  const key = await sessionKey(adminToken);
  const value = await getSignedCookie(c, key, SESSION_COOKIE, COOKIE_PREFIX);
  if (typeof value !== "string") return null;
  const match = /^v([12])\.([A-Za-z0-9_-]{24})\.(\d{13,15})(?:\.([A-Za-z0-9_-]{1,3072}))?$/.exec(value);
  if (!match || (match[1] === "1") !== (match[4] === undefined)) return null;
  const grant = match[1] === "1" ? OPERATOR_GRANT : decodeGrant(match[4]!);
  if (!grant) return null;
  const expiresAt = Number(match[3]);
  if (!(expiresAt > now) || expiresAt > now + lifetimeSeconds(grant.scope) * 1000) return null;
  return { id: match[2]!, expiresAt, csrfToken: await csrfFor(key, match[2]!), ...grant };
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions);
}

/** Constant-time comparison of the presented CSRF token with the session's. */
export async function csrfTokenValid(session: ConsoleSession, presented: unknown): Promise<boolean> {
  if (typeof presented !== "string" || presented.length === 0 || presented.length > 200) return false;
  return secretsEqual(presented, session.csrfToken);
}

/**
 * Who the current console request acts as, for the audit trail: `{type:"console"}` after sign-in
 * with the operator token, `{type:"access", email}` for a Cloudflare Access operator, and
 * `{type:"setup-link", id}` (the link's id) in a customer IT admin's session.
 */
export function consoleActor(c: Context): AdminActor {
  const session = c.get("session") as ConsoleSession | undefined;
  return session ? { ...session.actor } : { type: "console" };
}

/**
 * A value handed from a POST to the page it redirects to, once (POST-redirect-GET for a result that
 * is shown once, such as a new setup link): a signed, HttpOnly cookie on that page's path alone,
 * gone after `seconds` or as soon as the page has read it.
 */
const FLASH_COOKIE = "ts_flash";

export async function setFlash(c: Context, adminToken: string, path: string, value: unknown, seconds = 120): Promise<void> {
  await setSignedCookie(c, FLASH_COOKIE, base64url(encoder.encode(JSON.stringify(value))), await sessionKey(adminToken), { ...cookieOptions, path, maxAge: seconds });
}

export async function takeFlash<T>(c: Context, adminToken: string, path: string): Promise<T | undefined> {
  const raw = await getSignedCookie(c, await sessionKey(adminToken), FLASH_COOKIE, COOKIE_PREFIX);
  if (raw === undefined) return undefined;
  deleteCookie(c, FLASH_COOKIE, { ...cookieOptions, path });
  if (typeof raw !== "string") return undefined;
  try {
    return JSON.parse(decoder.decode(base64ToBytes(raw))) as T;
  } catch {
    return undefined;
  }
}

/**
 * Console sessions and CSRF tokens, with Web Crypto only and no server-side state.
 *
 * - The session cookie holds `v1.<session id>.<expiry ms>`, signed with HMAC-SHA256 (hono/cookie's
 *   signed cookies) under a key derived from ADMIN_TOKEN: HMAC-SHA256(ADMIN_TOKEN, "thestorage
 *   console session v1"). Rotating ADMIN_TOKEN changes the key, so every session stops verifying.
 *   The expiry is inside the signed value: a replayed old cookie is refused even if the browser
 *   kept it past Max-Age.
 * - The CSRF token of a session is HMAC-SHA256(key, "csrf." + session id), base64url. It goes in a
 *   hidden `_csrf` field of every form and is compared in constant time on every POST.
 */
import type { Context } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { base64url, secretsEqual } from "../lib/crypto";

export const SESSION_COOKIE = "ts_console";
/** `__Secure-` prefix: browsers accept the cookie only with the Secure flag from a secure origin. */
const COOKIE_PREFIX = "secure" as const;
export const SESSION_SECONDS = 8 * 60 * 60;
export const CONSOLE_PATH = "/admin";

export interface ConsoleSession {
  id: string;
  expiresAt: number;
  csrfToken: string;
}

const encoder = new TextEncoder();

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

const cookieOptions = {
  path: CONSOLE_PATH,
  httpOnly: true,
  secure: true,
  sameSite: "Strict" as const,
  prefix: COOKIE_PREFIX,
};

/** Starts a session: sets the signed cookie and returns the session (with its CSRF token). */
export async function startSession(c: Context, adminToken: string, now = Date.now()): Promise<ConsoleSession> {
  const key = await sessionKey(adminToken);
  const id = base64url(crypto.getRandomValues(new Uint8Array(18)));
  const expiresAt = now + SESSION_SECONDS * 1000;
  await setSignedCookie(c, SESSION_COOKIE, `v1.${id}.${expiresAt}`, key, { ...cookieOptions, maxAge: SESSION_SECONDS });
  return { id, expiresAt, csrfToken: await csrfFor(key, id) };
}

/** The session of this request, or null when the cookie is missing, forged, malformed or expired. */
export async function readSession(c: Context, adminToken: string, now = Date.now()): Promise<ConsoleSession | null> {
  const key = await sessionKey(adminToken);
  const value = await getSignedCookie(c, key, SESSION_COOKIE, COOKIE_PREFIX);
  if (typeof value !== "string") return null;
  const match = /^v1\.([A-Za-z0-9_-]{24})\.(\d{13,15})$/.exec(value);
  if (!match) return null;
  const expiresAt = Number(match[2]);
  if (!(expiresAt > now) || expiresAt > now + SESSION_SECONDS * 1000) return null;
  return { id: match[1], expiresAt, csrfToken: await csrfFor(key, match[1]) };
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions);
}

/** Constant-time comparison of the presented CSRF token with the session's. */
export async function csrfTokenValid(session: ConsoleSession, presented: unknown): Promise<boolean> {
  if (typeof presented !== "string" || presented.length === 0 || presented.length > 200) return false;
  return secretsEqual(presented, session.csrfToken);
}

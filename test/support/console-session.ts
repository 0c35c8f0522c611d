/** Driving the admin console over HTTP: form posts with the session cookie and CSRF token. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../../src/index";
import { admin, ADMIN_TOKEN, ORIGIN, randomIp } from "./harness";

/** The client IP every console request here comes from (the audit trail records it). */
export const CONSOLE_IP = "198.51.100.7";

export interface Page {
  status: number;
  headers: Headers;
  text: string;
}

export interface ConsoleSession {
  cookie: string;
  csrf: string;
}

/**
 * A console request; with `waitUntil`, background work the request started has finished when this returns.
 * It comes from CONSOLE_IP unless `ip` says otherwise (null: no CF-Connecting-IP header at all).
 * A form may repeat a field (`[["events", "a"], ["events", "b"]]`).
 */
export async function send(
  method: string,
  path: string,
  options: { cookie?: string; form?: Record<string, string> | string[][]; waitUntil?: boolean; ip?: string | null; headers?: Record<string, string> } = {},
): Promise<Page> {
  const headers = new Headers(options.headers);
  if (options.ip !== null) headers.set("CF-Connecting-IP", options.ip ?? CONSOLE_IP);
  if (options.cookie) headers.set("Cookie", options.cookie);
  let body: string | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers.set("Content-Type", "application/x-www-form-urlencoded");
    headers.set("Origin", ORIGIN);
  }
  const req = new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" });
  let response: Response;
  if (options.waitUntil) {
    const ctx = createExecutionContext();
    response = await worker.fetch(req, env, ctx);
    await waitOnExecutionContext(ctx);
  } else {
    response = await exports.default.fetch(req);
  }
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error("no CSRF field on the page");
  return match[1]!;
}

export async function signIn(): Promise<ConsoleSession> {
  const res = await send("POST", "/admin/sign-in", { form: { token: ADMIN_TOKEN } });
  expect(res.status).toBe(303);
  const cookie = res.headers.get("Set-Cookie")!.split(";")[0]!;
  const page = await send("GET", "/admin/tenants", { cookie });
  expect(page.status).toBe(200);
  return { cookie, csrf: csrfOf(page.text) };
}

/** A POST of a console form; the CSRF token is added. */
export function post(session: ConsoleSession, path: string, form: Record<string, string> = {}, options: { waitUntil?: boolean } = {}): Promise<Page> {
  return send("POST", path, { cookie: session.cookie, form: { _csrf: session.csrf, ...form }, ...options });
}

/** Redeems a fresh setup link of `slug`: the IT admin's cookie, CSRF token, IP and landing page. */
export async function itAdminSession(slug: string) {
  const link = await admin("POST", `/tenants/${slug}/setup-links`, {});
  expect(link.status).toBe(201);
  const ip = randomIp();
  const redeemed = await send("GET", new URL(link.body.url).pathname, { ip });
  expect(redeemed.status).toBe(303);
  const cookie = redeemed.headers.get("Set-Cookie")!.split(";")[0]!;
  const page = await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie, ip });
  expect(page.status).toBe(200);
  return { cookie, ip, csrf: csrfOf(page.text), page: page.text };
}

/**
 * Test harness: drives the Worker through its HTTP surface (`exports.default.fetch`) with real D1,
 * Durable Objects and rate-limit bindings. Every helper that creates a tenant uses a fresh slug, so
 * tests never share state by accident.
 */
import { env, exports } from "cloudflare:workers";

export const ORIGIN = "https://scim.test";
export const ADMIN_TOKEN = env.ADMIN_TOKEN!;

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function request<T = any>(method: string, path: string, options: { body?: unknown; rawBody?: BodyInit; headers?: Record<string, string> } = {}): Promise<JsonResponse<T>> {
  const headers = new Headers(options.headers);
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/scim+json; charset=utf-8");
  }
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body }));
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

export function admin<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return request<T>(method, `/admin/v1${path}`, { body, headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, ...headers } });
}

/** A distinct client IP (per test), so the admin throttle's buckets never meet. */
export function randomIp(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `10.${b[0]}.${b[1]}.${b[2]}`;
}

let counter = 0;
export function uniqueSlug(prefix = "t"): string {
  counter += 1;
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}-${counter}`;
}

export interface ScimTenant {
  slug: string;
  token: string;
  base: string;
  /** A SCIM request with this tenant's token (`Authorization: Bearer …`). */
  scim<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<JsonResponse<T>>;
}

/** Creates a tenant (on `database` if given) and switches SCIM on. */
export async function scimTenant(options: { slug?: string; database?: string; provider?: string } = {}): Promise<ScimTenant> {
  const slug = options.slug ?? uniqueSlug();
  const created = await admin("POST", "/tenants", { slug, ...(options.database ? { database: options.database } : {}) });
  if (created.status !== 201) throw new Error(`tenant create failed: ${created.status} ${created.text}`);
  const enabled = await admin("POST", `/tenants/${slug}/scim`, options.provider ? { provider: options.provider } : undefined);
  if (enabled.status !== 201) throw new Error(`scim enable failed: ${enabled.status} ${enabled.text}`);
  const token = enabled.body.token as string;
  const base = `/api/${slug}/scim/v2`;
  return {
    slug,
    token,
    base,
    scim: (method, path, body, headers = {}) => request(method, `${base}${path}`, { body, headers: { Authorization: `Bearer ${token}`, ...headers } }),
  };
}

/** An Okta-shaped user body (okta.md a.1 row 3). */
export function oktaUser(overrides: Record<string, unknown> = {}) {
  const n = crypto.randomUUID().slice(0, 8);
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: `Test.User.${n}@Example.com`,
    name: { givenName: "Test", familyName: `User${n}` },
    emails: [{ primary: true, value: `test.user.${n}@example.com`, type: "work" }],
    displayName: `Test User${n}`,
    locale: "en-US",
    externalId: `00u${n}`,
    groups: [],
    password: "1mz050nq",
    active: true,
    ...overrides,
  };
}

/** The error an RPC call rejects with (awaited here, so no rejection is left unhandled). */
export async function rejection(call: Promise<unknown>): Promise<Error> {
  try {
    await call;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to fail");
}

// The admin console (/admin) over HTTP: session cookie, CSRF and origin checks, security headers,
// one-time token display, and the pages' content. The browser flow is in test/e2e/console.test.ts.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sessionKey } from "../../src/console/session";
import worker from "../../src/index";
import { admin, ADMIN_TOKEN, oktaUser, ORIGIN, request, uniqueSlug } from "../support/harness";

const COOKIE_NAME = "__Secure-ts_console";

interface Page {
  status: number;
  headers: Headers;
  text: string;
}

async function send(method: string, path: string, options: { cookie?: string; form?: Record<string, string>; headers?: Record<string, string>; env?: Partial<Cloudflare.Env> } = {}): Promise<Page> {
  const headers = new Headers(options.headers);
  if (options.cookie) headers.set("Cookie", options.cookie);
  let body: string | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/x-www-form-urlencoded");
    if (!headers.has("Origin")) headers.set("Origin", ORIGIN);
  }
  const req = new Request(`${ORIGIN}${path}`, { method, headers, body, redirect: "manual" });
  let response: Response;
  if (options.env) {
    const ctx = createExecutionContext();
    response = await worker.fetch(req, { ...env, ...options.env }, ctx);
    await waitOnExecutionContext(ctx);
  } else {
    response = await exports.default.fetch(req);
  }
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Signs in; returns the Cookie header value and the session's CSRF token (read from a page). */
async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const res = await send("POST", "/admin/sign-in", { form: { token: ADMIN_TOKEN } });
  expect(res.status).toBe(303);
  const setCookie = res.headers.get("Set-Cookie")!;
  const cookie = setCookie.split(";")[0]!;
  const page = await send("GET", "/admin/tenants", { cookie });
  expect(page.status).toBe(200);
  return { cookie, csrf: csrfOf(page.text) };
}

function csrfOf(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error("no CSRF field on the page");
  return match[1]!;
}

function tokensIn(html: string): string[] {
  return html.match(/tsscim_[A-Za-z0-9_-]{43}/g) ?? [];
}

/** A cookie value signed like hono/cookie does, under the key derived from `adminToken`. */
async function signedCookie(value: string, adminToken = ADMIN_TOKEN): Promise<string> {
  const key = await crypto.subtle.importKey("raw", await sessionKey(adminToken), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(value)))));
  return `${COOKIE_NAME}=${encodeURIComponent(`${value}.${signature}`)}`;
}

async function createTenantViaConsole(session: { cookie: string; csrf: string }, slug = uniqueSlug("con")) {
  const res = await send("POST", "/admin/tenants", { cookie: session.cookie, form: { _csrf: session.csrf, slug, name: `Console ${slug}`, database: "TENANT_DEFAULT" } });
  expect(res.status).toBe(303);
  expect(res.headers.get("Location")).toBe(`/admin/tenants/${slug}/provisioning?created=1`);
  return slug;
}

describe("console: headers", () => {
  it("serves pages with a strict CSP, no-store and frame denial", async () => {
    const { cookie } = await signIn();
    for (const page of [await send("GET", "/admin/sign-in"), await send("GET", "/admin/tenants", { cookie })]) {
      expect(page.status).toBe(200);
      expect(page.headers.get("Content-Type")).toMatch(/^text\/html/);
      const csp = page.headers.get("Content-Security-Policy")!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(csp).toContain("base-uri 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("unsafe-eval");
      expect(page.headers.get("Cache-Control")).toBe("no-store");
      expect(page.headers.get("X-Frame-Options")).toBe("DENY");
      expect(page.headers.get("X-Content-Type-Options")).toBe("nosniff");
      // No inline script or style anywhere.
      expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(page.text).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
    }
  });

  it("serves the script and stylesheet as static assets", async () => {
    const css = await send("GET", "/admin/assets/console.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("Content-Type")).toMatch(/^text\/css/);
    const js = await send("GET", "/admin/assets/console.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("Content-Type")).toMatch(/^text\/javascript/);
    expect(js.text).toContain("showModal");
  });

  it("keeps /admin/v1 as the JSON API and renders console errors as HTML", async () => {
    const api = await request("GET", "/admin/v1/nowhere", { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(api.status).toBe(404);
    expect(api.headers.get("Content-Type")).toBe("application/problem+json");
    const listed = await admin("GET", "/tenants");
    expect(listed.status).toBe(200);
    const { cookie } = await signIn();
    const missing = await send("GET", "/admin/nowhere", { cookie });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("Content-Type")).toMatch(/^text\/html/);
    const noTenant = await send("GET", "/admin/tenants/no-such-tenant/users", { cookie });
    expect(noTenant.status).toBe(404);
    expect(noTenant.text).toContain("No tenant with slug");
    expect(noTenant.headers.get("Content-Security-Policy")).toContain("default-src 'self'");
  });
});

describe("console: sign-in and session", () => {
  it("sets a signed, HttpOnly, Secure, SameSite=Strict session cookie scoped to /admin", async () => {
    const res = await send("POST", "/admin/sign-in", { form: { token: ADMIN_TOKEN } });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/admin/tenants");
    const cookie = res.headers.get("Set-Cookie")!;
    expect(cookie).toMatch(new RegExp(`^${COOKIE_NAME}=`));
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*Secure/i);
    expect(cookie).toMatch(/;\s*SameSite=Strict/i);
    expect(cookie).toMatch(/;\s*Path=\/admin(;|$)/);
    expect(cookie).toMatch(/;\s*Max-Age=28800/);
    // The token is in neither the cookie nor the redirect.
    expect(cookie).not.toContain(ADMIN_TOKEN);
    expect(res.headers.get("Location")).not.toContain(ADMIN_TOKEN);
  });

  it("sets no cookie for a wrong or empty token", async () => {
    for (const token of ["wrong-token", "", ` ${ADMIN_TOKEN}x`]) {
      const res = await send("POST", "/admin/sign-in", { form: { token } });
      expect(res.status).toBe(401);
      expect(res.headers.get("Set-Cookie")).toBeNull();
      expect(res.text).toContain("not the admin token");
      expect(res.text).not.toContain(ADMIN_TOKEN);
    }
  });

  it("redirects to sign-in without a cookie, or with a forged, unsigned, malformed or expired one", async () => {
    const { cookie } = await signIn();
    const [name, value] = [cookie.slice(0, cookie.indexOf("=")), decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1))];
    const sig = value.slice(value.lastIndexOf(".") + 1);
    const sessionValue = value.slice(0, value.lastIndexOf("."));
    const future = Date.now() + 3_600_000;
    const bad = [
      undefined,
      `${name}=${encodeURIComponent(sessionValue)}`, // unsigned
      `${name}=${encodeURIComponent(`${sessionValue.replace(/\d+$/, String(future + 1))}.${sig}`)}`, // value changed, old signature
      `${name}=${encodeURIComponent(`${sessionValue}.${"A".repeat(43)}=`)}`, // forged signature
      `ts_console=${encodeURIComponent(value)}`, // without the __Secure- prefix
      await signedCookie(`v1.${"a".repeat(24)}.${Date.now() - 1000}`), // expired, correctly signed
      await signedCookie(`v1.${"a".repeat(24)}.${Date.now() + 30 * 86_400_000}`), // expiry beyond the 8 h lifetime
      await signedCookie(`admin.${future}`), // malformed, correctly signed
      await signedCookie(`v1.${"a".repeat(24)}.${future}`, "some-other-admin-token"), // signed under another ADMIN_TOKEN
    ];
    for (const attempt of bad) {
      const res = await send("GET", "/admin/tenants", { cookie: attempt });
      expect(res.status, attempt).toBe(303);
      expect(res.headers.get("Location")).toBe("/admin/sign-in");
    }
    const good = await send("GET", "/admin/tenants", { cookie: await signedCookie(`v1.${"a".repeat(24)}.${future}`) });
    expect(good.status).toBe(200);
  });

  it("invalidates sessions when ADMIN_TOKEN rotates, and says the console is disabled when it is unset", async () => {
    const { cookie } = await signIn();
    const rotated = await send("GET", "/admin/tenants", { cookie, env: { ADMIN_TOKEN: "a-rotated-admin-token-0123456789" } });
    expect(rotated.status).toBe(303);
    expect(rotated.headers.get("Location")).toBe("/admin/sign-in");
    for (const unset of [undefined, ""]) {
      const page = await send("GET", "/admin/sign-in", { env: { ADMIN_TOKEN: unset } });
      expect(page.status).toBe(503);
      expect(page.text).toContain("console is disabled");
      const refused = await send("POST", "/admin/sign-in", { form: { token: "anything" }, env: { ADMIN_TOKEN: unset } });
      expect(refused.status).toBe(503);
      expect(refused.headers.get("Set-Cookie")).toBeNull();
      const tenants = await send("GET", "/admin/tenants", { cookie, env: { ADMIN_TOKEN: unset } });
      expect(tenants.status).toBe(503);
    }
  });

  it("signs out by clearing the cookie (POST with the CSRF token)", async () => {
    const session = await signIn();
    const res = await send("POST", "/admin/sign-out", { cookie: session.cookie, form: { _csrf: session.csrf } });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/admin/sign-in?signed-out=1");
    const cleared = res.headers.get("Set-Cookie")!;
    expect(cleared).toMatch(new RegExp(`^${COOKIE_NAME}=;`));
    expect(cleared).toMatch(/Max-Age=0/);
    expect(cleared).toMatch(/Path=\/admin/);
  });
});

describe("console: CSRF and origin checks", () => {
  it("refuses a POST without, or with a wrong, CSRF token: 403 and nothing created", async () => {
    const session = await signIn();
    const other = await signIn();
    expect(other.csrf).not.toBe(session.csrf);
    for (const form of [{} as Record<string, string>, { _csrf: "" }, { _csrf: "x".repeat(43) }, { _csrf: other.csrf }]) {
      const slug = uniqueSlug("csrf");
      const res = await send("POST", "/admin/tenants", { cookie: session.cookie, form: { ...form, slug } });
      expect(res.status).toBe(403);
      expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
      expect((await admin("GET", `/tenants/${slug}`)).status).toBe(404);
    }
  });

  it("refuses cross-origin POSTs even with a valid CSRF token", async () => {
    const session = await signIn();
    const attempts: Record<string, string>[] = [
      { Origin: "https://evil.example" },
      { Origin: "null" },
      { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" },
      { Origin: "", "Sec-Fetch-Site": "same-site" },
    ];
    for (const headers of attempts) {
      const slug = uniqueSlug("xorigin");
      const res = await send("POST", "/admin/tenants", { cookie: session.cookie, form: { _csrf: session.csrf, slug }, headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect((await admin("GET", `/tenants/${slug}`)).status).toBe(404);
    }
    // Sign-in is origin-checked too.
    const foreignSignIn = await send("POST", "/admin/sign-in", { form: { token: ADMIN_TOKEN }, headers: { Origin: "https://evil.example" } });
    expect(foreignSignIn.status).toBe(403);
    expect(foreignSignIn.headers.get("Set-Cookie")).toBeNull();
  });

  it("refuses a POST whose CSRF token belongs to a session signed out or never started", async () => {
    const slug = uniqueSlug("nosession");
    const res = await send("POST", "/admin/tenants", { form: { _csrf: "anything", slug } });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/admin/sign-in");
    expect((await admin("GET", `/tenants/${slug}`)).status).toBe(404);
  });
});

describe("console: tenants", () => {
  it("creates a tenant, and shows validation errors inline", async () => {
    const session = await signIn();
    const empty = await send("GET", "/admin/tenants", { cookie: session.cookie });
    expect(empty.text).toContain("Create a tenant");
    const bad = await send("POST", "/admin/tenants", { cookie: session.cookie, form: { _csrf: session.csrf, slug: "Bad_Slug", name: "x" } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("lower-case letters");
    expect(bad.text).toContain('value="Bad_Slug"');
    expect(bad.text).toContain('aria-invalid="true"');
    const slug = await createTenantViaConsole(session);
    const dup = await send("POST", "/admin/tenants", { cookie: session.cookie, form: { _csrf: session.csrf, slug } });
    expect(dup.status).toBe(409);
    expect(dup.text).toContain("is taken");
    const db = await send("POST", "/admin/tenants", { cookie: session.cookie, form: { _csrf: session.csrf, slug: uniqueSlug("db"), database: "TENANT_NOPE" } });
    expect(db.status).toBe(400);
    expect(db.text).toContain("not a tenant D1 binding");
    const read = await admin("GET", `/tenants/${slug}`);
    expect(read.body).toMatchObject({ slug, name: `Console ${slug}`, database: "TENANT_DEFAULT", scim: { enabled: false } });
    const list = await send("GET", "/admin/tenants", { cookie: session.cookie });
    expect(list.text).toContain(slug);
    expect(list.text).toContain("TENANT_DEMO");
  });
});

describe("console: the SCIM switch and the one-time token", () => {
  it("shows the token only in the enable/regenerate POST response, never on a later page", async () => {
    const session = await signIn();
    const slug = await createTenantViaConsole(session);
    const base = `/admin/tenants/${slug}/provisioning`;

    const off = await send("GET", base, { cookie: session.cookie });
    expect(off.text).toContain("SCIM is off");
    expect(off.text).toContain("Connect your identity provider"); // no provider chosen yet

    const enabled = await send("POST", `${base}/enable`, { cookie: session.cookie, form: { _csrf: session.csrf, provider: "okta" } });
    expect(enabled.status).toBe(200);
    expect(enabled.headers.get("Cache-Control")).toBe("no-store");
    expect(enabled.headers.get("Location")).toBeNull();
    const [token, ...more] = tokensIn(enabled.text);
    expect(token).toBeDefined();
    expect(more).toEqual([]); // rendered once, in the dialog
    expect(enabled.text).toContain("shown once");
    expect(enabled.text).toContain(`${ORIGIN}/api/${slug}/scim/v2`);
    expect(enabled.text).toContain('data-copy="token-value"');
    expect(enabled.text).toMatch(/<dialog[^>]*id="token-dialog"/);

    const after = await send("GET", base, { cookie: session.cookie });
    expect(tokensIn(after.text)).toEqual([]);
    expect(after.text).not.toContain(token!);
    expect(after.text).toContain(`${token!.slice(0, 12)}…`);
    expect(after.text).toContain("SCIM is on");
    for (const page of ["/admin/tenants", `/admin/tenants/${slug}/users`, `/admin/tenants/${slug}/log`]) {
      expect((await send("GET", page, { cookie: session.cookie })).text).not.toContain(token!);
    }

    const scim = (t: string) => request("GET", `/api/${slug}/scim/v2/Users`, { headers: { Authorization: `Bearer ${t}` } });
    expect((await scim(token!)).status).toBe(200);

    // Enabling again is a conflict, and shows no token.
    const again = await send("POST", `${base}/enable`, { cookie: session.cookie, form: { _csrf: session.csrf } });
    expect(again.status).toBe(409);
    expect(tokensIn(again.text)).toEqual([]);

    const confirm = await send("GET", `${base}/regenerate`, { cookie: session.cookie });
    expect(confirm.text).toContain("stops working at once");
    const regenerated = await send("POST", `${base}/regenerate`, { cookie: session.cookie, form: { _csrf: session.csrf } });
    expect(regenerated.status).toBe(200);
    const [fresh] = tokensIn(regenerated.text);
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(token);
    expect(regenerated.text).not.toContain(token!);
    expect((await scim(token!)).status).toBe(401);
    expect((await scim(fresh!)).status).toBe(200);
    expect((await send("GET", base, { cookie: session.cookie })).text).not.toContain(fresh!);

    const disabled = await send("POST", `${base}/disable`, { cookie: session.cookie, form: { _csrf: session.csrf } });
    expect(disabled.status).toBe(303);
    expect(disabled.headers.get("Location")).toBe(`${base}?off=1`);
    expect((await scim(fresh!)).status).toBe(401);
    expect((await admin("GET", `/tenants/${slug}`)).body.scim.enabled).toBe(false);
  });

  it("does not change the token when the regenerate POST lacks the CSRF token", async () => {
    const session = await signIn();
    const slug = await createTenantViaConsole(session);
    const base = `/admin/tenants/${slug}/provisioning`;
    await send("POST", `${base}/enable`, { cookie: session.cookie, form: { _csrf: session.csrf } });
    const before = (await admin("GET", `/tenants/${slug}`)).body.scim.tokenPrefix;
    const res = await send("POST", `${base}/regenerate`, { cookie: session.cookie, form: {} });
    expect(res.status).toBe(403);
    expect(tokensIn(res.text)).toEqual([]);
    expect((await admin("GET", `/tenants/${slug}`)).body.scim.tokenPrefix).toBe(before);
    const off = await send("POST", `${base}/disable`, { cookie: session.cookie, form: { _csrf: "nope" } });
    expect(off.status).toBe(403);
    expect((await admin("GET", `/tenants/${slug}`)).body.scim.enabled).toBe(true);
  });
});

describe("console: users, groups and the log", () => {
  it("lists provisioned users with origin badge and status, a user page, the avatar form and the log", async () => {
    const session = await signIn();
    const slug = await createTenantViaConsole(session);
    const users = `/admin/tenants/${slug}/users`;
    expect((await send("GET", users, { cookie: session.cookie })).text).toContain("SCIM is off");
    const enabled = await send("POST", `/admin/tenants/${slug}/provisioning/enable`, { cookie: session.cookie, form: { _csrf: session.csrf, provider: "okta" } });
    const [token] = tokensIn(enabled.text);
    expect((await send("GET", users, { cookie: session.cookie })).text).toContain("assign users to the app in Okta".replace(/^a/, "A"));

    const scim = (method: string, path: string, body?: unknown) => request(method, `/api/${slug}/scim/v2${path}`, { body, headers: { Authorization: `Bearer ${token}` } });
    const body = oktaUser({ displayName: "Ada Lovelace" });
    const created = await scim("POST", "/Users", body);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await scim("PATCH", `/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] })).status).toBe(200);
    expect((await scim("POST", "/Users", body)).status).toBe(409); // a refused write, for the log

    const list = await send("GET", users, { cookie: session.cookie });
    expect(list.text).toContain("Ada Lovelace");
    expect(list.text).toContain(">Okta</span>");
    expect(list.text).toContain('title="Provisioned by Okta over SCIM."');
    expect(list.text).not.toContain("identity flow"); // sign-in is not this service's, and not promised
    expect(list.text).toContain("Deactivated");
    const search = await send("GET", `${users}?q=lovelace`, { cookie: session.cookie });
    expect(search.text).toContain("Ada Lovelace");
    const none = await send("GET", `${users}?q=nobody-here`, { cookie: session.cookie });
    expect(none.text).toContain("No matching users");

    const page = await send("GET", `${users}/${id}`, { cookie: session.cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain(body.userName as string);
    expect(page.text).toContain("user.deactivate");
    expect(page.text).toContain("urn:ietf:params:scim:schemas:core:2.0:User");
    expect(page.text).toContain("Not in any group");

    const badAvatar = await send("POST", `${users}/${id}/avatar`, { cookie: session.cookie, form: { _csrf: session.csrf, avatarUrl: "javascript:alert(1)" } });
    expect(badAvatar.status).toBe(400);
    expect(badAvatar.text).toContain("must be an https:// URL");
    // http:// is refused with the reason (it used to be saved, then shown as initials).
    const httpAvatar = await send("POST", `${users}/${id}/avatar`, { cookie: session.cookie, form: { _csrf: session.csrf, avatarUrl: "http://img.example/ada.png" } });
    expect(httpAvatar.status).toBe(400);
    expect(httpAvatar.text).toContain("must use https://");
    expect((await scim("GET", `/Users/${id}`)).body.photos).toBeUndefined();
    const avatar = await send("POST", `${users}/${id}/avatar`, { cookie: session.cookie, form: { _csrf: session.csrf, avatarUrl: "https://img.example/ada.png" } });
    expect(avatar.status).toBe(303);
    expect((await scim("GET", `/Users/${id}`)).body.photos).toEqual([{ value: "https://img.example/ada.png", type: "photo" }]);
    expect((await send("GET", users, { cookie: session.cookie })).text).toContain('src="https://img.example/ada.png"');
    const cleared = await send("POST", `${users}/${id}/avatar`, { cookie: session.cookie, form: { _csrf: session.csrf, avatarUrl: "", clear: "1" } });
    expect(cleared.status).toBe(303);
    expect((await scim("GET", `/Users/${id}`)).body.photos).toBeUndefined();

    const log = await send("GET", `/admin/tenants/${slug}/log`, { cookie: session.cookie });
    expect(log.text).toContain('<td class="mono">user.create</td>');
    expect(log.text).toContain("user.deactivate");
    expect(log.text).toContain("user.avatar");
    expect(log.text).toContain("✕ Refused");
    expect(log.text).toMatch(/<tr class="failure">/);
    expect(log.text).toContain(`${token!.slice(0, 12)}…`);
    expect(log.text).not.toContain(token!);
    const failures = await send("GET", `/admin/tenants/${slug}/log?outcome=failure`, { cookie: session.cookie });
    expect(failures.text).toContain("✕ Refused");
    expect(failures.text).not.toContain("✓ OK");
    const creates = await send("GET", `/admin/tenants/${slug}/log?action=user.deactivate`, { cookie: session.cookie });
    expect(creates.text).toContain("user.deactivate");
    expect(creates.text).not.toContain('<td class="mono">user.create</td>');
    const older = await send("GET", `/admin/tenants/${slug}/log?before=1`, { cookie: session.cookie });
    expect(older.text).toContain("No older events");

    const groups = await send("GET", `/admin/tenants/${slug}/groups`, { cookie: session.cookie });
    expect(groups.status).toBe(200);
    expect(groups.text).toContain("No groups yet");
  });
});

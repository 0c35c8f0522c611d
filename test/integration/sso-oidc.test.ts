/**
 * Sign-in through the customer's IdP over OpenID Connect (design.md §4e), through the Worker's HTTP
 * surface with real D1, against a stand-in OpenID Provider (test/support/idp.ts). Every security rule
 * has a test here that fails without it.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../../src/index";
import { afterAll, describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret } from "../../src/events/secret-box";
import { attemptKey } from "../../src/sso/service";
import { admin, oktaUser, rejection, scimTenant, uniqueSlug, type ScimTenant } from "../support/harness";
import { StandInIdp, type IdTokenTweaks } from "../support/idp";

const ORIGIN = "https://scim.test";
const APP = "https://app.thestorage.test";
const RETURN_TO = `${APP}/signed-in?next=%2Fhome`;

const idps: StandInIdp[] = [];
afterAll(() => idps.forEach((idp) => idp.dispose()));

async function newIdp(options: { origin?: string } = {}) {
  const idp = await StandInIdp.create(options);
  idps.push(idp);
  return idp;
}

interface Raw {
  status: number;
  headers: Headers;
  text: string;
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Raw> {
  const response = await exports.default.fetch(new Request(path.startsWith("http") ? path : `${ORIGIN}${path}`, { headers, redirect: "manual" }));
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** The attempt cookie a `start` answer sets, as a browser would send it back ("name=value"). */
function cookieOf(response: Raw): string {
  const setCookie = response.headers.get("set-cookie") ?? "";
  const pair = setCookie.split(";")[0]!;
  expect(pair).toMatch(/^__Secure-ts_sso_[A-Za-z0-9_-]+=/);
  return pair;
}

async function tenantWithSso(idp: StandInIdp, extra: Record<string, unknown> = {}, options: { scim?: boolean } = {}) {
  let t: ScimTenant | { slug: string; scim: ScimTenant["scim"] };
  if (options.scim === false) {
    const slug = uniqueSlug("sso");
    expect((await admin("POST", "/tenants", { slug })).status).toBe(201);
    t = { slug, scim: () => Promise.reject(new Error("SCIM is off")) };
  } else {
    t = await scimTenant();
  }
  const saved = await admin("PUT", `/tenants/${t.slug}/sso`, idp.connection(extra));
  expect(saved.status, saved.text).toBe(200);
  return t;
}

async function provision(t: { scim: ScimTenant["scim"] }, overrides: Record<string, unknown> = {}) {
  const created = await t.scim("POST", "/Users", oktaUser(overrides));
  expect(created.status, created.text).toBe(201);
  return created.body as { id: string; userName: string; externalId: string };
}

/** start → IdP → callback, as a browser; `claims` are what the IdP puts in the ID token. */
async function signIn(slug: string, idp: StandInIdp, claims: Record<string, unknown>, options: { returnTo?: string; tweaks?: IdTokenTweaks } = {}) {
  const start = await get(`/api/${slug}/sso/start?return_to=${encodeURIComponent(options.returnTo ?? RETURN_TO)}`);
  expect(start.status, start.text).toBe(302);
  const cookie = cookieOf(start);
  const callbackUrl = idp.authorize(start.headers.get("location")!, claims, options.tweaks);
  const callback = await get(callbackUrl, { Cookie: cookie });
  return { start, cookie, callbackUrl, callback };
}

function ticketOf(callback: Raw): string {
  expect(callback.status, callback.text).toBe(303);
  const location = new URL(callback.headers.get("location")!);
  const ticket = location.searchParams.get("ticket")!;
  expect(ticket).toMatch(/^tssi_[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/);
  return ticket;
}

async function logOf(slug: string, action = "sso.sign_in") {
  const events = await admin("GET", `/tenants/${slug}/events?limit=50`);
  return (events.body.events as any[]).filter((e) => e.action === action);
}

function roundTrips(response: Raw): number {
  const m = /storage;dur=[\d.]+;desc="rt=(\d+)"/.exec(response.headers.get("server-timing") ?? "");
  expect(m, "Server-Timing storage metric").not.toBeNull();
  return Number(m![1]);
}

describe("the connection (admin API)", () => {
  it("saves after reading discovery and JWKS, answers the values to paste, never the secret, and keeps the secret encrypted", async () => {
    const idp = await newIdp();
    const t = await scimTenant();
    const saved = await admin("PUT", `/tenants/${t.slug}/sso`, idp.connection({ defaultReturnTo: `${APP}/home` }));
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body).toMatchObject({
      protocol: "oidc",
      enabled: true,
      issuer: idp.issuer,
      clientId: idp.clientId,
      jit: false,
      defaultReturnTo: `${APP}/home`,
      redirectUri: `${ORIGIN}/api/${t.slug}/sso/oidc/callback`,
      initiateLoginUri: `${ORIGIN}/api/${t.slug}/sso/oidc/initiate`,
      acsUrl: `${ORIGIN}/api/${t.slug}/sso/saml/acs`,
      spEntityId: `${ORIGIN}/api/${t.slug}/sso/saml/metadata`,
      metadataUrl: `${ORIGIN}/api/${t.slug}/sso/saml/metadata`,
    });
    expect(saved.text).not.toContain(idp.clientSecret);
    expect(idp.calls).toEqual(expect.arrayContaining(["/.well-known/openid-configuration", "/keys"]));

    const read = await admin("GET", `/tenants/${t.slug}/sso`);
    expect(read.status).toBe(200);
    expect(read.body.issuer).toBe(idp.issuer);
    expect(read.text).not.toContain(idp.clientSecret);

    const stored = await env.CONTROL_DB.prepare("SELECT s.* FROM sso_connections s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = ?").bind(t.slug).first<Record<string, string>>();
    expect(JSON.stringify(stored)).not.toContain(idp.clientSecret);
    expect(stored!.client_secret_ciphertext).toMatch(/^v1\./);

    // A save without the secret keeps it: sign-in still authenticates to the token endpoint.
    const updated = await admin("PUT", `/tenants/${t.slug}/sso`, { protocol: "oidc", issuer: idp.issuer, clientId: idp.clientId });
    expect(updated.status, updated.text).toBe(200);
    const user = await provision(t);
    const { callback } = await signIn(t.slug, idp, { sub: user.externalId });
    ticketOf(callback);

    const audit = await logOf(t.slug, "sso.configure");
    expect(audit.length).toBe(2);

    expect((await admin("DELETE", `/tenants/${t.slug}/sso`)).status).toBe(204);
    expect((await admin("GET", `/tenants/${t.slug}/sso`)).status).toBe(404);
    expect((await admin("DELETE", `/tenants/${t.slug}/sso`)).status).toBe(404);
  });

  it("refuses with a 400 that says what is wrong: unreadable discovery, issuer mismatch, no JWKS, bad signing algorithms, http issuer, SAML, missing fields", async () => {
    const idp = await newIdp();
    const t = await scimTenant();
    const put = (body: unknown) => admin("PUT", `/tenants/${t.slug}/sso`, body);

    const unreachable = await put({ ...idp.connection(), issuer: `${idp.origin}/nothing-here` });
    expect(unreachable.status).toBe(400);
    expect(unreachable.headers.get("content-type")).toContain("application/problem+json");
    expect(unreachable.body.detail).toMatch(/discovery document .* could not be read/);

    idp.discoveryOverride = { ...idp.discovery(), issuer: "https://someone-else.example" };
    const mismatch = await put(idp.connection());
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.detail).toMatch(/discovery document/);

    idp.discoveryOverride = { ...idp.discovery(), id_token_signing_alg_values_supported: ["HS256"] };
    const hs = await put(idp.connection());
    expect(hs.status).toBe(400);
    expect(hs.body.detail).toMatch(/HS256.*only RS256 or ES256/);
    idp.discoveryOverride = undefined;

    idp.jwksOverride = { nope: true };
    const noKeys = await put(idp.connection());
    expect(noKeys.status).toBe(400);
    expect(noKeys.body.detail).toMatch(/JWKS .* not a JWK set/);
    idp.jwksOverride = { keys: [{ kty: "oct", k: "abc" }] };
    const symmetric = await put(idp.connection());
    expect(symmetric.status).toBe(400);
    expect(symmetric.body.detail).toMatch(/no RSA or P-256 signing key/);
    idp.jwksOverride = undefined;

    const http = await put({ ...idp.connection(), issuer: "http://idp.example.com" });
    expect(http.status).toBe(400);
    expect(http.body.detail).toMatch(/issuer: .*https:\/\//);

    const saml = await put({ protocol: "saml", metadataXml: "<x/>" });
    expect(saml.status).toBe(400);
    expect(saml.body.detail).toMatch(/metadataXml: is not SAML 2.0 IdP metadata/);
    expect((await put({ protocol: "ldap" })).body.detail).toMatch(/protocol: 'ldap' is not a sign-in protocol; use "oidc" or "saml"/);

    expect((await put({ protocol: "oidc", issuer: idp.issuer, clientId: idp.clientId })).body.detail).toMatch(/clientSecret/);
    expect((await put({ protocol: "oidc", clientId: "x", clientSecret: "y" })).body.detail).toMatch(/issuer/);
    expect((await put({ ...idp.connection(), defaultReturnTo: "https://evil.example/" })).body.detail).toMatch(/defaultReturnTo: .*SIGN_IN_RETURN_ORIGINS/);
    expect((await admin("GET", `/tenants/${t.slug}/sso`)).status).toBe(404); // nothing half-written
  });

  it("accepts an http:// loopback issuer only on a local run (tests run as local: WEBHOOK_ALLOW_LOOPBACK)", async () => {
    const idp = await newIdp({ origin: `http://127.0.0.1:${20000 + Math.floor(Math.random() * 20000)}` });
    const t = await scimTenant();
    const saved = await admin("PUT", `/tenants/${t.slug}/sso`, idp.connection());
    expect(saved.status, saved.text).toBe(200);
    const user = await provision(t);
    ticketOf((await signIn(t.slug, idp, { sub: user.externalId })).callback);

    // Deployed (not a local run): the same http:// loopback issuer is refused.
    const ctx = createExecutionContext();
    const deployed = await worker.fetch(
      new Request(`${ORIGIN}/admin/v1/tenants/${t.slug}/sso`, { method: "PUT", headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" }, body: JSON.stringify(idp.connection()) }),
      { ...env, WEBHOOK_ALLOW_LOOPBACK: "false" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(deployed.status).toBe(400);
    expect(((await deployed.json()) as any).detail).toMatch(/only for a loopback host on a local run/);
  });
});

describe("sign-in", () => {
  it("start redirects with PKCE S256, state, nonce and scope in one round trip; callback answers 303 with a ticket in two; the ticket redeems once", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t, { externalId: "00uOKTA123" });
    const groupCreated = await t.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering", members: [{ value: user.id }] });
    expect(groupCreated.status).toBe(201);

    const { start, callback } = await signIn(t.slug, idp, { sub: "00uOKTA123", email: "someone@example.com" });
    const authorize = new URL(start.headers.get("location")!);
    expect(authorize.origin + authorize.pathname).toBe(`${idp.origin}/authorize`);
    const q = authorize.searchParams;
    expect(q.get("response_type")).toBe("code");
    expect(q.get("scope")).toBe("openid email profile");
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("state")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get("nonce")).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get("redirect_uri")).toBe(`${ORIGIN}/api/${t.slug}/sso/oidc/callback`);
    expect(start.headers.get("set-cookie")).toMatch(/HttpOnly/i);
    expect(start.headers.get("set-cookie")).toMatch(/SameSite=Lax/i);
    expect(start.headers.get("set-cookie")).toMatch(/Secure/i);
    // design.md §4d/§4e: start at most 1 storage round trip, the callback at most 2 besides the IdP's token call.
    expect(roundTrips(start)).toBe(1);
    expect(roundTrips(callback)).toBe(2);

    const ticket = ticketOf(callback);
    const landed = new URL(callback.headers.get("location")!);
    expect(landed.origin + landed.pathname).toBe(`${APP}/signed-in`);
    expect(landed.searchParams.get("next")).toBe("/home");

    const redeemed = await admin("POST", "/sign-ins/redeem", { ticket });
    expect(redeemed.status, redeemed.text).toBe(200);
    expect(redeemed.body).toMatchObject({
      tenant: t.slug,
      user: { id: user.id, userName: user.userName, active: true, source: "okta", externalId: "00uOKTA123", groups: [{ id: groupCreated.body.id, displayName: "Engineering" }] },
      signIn: { protocol: "oidc", issuer: idp.issuer, subject: "00uOKTA123" },
    });
    expect(Object.keys(redeemed.body.user)).toEqual(expect.arrayContaining(["displayName", "emails", "role", "attributes"]));
    // The effective role (design.md §4f): no mapping, no pushed role, so the deployment's DEFAULT_ROLE.
    expect(redeemed.body.user.role).toBe("member");

    const again = await admin("POST", "/sign-ins/redeem", { ticket });
    expect(again.status).toBe(400);
    expect(again.body.detail).toMatch(/used, expired .* or unknown/);

    const log = await logOf(t.slug);
    expect(log[0]).toMatchObject({ outcome: "success", resourceId: user.id, userName: user.userName });

    const listed = await admin("GET", `/tenants/${t.slug}/users?q=${encodeURIComponent(user.userName)}`);
    expect(listed.body.users[0].lastSignInAt).toEqual(expect.any(String));
  });

  it("the RPC redeemSignIn answers the same as the admin API, once", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    const ticket = ticketOf((await signIn(t.slug, idp, { sub: user.externalId })).callback);
    const answer = await env.DIRECTORY.redeemSignIn(ticket);
    expect(answer).toMatchObject({ tenant: t.slug, user: { id: user.id, userName: user.userName }, signIn: { protocol: "oidc", subject: user.externalId } });
    expect((await rejection(env.DIRECTORY.redeemSignIn(ticket))).message).toMatch(/used, expired .* or unknown/);
    expect((await rejection(env.DIRECTORY.redeemSignIn("tssi_nonsense"))).message).toMatch(/used, expired .* or unknown/);
  });

  it("a ticket older than 60 s is refused (400), and is gone", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    const ticket = ticketOf((await signIn(t.slug, idp, { sub: user.externalId })).callback);
    // Its 60 s are up (the row holds only the digest and the expiry).
    const aged = await env.TENANT_DEFAULT.prepare("UPDATE sso_tickets SET expires_at = ? WHERE user_id = ?").bind(new Date(Date.now() - 1_000).toISOString(), user.id).run();
    expect(aged.meta.changes).toBe(1);
    const r = await admin("POST", "/sign-ins/redeem", { ticket });
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/expired/);
    const left = await env.TENANT_DEFAULT.prepare("SELECT COUNT(*) AS n FROM sso_tickets WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    expect(left!.n).toBe(0);
  });

  it("an unknown or malformed ticket is a 400", async () => {
    for (const ticket of ["", "x", `tssi_${"0".repeat(32)}.${"A".repeat(43)}`, 42]) {
      const r = await admin("POST", "/sign-ins/redeem", { ticket });
      expect(r.status).toBe(400);
    }
  });

  it("matches by userName (preferred_username, then email) case-insensitively on a first sign-in, stores the link, and uses it from then on", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t, { userName: "Ada.Lovelace@Example.com", externalId: "scim-external-id" });
    const first = await signIn(t.slug, idp, { sub: "idp-subject-1", preferred_username: "ada.lovelace@example.COM" });
    const redeemed = await admin("POST", "/sign-ins/redeem", { ticket: ticketOf(first.callback) });
    expect(redeemed.body.user.id).toBe(user.id);

    // The IdP renamed the person: the stored link still finds the same user.
    const second = await signIn(t.slug, idp, { sub: "idp-subject-1", preferred_username: "ada@renamed.example" });
    expect((await admin("POST", "/sign-ins/redeem", { ticket: ticketOf(second.callback) })).body.user.id).toBe(user.id);

    // Another IdP account claiming the same email cannot take over the linked user.
    const other = await signIn(t.slug, idp, { sub: "idp-subject-2", email: "Ada.Lovelace@example.com" });
    expect(other.callback.status).toBe(403);

    // By email when there is no preferred_username.
    const bob = await provision(t, { userName: "bob@example.com", externalId: "x-bob" });
    const byEmail = await signIn(t.slug, idp, { sub: "idp-bob", email: "BOB@example.com" });
    expect((await admin("POST", "/sign-ins/redeem", { ticket: ticketOf(byEmail.callback) })).body.user.id).toBe(bob.id);
  });

  it("a link to a user SCIM deleted does not block the re-provisioned user", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const first = await provision(t, { userName: "gus@example.com", externalId: "ext-gus-1" });
    ticketOf((await signIn(t.slug, idp, { sub: "idp-gus", preferred_username: "gus@example.com" })).callback);
    expect((await t.scim("DELETE", `/Users/${first.id}`)).status).toBe(204);
    const again = await provision(t, { userName: "gus@example.com", externalId: "ext-gus-2" });
    const { callback } = await signIn(t.slug, idp, { sub: "idp-gus", preferred_username: "gus@example.com" });
    expect((await admin("POST", "/sign-ins/redeem", { ticket: ticketOf(callback) })).body.user.id).toBe(again.id);
  });

  it("matches externalId to Entra's oid", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t, { externalId: "7f3c6a9e-0000-4000-8000-00000000e1d0" });
    const { callback } = await signIn(t.slug, idp, { sub: "pairwise-sub-for-this-app", oid: "7f3c6a9e-0000-4000-8000-00000000e1d0", preferred_username: "nobody@else.example" });
    expect((await admin("POST", "/sign-ins/redeem", { ticket: ticketOf(callback) })).body.user.id).toBe(user.id);
  });

  it("refuses a deactivated user at once, in the same request: a 403 page that says so, no ticket, a failure in the log", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    ticketOf((await signIn(t.slug, idp, { sub: user.externalId })).callback); // linked while active
    const patched = await t.scim("PATCH", `/Users/${user.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] });
    expect(patched.status).toBe(200);

    const { callback } = await signIn(t.slug, idp, { sub: user.externalId });
    expect(callback.status).toBe(403);
    expect(callback.headers.get("content-type")).toContain("text/html");
    expect(callback.text).toContain("Your TheStorage account is deactivated");
    expect(callback.text).toContain("What to do");
    expect(callback.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(callback.headers.get("location")).toBeNull();
    const tickets = await env.TENANT_DEFAULT.prepare("SELECT COUNT(*) AS n FROM sso_tickets s JOIN users u ON u.id = s.user_id WHERE u.id = ?").bind(user.id).first<{ n: number }>();
    expect(tickets!.n).toBe(1); // only the one from before the deactivation
    const log = await logOf(t.slug);
    expect(log[0]).toMatchObject({ outcome: "failure", status: 403, resourceId: user.id });
    expect(log[0].detail).toMatch(/deactivated/);
  });

  it("lets in a user whose deactivation the guard holds (design.md §4g: sign-in keeps treating held users as active), and refuses once released", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const first = await provision(t);
    const held = await provision(t);
    // Limit: the larger of 1 user and 1 % of 2: the first deactivation passes, the second is held.
    expect((await admin("PUT", `/tenants/${t.slug}/guard`, { threshold: 1, percent: 1, windowMinutes: 10 })).status).toBe(200);
    const deactivate = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] };
    for (const user of [first, held]) expect((await t.scim("PATCH", `/Users/${user.id}`, deactivate)).status).toBe(200);
    expect((await admin("GET", `/tenants/${t.slug}/held`)).body.held.map((h: { user: { id: string } }) => h.user.id)).toEqual([held.id]);

    expect((await signIn(t.slug, idp, { sub: first.externalId })).callback.status).toBe(403);
    const ticket = ticketOf((await signIn(t.slug, idp, { sub: held.externalId })).callback);
    const redeemed = await admin("POST", "/sign-ins/redeem", { ticket });
    expect(redeemed.status, redeemed.text).toBe(200);
    expect(redeemed.body.user.id).toBe(held.id);

    expect((await admin("POST", `/tenants/${t.slug}/held/release`, {})).status).toBe(200);
    expect((await signIn(t.slug, idp, { sub: held.externalId })).callback.status).toBe(403);
  });

  it("a ticket of a user deactivated before redemption is refused", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    const ticket = ticketOf((await signIn(t.slug, idp, { sub: user.externalId })).callback);
    await t.scim("PATCH", `/Users/${user.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] });
    const r = await admin("POST", "/sign-ins/redeem", { ticket });
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/deactivated/);
  });

  it("refuses someone the IdP did not provision (403 page, logged), and never matches a user of another tenant", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const other = await scimTenant(); // same database, same userName and externalId
    await provision(other, { userName: "carol@example.com", externalId: "00uCAROL" });
    const { callback } = await signIn(t.slug, idp, { sub: "00uCAROL", preferred_username: "carol@example.com", email: "carol@example.com" });
    expect(callback.status).toBe(403);
    expect(callback.text).toContain("not been provisioned in TheStorage");
    const log = await logOf(t.slug);
    expect(log[0]).toMatchObject({ outcome: "failure", status: 403, userName: "carol@example.com" });
    expect(log[0].detail).toMatch(/not_provisioned/);
    expect(await logOf(other.slug)).toEqual([]);
  });

  it("JIT creates the user (source = the provider) only when the connection allows it and SCIM is off", async () => {
    const idp = await newIdp();
    const off = await tenantWithSso(idp, { jit: true }, { scim: false });
    const { callback } = await signIn(off.slug, idp, { sub: "jit-sub-1", email: "dana@example.com", name: "Dana Example" });
    const redeemed = await admin("POST", "/sign-ins/redeem", { ticket: ticketOf(callback) });
    expect(redeemed.body.user).toMatchObject({ userName: "dana@example.com", displayName: "Dana Example", externalId: "jit-sub-1", source: "generic", active: true });
    // Next time the link finds the same user; no second user.
    const again = await signIn(off.slug, idp, { sub: "jit-sub-1", email: "dana@example.com" });
    expect((await admin("POST", "/sign-ins/redeem", { ticket: ticketOf(again.callback) })).body.user.id).toBe(redeemed.body.user.id);
    expect((await admin("GET", `/tenants/${off.slug}/users`)).body.totalResults).toBe(1);
    expect((await logOf(off.slug)).map((e) => e.outcome)).toEqual(["success", "success"]);
    const changes = await admin("GET", `/tenants/${off.slug}/changes`);
    expect(changes.body.data.map((e: any) => [e.type, e.data.user.userName, e.data.user.source])).toEqual([["user.created", "dana@example.com", "generic"]]);

    const on = await tenantWithSso(idp, { jit: true }); // SCIM on: the directory decides
    const refused = await signIn(on.slug, idp, { sub: "jit-sub-2", email: "erin@example.com" });
    expect(refused.callback.status).toBe(403);
    expect((await admin("GET", `/tenants/${on.slug}/users`)).body.totalResults).toBe(0);

    const noJit = await tenantWithSso(idp, {}, { scim: false });
    expect((await signIn(noJit.slug, idp, { sub: "jit-sub-3", email: "fay@example.com" })).callback.status).toBe(403);
  });

  it("sign-in through the IdP off: start shows a page that says so", async () => {
    const t = await scimTenant();
    const r = await get(`/api/${t.slug}/sso/start?return_to=${encodeURIComponent(RETURN_TO)}`);
    expect(r.status).toBe(403);
    expect(r.text).toContain("identity provider is off");
    expect((await logOf(t.slug))[0].detail).toMatch(/sso_off/);
    const unknown = await get(`/api/${uniqueSlug("nobody")}/sso/start?return_to=${encodeURIComponent(RETURN_TO)}`);
    expect(unknown.status).toBe(403);
  });
});

describe("failures", () => {
  it("a sign-in that cannot run (WEBHOOK_SECRET_KEY missing) is an HTML page that says what to do, not JSON", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request(`${ORIGIN}/api/${t.slug}/sso/start?return_to=${encodeURIComponent(RETURN_TO)}`), { ...env, WEBHOOK_SECRET_KEY: undefined }, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(503);
    expect(response.headers.get("content-type")).toContain("text/html");
    const text = await response.text();
    expect(text).toContain("Sign-in is unavailable right now");
    expect(text).toContain("Try again");
  });
});

describe("security rules", () => {
  it("PKCE: a code obtained for another attempt does not complete this one (the verifier does not match the challenge)", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    // The attacker's own attempt yields a code bound to the attacker's challenge…
    const attacker = await get(`/api/${t.slug}/sso/start?return_to=${encodeURIComponent(RETURN_TO)}`);
    const attackerCode = new URL(idp.authorize(attacker.headers.get("location")!, { sub: user.externalId })).searchParams.get("code")!;
    // …injected into the victim's callback, with the victim's own state and cookie.
    const victim = await get(`/api/${t.slug}/sso/start?return_to=${encodeURIComponent(RETURN_TO)}`);
    const victimState = new URL(victim.headers.get("location")!).searchParams.get("state")!;
    const injected = await get(`/api/${t.slug}/sso/oidc/callback?code=${encodeURIComponent(attackerCode)}&state=${encodeURIComponent(victimState)}`, { Cookie: cookieOf(victim) });
    expect(injected.status).toBe(400);
    expect(injected.text).toContain("did not sign you in");
    expect((await logOf(t.slug))[0].detail).toMatch(/PKCE/);
  });

  it("state: a callback without state, with a state of no attempt of this browser, or without the attempt cookie is refused (400)", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    const { start, cookie, callbackUrl } = await signInParts(t.slug, idp, { sub: user.externalId });
    const noState = new URL(callbackUrl);
    noState.searchParams.delete("state");
    expect((await get(noState.toString(), { Cookie: cookie })).status).toBe(400);
    const otherState = new URL(callbackUrl);
    otherState.searchParams.set("state", "a".repeat(43));
    expect((await get(otherState.toString(), { Cookie: cookie })).status).toBe(400);
    const noCookie = await get(callbackUrl);
    expect(noCookie.status).toBe(400);
    expect(noCookie.text).toContain("started in this browser");
    // Anyone can send these: logged once a minute per reason, not once per request.
    for (let i = 0; i < 5; i++) expect((await get(callbackUrl)).status).toBe(400);
    expect((await logOf(t.slug)).filter((e) => e.detail.startsWith("refused (broken)")).length).toBe(1);
    // The genuine callback still works (none of the above consumed it).
    expect(start.status).toBe(302);
    ticketOf(await get(callbackUrl, { Cookie: cookie }));
  });

  it("state is single-use: a replayed callback is refused and issues no second ticket", async () => {
    const idp = await newIdp();
    idp.allowCodeReuse = true; // a lenient IdP: only TheStorage's own check stands between a replay and a second ticket
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    const { cookie, callbackUrl, callback } = await signIn(t.slug, idp, { sub: user.externalId });
    ticketOf(callback);
    const replay = await get(callbackUrl, { Cookie: cookie });
    expect(replay.status).toBe(400);
    expect(replay.text).toContain("already used");
    const n = await env.TENANT_DEFAULT.prepare("SELECT COUNT(*) AS n FROM sso_tickets WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    expect(n!.n).toBe(1);
    expect((await logOf(t.slug))[0].detail).toMatch(/replayed/);
  });

  it("state expires after 10 minutes: an older attempt is refused as expired", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    const { cookie, callbackUrl } = await signInParts(t.slug, idp, { sub: user.externalId });
    // Re-seal the same attempt as if it had started 11 minutes ago (the key is the test's binding).
    const tenantId = (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(t.slug).first<{ id: string }>())!.id;
    const state = new URL(callbackUrl).searchParams.get("state")!;
    const key = await attemptKey(env);
    const [name, value] = [cookie.slice(0, cookie.indexOf("=")), decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1))];
    const attempt = JSON.parse(await decryptSecret(key, value, `sso-attempt:${tenantId}:${state}`));
    const old = await encryptSecret(key, JSON.stringify({ ...attempt, createdAt: Date.now() - 11 * 60_000 }), `sso-attempt:${tenantId}:${state}`);
    const expired = await get(callbackUrl, { Cookie: `${name}=${encodeURIComponent(old)}` });
    expect(expired.status).toBe(400);
    expect(expired.text).toContain("expired");
    // The same attempt 9 minutes old is still fine.
    const fresh = await encryptSecret(key, JSON.stringify({ ...attempt, createdAt: Date.now() - 9 * 60_000 }), `sso-attempt:${tenantId}:${state}`);
    ticketOf(await get(callbackUrl, { Cookie: `${name}=${encodeURIComponent(fresh)}` }));
  });

  it("an attempt cookie of one tenant does not open another tenant's callback", async () => {
    const idp = await newIdp();
    const a = await tenantWithSso(idp);
    const b = await tenantWithSso(idp);
    const user = await provision(b);
    const { cookie, callbackUrl } = await signInParts(a.slug, idp, { sub: user.externalId });
    const moved = callbackUrl.replace(`/api/${a.slug}/`, `/api/${b.slug}/`);
    const r = await get(moved, { Cookie: cookie });
    expect(r.status).toBe(400);
  });

  const tokenCases: [string, (idp: StandInIdp) => IdTokenTweaks, RegExp][] = [
    ["a nonce of another attempt", () => ({ claims: { nonce: "not-the-nonce" } }), /nonce/],
    ["no nonce", () => ({ claims: { nonce: undefined } }), /nonce/],
    ["another issuer", () => ({ claims: { iss: "https://evil.example" } }), /iss/],
    ["another audience", () => ({ claims: { aud: "someone-else" } }), /aud/],
    ["expiry more than 60 s ago", () => ({ claims: { exp: Math.floor(Date.now() / 1000) - 120 } }), /exp/],
    ["issued in the future beyond the skew", () => ({ claims: { iat: Math.floor(Date.now() / 1000) + 600, exp: Math.floor(Date.now() / 1000) + 900 } }), /iat/],
    ["a signature by a key not in the issuer's JWKS", () => ({ foreignKey: true }), /signature/],
    ["an ES256 signature by a foreign key", () => ({ alg: "ES256", foreignKey: true }), /signature/],
    ["HS256 (the client secret as the key)", () => ({ alg: "HS256" }), /alg/],
    ["alg none", () => ({ alg: "none" }), /alg|JWT/],
    ["several audiences, one of them untrusted", (idp) => ({ claims: { aud: [idp.clientId, "another-client"] } }), /aud/],
  ];
  for (const [label, tweaks, why] of tokenCases) {
    it(`an ID token with ${label} is refused (400 page, logged)`, async () => {
      const idp = await newIdp();
      const t = await tenantWithSso(idp);
      const user = await provision(t);
      const { callback } = await signIn(t.slug, idp, { sub: user.externalId }, { tweaks: tweaks(idp) });
      expect(callback.status, callback.text).toBe(400);
      expect(callback.text).toContain("could not be verified");
      expect(callback.headers.get("location")).toBeNull();
      const log = (await logOf(t.slug))[0];
      expect(log).toMatchObject({ outcome: "failure", status: 400 });
      expect(log.detail).toMatch(/invalid_token/);
      expect(log.detail).toMatch(why);
    });
  }

  it("an ES256-signed ID token, and one that expired within the 60 s skew, are accepted", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    ticketOf((await signIn(t.slug, idp, { sub: user.externalId }, { tweaks: { alg: "ES256" } })).callback);
    ticketOf((await signIn(t.slug, idp, { sub: user.externalId }, { tweaks: { claims: { exp: Math.floor(Date.now() / 1000) - 30 } } })).callback);
  });

  it("a callback naming another issuer (RFC 9207 iss, mix-up) is refused", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const user = await provision(t);
    const { cookie, callbackUrl } = await signInParts(t.slug, idp, { sub: user.externalId });
    const mixed = new URL(callbackUrl);
    mixed.searchParams.set("iss", "https://evil.example");
    const r = await get(mixed.toString(), { Cookie: cookie });
    expect(r.status).toBe(400);
    expect(r.headers.get("location")).toBeNull();
    expect((await logOf(t.slug))[0].detail).toMatch(/iss/);
  });

  it("an error answer from the IdP is a 400 page that says to try again", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    const start = await get(`/api/${t.slug}/sso/start?return_to=${encodeURIComponent(RETURN_TO)}`);
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    const r = await get(`/api/${t.slug}/sso/oidc/callback?error=access_denied&error_description=User+is+not+assigned&state=${state}`, { Cookie: cookieOf(start) });
    expect(r.status).toBe(400);
    expect(r.text).toContain("did not sign you in");
    expect((await logOf(t.slug))[0].detail).toMatch(/access_denied/);
  });

  it("return_to must start with an allowed origin (exact match); loopback only on a local run", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp);
    for (const bad of ["https://evil.example/x", `${APP}.evil.example/x`, "https://app.thestorage.test:444/x", "javascript:alert(1)", "/relative", "", "https://user:pw@app.thestorage.test/"]) {
      const r = await get(`/api/${t.slug}/sso/start?return_to=${encodeURIComponent(bad)}`);
      expect(r.status, bad).toBe(400);
      expect(r.text).toContain("not valid");
      expect(r.headers.get("location")).toBeNull();
    }
    expect((await get(`/api/${t.slug}/sso/start`)).status).toBe(400);
    const logged = await logOf(t.slug);
    expect(logged[0]).toMatchObject({ outcome: "failure", status: 400 });
    expect(logged[0].detail).toMatch(/bad_return_to/);
    for (const good of [`${APP}/x`, "https://other.thestorage.test:8443/y", "http://127.0.0.1:5173/cb", "http://localhost:3000/cb"]) {
      expect((await get(`/api/${t.slug}/sso/start?return_to=${encodeURIComponent(good)}`)).status, good).toBe(302);
    }
  });

  it("initiate: only the connection's issuer may start a sign-in, which lands on defaultReturnTo", async () => {
    const idp = await newIdp();
    const t = await tenantWithSso(idp, { defaultReturnTo: `${APP}/home` });
    const user = await provision(t);
    const wrong = await get(`/api/${t.slug}/sso/oidc/initiate?iss=${encodeURIComponent("https://evil.example")}`);
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain("unexpected identity provider");
    expect((await logOf(t.slug))[0].detail).toMatch(/wrong_issuer/);
    expect((await get(`/api/${t.slug}/sso/oidc/initiate`)).status).toBe(400);

    const ok = await get(`/api/${t.slug}/sso/oidc/initiate?iss=${encodeURIComponent(idp.issuer)}&login_hint=someone`);
    expect(ok.status).toBe(302);
    expect(new URL(ok.headers.get("location")!).searchParams.get("login_hint")).toBe("someone");
    const callback = await get(idp.authorize(ok.headers.get("location")!, { sub: user.externalId }), { Cookie: cookieOf(ok) });
    expect(new URL(callback.headers.get("location")!).pathname).toBe("/home");
    ticketOf(callback);

    const bare = await tenantWithSso(idp);
    const noDefault = await get(`/api/${bare.slug}/sso/oidc/initiate?iss=${encodeURIComponent(idp.issuer)}`);
    expect(noDefault.status).toBe(400);
    expect(noDefault.text).toContain("Start the sign-in from TheStorage");
  });
});

/** start and the IdP step, stopping before the callback. */
async function signInParts(slug: string, idp: StandInIdp, claims: Record<string, unknown>) {
  const start = await get(`/api/${slug}/sso/start?return_to=${encodeURIComponent(RETURN_TO)}`);
  expect(start.status, start.text).toBe(302);
  return { start, cookie: cookieOf(start), callbackUrl: idp.authorize(start.headers.get("location")!, claims) };
}

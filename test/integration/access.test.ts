// Cloudflare Access in front of /admin and /admin/v1: the Cf-Access-Jwt-Assertion header is verified
// against the team's key set (RS256, issuer = team domain, audience = ACCESS_AUD, exp). The key set
// is served by a stubbed fetch: the Worker runs in this isolate, so it fetches through globalThis.fetch.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { ADMIN_TOKEN, ORIGIN, randomIp, uniqueSlug } from "../support/harness";

const TEAM = `https://team-${crypto.randomUUID().slice(0, 8)}.cloudflareaccess.com`;
const AUD = `aud-${crypto.randomUUID()}`;
const DOWN_TEAM = `https://down-${crypto.randomUUID().slice(0, 8)}.cloudflareaccess.com`;
const ACCESS_ENV = { ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD };
const EMAIL = "ops@thestorage.example";

let signingKey: CryptoKey;
let strangerKey: CryptoKey;
let certsFetched = 0;

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair("RS256")).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === `${DOWN_TEAM}/cdn-cgi/access/certs`) return new Response("upstream down", { status: 502 });
    if (url === `${TEAM}/cdn-cgi/access/certs`) {
      certsFetched += 1;
      return Response.json({ keys: [jwk], public_cert: {}, public_certs: [] });
    }
    return realFetch(input, init);
  });
});

afterAll(() => vi.restoreAllMocks());

async function assertion(options: { aud?: string; iss?: string; exp?: number; key?: CryptoKey; email?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: options.email ?? EMAIL, type: "app" })
    .setProtectedHeader({ alg: "RS256", kid: "test-key" })
    .setIssuer(options.iss ?? TEAM)
    .setAudience(options.aud ?? AUD)
    .setSubject("user-123")
    .setIssuedAt(now - 60)
    .setExpirationTime(options.exp ?? now + 600)
    .sign(options.key ?? signingKey);
}

function unsigned(): string {
  const part = (value: object) => btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: "none", typ: "JWT" })}.${part({ iss: TEAM, aud: AUD, email: EMAIL, exp: now + 600 })}.`;
}

async function call(method: string, path: string, options: { headers?: Record<string, string>; body?: unknown; env?: Record<string, string> } = {}) {
  const headers = new Headers(options.headers);
  if (options.body !== undefined) headers.set("Content-Type", "application/json");
  const request = new Request(`${ORIGIN}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), redirect: "manual" });
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...env, ...(options.env ?? ACCESS_ENV) }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

describe("Access on the admin API", () => {
  it("lets a valid assertion in, attributed to its email; the admin token still works beside it", async () => {
    const ip = randomIp();
    const ok = await call("GET", "/admin/v1/tenants", { headers: { "Cf-Access-Jwt-Assertion": await assertion(), "CF-Connecting-IP": ip } });
    expect(ok.status).toBe(200);
    expect(certsFetched).toBeGreaterThan(0);

    const slug = uniqueSlug("acc");
    const bearer = { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": ip };
    expect((await call("POST", "/admin/v1/tenants", { headers: bearer, body: { slug } })).status).toBe(201);
    const link = await call("POST", `/admin/v1/tenants/${slug}/setup-links`, { headers: { "Cf-Access-Jwt-Assertion": await assertion(), "CF-Connecting-IP": ip }, body: {} });
    expect(link.status).toBe(201);
    const row = await env.CONTROL_DB.prepare("SELECT actor FROM audit_events WHERE tenant_slug = ? AND action = 'setup_link.create'").bind(slug).first<{ actor: string }>();
    expect(JSON.parse(row!.actor)).toEqual({ type: "access", email: EMAIL });
  });

  it("answers 401 problem details for a wrong audience, wrong issuer, expired, unsigned or foreign-signed assertion", async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string, RegExp]> = [
      ["wrong audience", await assertion({ aud: "someone-elses-app" }), /claim/],
      ["wrong issuer", await assertion({ iss: "https://evil.cloudflareaccess.com" }), /claim/],
      ["expired", await assertion({ exp: now - 30 }), /expired/],
      ["unsigned (alg none)", unsigned(), /RS256|not a valid/],
      ["signed by another key", await assertion({ key: strangerKey }), /signature/],
      ["not a JWT", "garbage", /not a valid/],
    ];
    for (const [name, jwt, reason] of cases) {
      const res = await call("GET", "/admin/v1/tenants", { headers: { "Cf-Access-Jwt-Assertion": jwt, "CF-Connecting-IP": randomIp() } });
      expect(res.status, name).toBe(401);
      expect(res.headers.get("Content-Type")).toBe("application/problem+json");
      expect(res.json().detail, name).toMatch(reason);
    }
  });

  it("answers 503 when the team's keys cannot be fetched, without counting it as a failed sign-in", async () => {
    const ip = randomIp();
    for (let i = 0; i < 11; i++) {
      const res = await call("GET", "/admin/v1/tenants", { headers: { "Cf-Access-Jwt-Assertion": await assertion({ iss: DOWN_TEAM }), "CF-Connecting-IP": ip }, env: { ACCESS_TEAM_DOMAIN: DOWN_TEAM, ACCESS_AUD: AUD } });
      expect(res.status).toBe(503);
      expect(res.json().detail).toContain("could not be fetched");
    }
    expect((await call("GET", "/admin/v1/tenants", { headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "CF-Connecting-IP": ip } })).status).toBe(200);
  });

  it("ignores the header when Access is not configured", async () => {
    const res = await call("GET", "/admin/v1/tenants", { headers: { "Cf-Access-Jwt-Assertion": await assertion(), "CF-Connecting-IP": randomIp() }, env: { ACCESS_TEAM_DOMAIN: "", ACCESS_AUD: "" } });
    expect(res.status).toBe(401);
  });
});

describe("Access on the console", () => {
  it("starts an operator session from a valid assertion, without the token form, and records the sign-in", async () => {
    const ip = randomIp();
    const res = await call("GET", "/admin/tenants", { headers: { "Cf-Access-Jwt-Assertion": await assertion({ email: `console-${ip}@thestorage.example` }), "CF-Connecting-IP": ip } });
    expect(res.status).toBe(200);
    expect(res.text).toContain("Sign out");
    const cookie = res.headers.get("Set-Cookie")!.split(";")[0]!;
    // The session then stands on its own.
    expect((await call("GET", "/admin/tenants", { headers: { Cookie: cookie, "CF-Connecting-IP": ip } })).status).toBe(200);
    const signIn = await call("GET", "/admin/sign-in", { headers: { "Cf-Access-Jwt-Assertion": await assertion(), "CF-Connecting-IP": ip } });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get("Location")).toBe("/admin/tenants");
    const row = await env.CONTROL_DB.prepare("SELECT actor, outcome FROM audit_events WHERE action = 'console.sign_in' AND ip = ? ORDER BY id LIMIT 1").bind(ip).first<{ actor: string; outcome: string }>();
    expect(row!.outcome).toBe("success");
    expect(JSON.parse(row!.actor)).toEqual({ type: "access", email: `console-${ip}@thestorage.example` });
  });

  it("shows the sign-in page with the reason for an invalid assertion, and records the failure", async () => {
    const ip = randomIp();
    const res = await call("GET", "/admin/tenants", { headers: { "Cf-Access-Jwt-Assertion": await assertion({ aud: "wrong" }), "CF-Connecting-IP": ip } });
    expect(res.status).toBe(401);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.text).toContain("Cloudflare Access did not vouch for this request");
    expect(res.headers.get("Set-Cookie")).toBeNull();
    const row = await env.CONTROL_DB.prepare("SELECT outcome FROM audit_events WHERE action = 'console.sign_in' AND ip = ?").bind(ip).first<{ outcome: string }>();
    expect(row!.outcome).toBe("failure");
  });
});

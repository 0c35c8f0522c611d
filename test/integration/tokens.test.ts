// SCIM bearer tokens (design.md §3): storage, rotation, revocation, and the shape of every 401.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { controlDb, getTenant, rotateToken } from "../../src/repo/control";
import { admin, request, scimTenant } from "../support/harness";

function expectScim401(response: { status: number; headers: Headers; body: any }) {
  expect(response.status).toBe(401);
  expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
  expect(response.headers.get("Content-Type")).toBe("application/scim+json; charset=utf-8");
  expect(response.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  expect(response.body.status).toBe("401");
  expect(response.body.detail).toMatch(/token/);
}

describe("SCIM tokens", () => {
  it("have the tsscim_ format and only their digest and display prefix are stored", async () => {
    const tenant = await scimTenant();
    expect(tenant.token).toMatch(/^tsscim_[A-Za-z0-9_-]{43}$/);
    const { results } = await env.CONTROL_DB.prepare("SELECT * FROM scim_tokens").all<Record<string, unknown>>();
    const dump = JSON.stringify(results);
    expect(dump).not.toContain(tenant.token);
    expect(dump).not.toContain(tenant.token.slice(12));
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(tenant.token)))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    const row = results.find((r) => r.digest === digest);
    expect(row).toBeDefined();
    expect(row!.prefix).toBe(tenant.token.slice(0, 12));
  });

  it("accept 'Bearer <t>', a bare '<t>' and 'Bearer Bearer <t>'", async () => {
    const tenant = await scimTenant();
    for (const authorization of [`Bearer ${tenant.token}`, tenant.token, `bearer ${tenant.token}`, `Bearer Bearer ${tenant.token}`]) {
      const response = await request("GET", `${tenant.base}/Users`, { headers: { Authorization: authorization } });
      expect(response.status, authorization.slice(0, 14)).toBe(200);
    }
  });

  it("answer 401 with a SCIM body for a missing, garbled or wrong Authorization header", async () => {
    const tenant = await scimTenant();
    expectScim401(await request("GET", `${tenant.base}/Users`));
    expectScim401(await request("GET", `${tenant.base}/Users`, { headers: { Authorization: "non-token" } }));
    expectScim401(await request("GET", `${tenant.base}/Users`, { headers: { Authorization: "Basic dXNlcjpwYXNz" } }));
    expectScim401(await request("GET", `${tenant.base}/Users`, { headers: { Authorization: `Bearer ${tenant.token}x` } }));
  });

  it("regenerating kills the old token at once and the new one works", async () => {
    const tenant = await scimTenant();
    const regenerated = await admin("POST", `/tenants/${tenant.slug}/scim/token`);
    expect(regenerated.status).toBe(201);
    expect(regenerated.headers.get("Cache-Control")).toBe("no-store");
    expect(regenerated.body.token).not.toBe(tenant.token);
    expectScim401(await tenant.scim("GET", "/Users"));
    const fresh = await request("GET", `${tenant.base}/Users`, { headers: { Authorization: `Bearer ${regenerated.body.token}` } });
    expect(fresh.status).toBe(200);
    const live = await env.CONTROL_DB.prepare("SELECT count(*) AS n FROM scim_tokens t JOIN tenants x ON x.id = t.tenant_id WHERE x.slug = ? AND revoked_at IS NULL")
      .bind(tenant.slug)
      .first<{ n: number }>();
    expect(live!.n).toBe(1);
  });

  it("40 concurrent regenerates, three times: never a 5xx, one live token at the end, and only it authenticates", async () => {
    const tenant = await scimTenant();
    const answers = [];
    // The race needs two requests in the same millisecond; three bursts make one near certain.
    for (let round = 0; round < 3; round++) answers.push(...(await Promise.all(Array.from({ length: 40 }, () => admin("POST", `/tenants/${tenant.slug}/scim/token`)))));
    for (const a of answers) expect([201, 409], a.text).toContain(a.status);
    for (const a of answers.filter((a) => a.status === 409)) expect(a.headers.get("Content-Type")).toBe("application/problem+json");
    const minted = answers.filter((a) => a.status === 201).map((a) => a.body.token as string);
    expect(minted.length).toBeGreaterThanOrEqual(1);
    const live = await env.CONTROL_DB.prepare("SELECT t.digest FROM scim_tokens t JOIN tenants x ON x.id = t.tenant_id WHERE x.slug = ? AND revoked_at IS NULL").bind(tenant.slug).all<{ digest: string }>();
    expect(live.results).toHaveLength(1);
    // The tenant database's token copies (checked on each SCIM request) match: only the live one.
    const { id } = (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(tenant.slug).first<{ id: string }>())!;
    const copies = await env.TENANT_DEFAULT.prepare("SELECT digest FROM tenant_tokens WHERE tenant_id = ?").bind(id).all<{ digest: string }>();
    expect(copies.results.map((r) => r.digest)).toEqual([live.results[0]!.digest]);
    const works = [];
    for (const token of [tenant.token, ...minted]) {
      const res = await request("GET", `${tenant.base}/Users`, { headers: { Authorization: `Bearer ${token}` } });
      expect([200, 401]).toContain(res.status);
      if (res.status === 200) works.push(token);
    }
    expect(works).toHaveLength(1);
  });

  it("two rotations of the same token in the same millisecond: the second changes nothing instead of failing", async () => {
    const tenant = await scimTenant();
    const db = controlDb(env.CONTROL_DB);
    const previous = (await getTenant(db, tenant.slug))!.token!;
    const at = new Date().toISOString();
    const next = (n: number) => ({ id: crypto.randomUUID(), tenantId: previous.tenantId, digest: `${n}`.repeat(64).slice(0, 64), prefix: "tsscim_test", createdAt: at, lastUsedAt: null, revokedAt: null });
    const [first, second] = await Promise.all([rotateToken(db, previous, next(1)), rotateToken(db, previous, next(2))]);
    expect([first, second].sort()).toEqual([false, true]);
    const live = await env.CONTROL_DB.prepare("SELECT count(*) AS n FROM scim_tokens WHERE tenant_id = ? AND revoked_at IS NULL").bind(previous.tenantId).first<{ n: number }>();
    expect(live!.n).toBe(1);
  });

  it("disabling SCIM revokes the token", async () => {
    const tenant = await scimTenant();
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    expect((await admin("DELETE", `/tenants/${tenant.slug}/scim`)).status).toBe(204);
    expectScim401(await tenant.scim("GET", "/Users"));
    const view = await admin("GET", `/tenants/${tenant.slug}`);
    expect(view.body.scim.enabled).toBe(false);
    expect((await admin("POST", `/tenants/${tenant.slug}/scim/token`)).status).toBe(409);
  });

  it("a refused revoked or rotated-away token is recorded in the tenant's log with its prefix, once a minute per token", async () => {
    const refusals = async (slug: string, wanted: number) => {
      // Written off the response path: wait for it.
      let events: { action: string; tokenPrefix: string; status: number; outcome: string; detail: string }[] = [];
      for (let i = 0; i < 50; i++) {
        events = (await admin("GET", `/tenants/${slug}/events?action=scim.token_refused`)).body.events;
        if (events.length >= wanted) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return events;
    };
    const prefixOf = (token: string) => token.slice(0, 12);

    // Warm: the isolate knows the token when it is rotated away.
    const tenant = await scimTenant();
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    const rotated = await admin("POST", `/tenants/${tenant.slug}/scim/token`);
    expectScim401(await tenant.scim("GET", "/Users"));
    expectScim401(await tenant.scim("POST", "/Users", { userName: "late@example.com" }));
    expectScim401(await tenant.scim("GET", "/Users"));
    let events = await refusals(tenant.slug, 1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: "scim.token_refused", tokenPrefix: prefixOf(tenant.token), status: 401, outcome: "failure" });
    expect(events[0].detail).toContain(`Refused GET /Users: SCIM token ${prefixOf(tenant.token)}… was revoked at `);
    // The new token still works, and its requests add nothing.
    expect((await request("GET", `${tenant.base}/Users`, { headers: { Authorization: `Bearer ${rotated.body.token}` } })).status).toBe(200);

    // Cold: a token this isolate never saw, rotated away, then SCIM switched off.
    const other = await scimTenant();
    const second = (await admin("POST", `/tenants/${other.slug}/scim/token`)).body.token as string;
    expectScim401(await other.scim("DELETE", `/Users/${crypto.randomUUID()}`));
    expect((await admin("DELETE", `/tenants/${other.slug}/scim`)).status).toBe(204);
    expectScim401(await request("GET", `${other.base}/Groups`, { headers: { Authorization: `Bearer ${second}` } }));
    events = await refusals(other.slug, 2);
    expect(events.map((e) => e.tokenPrefix).sort()).toEqual([prefixOf(other.token), prefixOf(second)].sort());
    expect(events.find((e) => e.tokenPrefix === prefixOf(other.token))!.detail).toMatch(new RegExp(`^Refused DELETE /Users/[0-9a-f-]+: SCIM token ${prefixOf(other.token)}… was revoked at \\d{4}-`));

    // An unknown token, or this token on another tenant's URL, ties to no tenant: nothing is written.
    expectScim401(await request("GET", `${tenant.base}/Users`, { headers: { Authorization: `Bearer tsscim_${"x".repeat(43)}` } }));
    expectScim401(await request("GET", `${other.base}/Users`, { headers: { Authorization: `Bearer ${tenant.token}` } }));
    expect(await refusals(tenant.slug, 2)).toHaveLength(1);
    expect(await refusals(other.slug, 3)).toHaveLength(2);
  });

  it("another tenant's token is refused exactly like an unknown tenant", async () => {
    const a = await scimTenant();
    const b = await scimTenant();
    const crossed = await request("GET", `${b.base}/Users`, { headers: { Authorization: `Bearer ${a.token}` } });
    const unknown = await request("GET", `/api/no-such-tenant/scim/v2/Users`, { headers: { Authorization: `Bearer ${a.token}` } });
    expectScim401(crossed);
    expectScim401(unknown);
    expect(crossed.body).toEqual(unknown.body);
  });

  it("records last use off the response path", async () => {
    const tenant = await scimTenant();
    expect((await admin("GET", `/tenants/${tenant.slug}`)).body.scim.lastUsedAt).toBeNull();
    await tenant.scim("GET", "/Users");
    let lastUsedAt: string | null = null;
    for (let i = 0; i < 50 && !lastUsedAt; i++) {
      lastUsedAt = (await admin("GET", `/tenants/${tenant.slug}`)).body.scim.lastUsedAt;
      if (!lastUsedAt) await new Promise((r) => setTimeout(r, 20));
    }
    expect(lastUsedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("a SCIM token does not open the admin API", async () => {
    const tenant = await scimTenant();
    const response = await request("GET", "/admin/v1/tenants", { headers: { Authorization: `Bearer ${tenant.token}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
  });
});

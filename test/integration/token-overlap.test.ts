// Token overlap (design.md §3, §4g): regenerating with keepPreviousForSeconds keeps the previous
// token working until then, so the new one can be pasted into the IdP without failed pushes.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventually } from "../support/eventually";
import { post, send, signIn } from "../support/console-session";
import { admin, request, scimTenant, type ScimTenant } from "../support/harness";

const withToken = (tenant: ScimTenant, token: string, method = "GET", path = "/Users", body?: unknown) =>
  request(method, `${tenant.base}${path}`, { body, headers: { Authorization: `Bearer ${token}` } });

async function tenantId(slug: string): Promise<string> {
  return (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(slug).first<{ id: string }>())!.id;
}

/** Moves the overlap's end into the past, in both databases, as time passing would. */
async function expireOverlap(slug: string): Promise<void> {
  const id = await tenantId(slug);
  const past = new Date(Date.now() - 1000).toISOString();
  await env.CONTROL_DB.prepare("UPDATE scim_tokens SET revoked_at = ? WHERE tenant_id = ? AND revoked_at > ?").bind(past, id, new Date().toISOString()).run();
  await env.TENANT_DEFAULT.prepare("UPDATE tenant_tokens SET expires_at = ? WHERE tenant_id = ? AND expires_at IS NOT NULL").bind(past, id).run();
}


describe("token overlap", () => {
  it("keeps the previous token working, warm and cold, and shows both tokens until it expires", async () => {
    const tenant = await scimTenant();
    expect((await tenant.scim("GET", "/Users")).status).toBe(200); // the isolate now knows the old token
    const before = Date.now();
    const regenerated = await admin("POST", `/tenants/${tenant.slug}/scim/token`, { keepPreviousForSeconds: 3600 });
    expect(regenerated.status).toBe(201);
    expect(Date.parse(regenerated.body.previousTokenExpiresAt) - before).toBeGreaterThanOrEqual(3600_000 - 5_000);
    const fresh = regenerated.body.token as string;

    // Both work: the old one (warm, then for a write) and the new one (cold).
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    expect((await tenant.scim("POST", "/Users", { userName: "overlap@example.com" })).status).toBe(201);
    expect((await withToken(tenant, fresh)).status).toBe(200);

    const view = await eventually(
      () => admin("GET", `/tenants/${tenant.slug}`),
      (v) => v.body.scim.lastUsedAt !== null,
    );
    expect(view.body.scim.tokenPrefix).toBe(fresh.slice(0, 12));
    expect(view.body.scim.previousToken).toMatchObject({ tokenPrefix: tenant.token.slice(0, 12), expiresAt: regenerated.body.previousTokenExpiresAt });
    expect(view.body.scim.previousToken.lastUsedAt).toMatch(/^\d{4}-/);
    const listed = (await admin("GET", "/tenants")).body.tenants.find((t: any) => t.slug === tenant.slug);
    expect(listed.scim.previousToken.tokenPrefix).toBe(tenant.token.slice(0, 12));

    // Once the overlap runs out, the old token is refused (warm: its copy expired) and no longer shown.
    await expireOverlap(tenant.slug);
    expect((await tenant.scim("GET", "/Users")).status).toBe(401);
    expect((await tenant.scim("GET", "/Groups")).status).toBe(401);
    expect((await withToken(tenant, fresh)).status).toBe(200);
    expect((await admin("GET", `/tenants/${tenant.slug}`)).body.scim.previousToken).toBeNull();
  });

  it("an old token never seen by this isolate is accepted by CONTROL_DB during the overlap and refused after", async () => {
    const tenant = await scimTenant();
    const regenerated = await admin("POST", `/tenants/${tenant.slug}/scim/token`, { keepPreviousForSeconds: 60 });
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    await expireOverlap(tenant.slug);
    const other = await scimTenant(); // a token this isolate has never seen, rotated away and expired
    await admin("POST", `/tenants/${other.slug}/scim/token`, { keepPreviousForSeconds: 60 });
    await expireOverlap(other.slug);
    expect((await other.scim("GET", "/Users")).status).toBe(401);
    expect((await withToken(tenant, regenerated.body.token)).status).toBe(200);
  });

  it("a second regenerate ends the first overlap: at most two tokens ever work", async () => {
    const tenant = await scimTenant();
    const second = (await admin("POST", `/tenants/${tenant.slug}/scim/token`, { keepPreviousForSeconds: 3600 })).body.token as string;
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    const third = (await admin("POST", `/tenants/${tenant.slug}/scim/token`, { keepPreviousForSeconds: 3600 })).body.token as string;
    expect((await tenant.scim("GET", "/Users")).status).toBe(401);
    expect((await withToken(tenant, second)).status).toBe(200);
    expect((await withToken(tenant, third)).status).toBe(200);
    expect((await admin("GET", `/tenants/${tenant.slug}`)).body.scim.previousToken.tokenPrefix).toBe(second.slice(0, 12));
    // Without an overlap, the previous one stops at once, the one in its overlap too.
    const fourth = (await admin("POST", `/tenants/${tenant.slug}/scim/token`)).body.token as string;
    for (const dead of [second, third]) expect((await withToken(tenant, dead)).status).toBe(401);
    expect((await withToken(tenant, fourth)).status).toBe(200);
    expect((await admin("GET", `/tenants/${tenant.slug}`)).body.scim.previousToken).toBeNull();
  });

  it("switching SCIM off revokes the overlapping token too", async () => {
    const tenant = await scimTenant();
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    await admin("POST", `/tenants/${tenant.slug}/scim/token`, { keepPreviousForSeconds: 3600 });
    expect((await admin("DELETE", `/tenants/${tenant.slug}/scim`)).status).toBe(204);
    expect((await tenant.scim("GET", "/Users")).status).toBe(401);
    const working = await env.CONTROL_DB.prepare("SELECT count(*) AS n FROM scim_tokens WHERE tenant_id = ? AND (revoked_at IS NULL OR revoked_at > ?)")
      .bind(await tenantId(tenant.slug), new Date().toISOString())
      .first<{ n: number }>();
    expect(working!.n).toBe(0);
  });

  it("refuses an overlap over 7 days, or one that is not a whole number of seconds, with problem details and no change", async () => {
    const tenant = await scimTenant();
    for (const keepPreviousForSeconds of [604_801, -1, 1.5, "3600"]) {
      const refused = await admin("POST", `/tenants/${tenant.slug}/scim/token`, { keepPreviousForSeconds });
      expect(refused.status, String(keepPreviousForSeconds)).toBe(400);
      expect(refused.headers.get("Content-Type")).toBe("application/problem+json");
      expect(refused.body.detail).toContain("keepPreviousForSeconds");
    }
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    expect((await admin("POST", `/tenants/${tenant.slug}/scim/token`, { keepPreviousForSeconds: 604_800 })).status).toBe(201);
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
  });

  it("the console regenerates with an overlap and shows both tokens' prefixes and last use until the old one expires", async () => {
    const tenant = await scimTenant();
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    const session = await signIn();
    const page = `/admin/tenants/${tenant.slug}/provisioning`;
    const confirm = await send("GET", `${page}/regenerate`, { cookie: session.cookie });
    expect(confirm.text).toContain('name="keepPrevious"');
    // Only the offered choices: anything else changes nothing.
    expect((await post(session, `${page}/regenerate`, { keepPrevious: "999" })).status).toBe(400);
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);

    const regenerated = await post(session, `${page}/regenerate`, { keepPrevious: "86400" });
    expect(regenerated.status).toBe(200);
    expect(regenerated.text).toContain("The previous token keeps working until");
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    const shown = await send("GET", page, { cookie: session.cookie });
    expect(shown.text).toContain('id="previous-token"');
    expect(shown.text).toContain(`${tenant.token.slice(0, 12)}…</span> still works until`);
    expect(shown.text).toMatch(/last used <time datetime="\d{4}-/); // it was used before the regenerate

    await expireOverlap(tenant.slug);
    expect((await send("GET", page, { cookie: session.cookie })).text).not.toContain('id="previous-token"');
  });
});

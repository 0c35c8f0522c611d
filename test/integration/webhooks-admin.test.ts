/** The webhook admin routes (design.md §4b): shapes, the shown-once secret, validation, limits, audit. */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { admin, ADMIN_TOKEN, ORIGIN, scimTenant } from "../support/harness";

const HOOK = "https://app.example.com/webhooks/scim";

describe("webhook admin routes", () => {
  it("POST answers 201 {id, url, events, secret, createdAt} with a whsec_ secret, no-store, shown only there", async () => {
    const t = await scimTenant();
    const created = await admin("POST", `/tenants/${t.slug}/webhooks`, { url: HOOK, events: ["user.created", "user.deactivated"] });
    expect(created.status).toBe(201);
    expect(created.headers.get("cache-control")).toBe("no-store");
    expect(created.body).toEqual({ id: expect.stringMatching(/^wh_/), url: HOOK, events: ["user.created", "user.deactivated"], secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/), createdAt: expect.any(String) });
    expect(atob(created.body.secret.slice(6))).toHaveLength(32);

    const listed = await admin("GET", `/tenants/${t.slug}/webhooks`);
    expect(listed.status).toBe(200);
    expect(listed.body.webhooks).toEqual([{ id: created.body.id, url: HOOK, events: ["user.created", "user.deactivated"], createdAt: created.body.createdAt, secretRotatedAt: null }]);
    expect(listed.text).not.toContain(created.body.secret.slice(6));

    // At rest: AES-GCM ciphertext, never the secret.
    const row = await env.TENANT_DEFAULT.prepare("SELECT secret_ciphertext FROM webhooks WHERE id = ?").bind(created.body.id).first<{ secret_ciphertext: string }>();
    expect(row!.secret_ciphertext).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(row!.secret_ciphertext).not.toContain(created.body.secret.slice(6, 20));

    const all = await admin("POST", `/tenants/${t.slug}/webhooks`, { url: HOOK });
    expect(all.body.events).toBeNull();
  });

  it("rotates the secret (201 {secret}) and deletes (204, then 404)", async () => {
    const t = await scimTenant();
    const created = await admin("POST", `/tenants/${t.slug}/webhooks`, { url: HOOK });
    const rotated = await admin("POST", `/tenants/${t.slug}/webhooks/${created.body.id}/secret`);
    expect(rotated.status).toBe(201);
    expect(rotated.headers.get("cache-control")).toBe("no-store");
    expect(Object.keys(rotated.body)).toEqual(["secret"]);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect((await admin("GET", `/tenants/${t.slug}/webhooks`)).body.webhooks[0].secretRotatedAt).toEqual(expect.any(String));

    expect((await admin("DELETE", `/tenants/${t.slug}/webhooks/${created.body.id}`)).status).toBe(204);
    expect((await admin("GET", `/tenants/${t.slug}/webhooks`)).body.webhooks).toEqual([]);
    const again = await admin("DELETE", `/tenants/${t.slug}/webhooks/${created.body.id}`);
    expect(again.status).toBe(404);
    expect(again.body.detail).toContain(created.body.id);
    expect((await admin("POST", `/tenants/${t.slug}/webhooks/${created.body.id}/secret`)).status).toBe(404);
    expect((await admin("GET", `/tenants/${t.slug}/webhooks/${created.body.id}/deliveries`)).status).toBe(404);
    expect((await admin("GET", `/tenants/nope-${t.slug}/webhooks`)).status).toBe(404);
  });

  it("refuses non-https, private, loopback-looking, link-local and metadata targets with a 400 saying why", async () => {
    const t = await scimTenant();
    const cases: Array<[string, RegExp]> = [
      ["http://app.example.com/hook", /https:\/\//],
      ["ftp://app.example.com/hook", /https:\/\//],
      ["not a url", /absolute URL/],
      ["https://10.1.2.3/hook", /private/],
      ["https://172.20.0.1/hook", /private/],
      ["https://192.168.1.10/hook", /private/],
      ["https://169.254.169.254/latest/meta-data", /link-local/],
      ["https://0.0.0.0/hook", /0\.0\.0\.0/],
      ["https://metadata.google.internal/computeMetadata/v1", /metadata/],
      ["https://[fd00::1]/hook", /fc00::\/7/],
      ["https://[fe80::1]/hook", /fe80::\/10/],
      ["https://[::ffff:10.0.0.1]/hook", /private/],
      ["https://0x0a.1/hook", /10\.0\.0\.1.*private/],
      ["https://user:pw@app.example.com/hook", /credentials/],
    ];
    for (const [url, why] of cases) {
      const refused = await admin("POST", `/tenants/${t.slug}/webhooks`, { url });
      expect(refused.status, url).toBe(400);
      expect(refused.body.detail, url).toMatch(/^url: /);
      expect(refused.body.detail, url).toMatch(why);
    }
    expect((await admin("GET", `/tenants/${t.slug}/webhooks`)).body.webhooks).toEqual([]);
    // Tests run with WEBHOOK_ALLOW_LOOPBACK = "true" (as npm start does): a local receiver is accepted.
    expect((await admin("POST", `/tenants/${t.slug}/webhooks`, { url: "http://127.0.0.1:8790/hook" })).status).toBe(201);
    expect((await admin("POST", `/tenants/${t.slug}/webhooks`, { url: "http://localhost:8790/hook" })).status).toBe(201);
  });

  it("refuses loopback targets when WEBHOOK_ALLOW_LOOPBACK is not true (production)", async () => {
    const t = await scimTenant();
    const app = createApp();
    const production = { ...env, WEBHOOK_ALLOW_LOOPBACK: "false" };
    for (const url of ["http://127.0.0.1:8790/hook", "https://localhost/hook", "https://127.0.0.1/hook"]) {
      const response = await app.fetch(
        new Request(`${ORIGIN}/admin/v1/tenants/${t.slug}/webhooks`, { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" }, body: JSON.stringify({ url }) }),
        production,
        createExecutionContext(),
      );
      expect(response.status, url).toBe(400);
      expect(((await response.json()) as any).detail, url).toMatch(/https:\/\/|loopback/);
    }
  });

  it("refuses unknown event types with a 400 that lists the valid ones, and an empty list", async () => {
    const t = await scimTenant();
    const refused = await admin("POST", `/tenants/${t.slug}/webhooks`, { url: HOOK, events: ["user.created", "user.exploded"] });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain("'user.exploded'");
    expect(refused.body.detail).toContain("user.deactivated");
    expect(refused.body.detail).toContain("connection.token_rotated");
    const empty = await admin("POST", `/tenants/${t.slug}/webhooks`, { url: HOOK, events: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.detail).toMatch(/^events: /);
    expect((await admin("POST", `/tenants/${t.slug}/webhooks`, { events: ["user.created"] })).status).toBe(400);
  });

  it("allows at most 10 webhooks per tenant (409 with what to do)", async () => {
    const t = await scimTenant();
    for (let i = 0; i < 10; i++) expect((await admin("POST", `/tenants/${t.slug}/webhooks`, { url: `${HOOK}/${i}` })).status).toBe(201);
    const eleventh = await admin("POST", `/tenants/${t.slug}/webhooks`, { url: `${HOOK}/10` });
    expect(eleventh.status).toBe(409);
    expect(eleventh.body.detail).toMatch(/10 webhooks.*Remove one/);
  });

  it("answers 503 with an actionable detail when WEBHOOK_SECRET_KEY is missing or not 32 bytes", async () => {
    const t = await scimTenant();
    const app = createApp();
    for (const key of [undefined, "c2hvcnQ="]) {
      const response = await app.fetch(
        new Request(`${ORIGIN}/admin/v1/tenants/${t.slug}/webhooks`, { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" }, body: JSON.stringify({ url: HOOK }) }),
        { ...env, WEBHOOK_SECRET_KEY: key },
        createExecutionContext(),
      );
      expect(response.status).toBe(503);
      expect(((await response.json()) as any).detail).toMatch(/WEBHOOK_SECRET_KEY.*wrangler secret put WEBHOOK_SECRET_KEY/);
    }
    expect((await admin("GET", `/tenants/${t.slug}/webhooks`)).body.webhooks).toEqual([]);
  });

  it("records webhook.create, webhook.rotate_secret and webhook.delete in the audit trail with the actor", async () => {
    const t = await scimTenant();
    const created = await admin("POST", `/tenants/${t.slug}/webhooks`, { url: HOOK });
    await admin("POST", `/tenants/${t.slug}/webhooks/${created.body.id}/secret`);
    await admin("DELETE", `/tenants/${t.slug}/webhooks/${created.body.id}`);
    const rows = await env.CONTROL_DB.prepare("SELECT action, detail, actor FROM audit_events WHERE tenant_slug = ? AND action LIKE 'webhook.%' ORDER BY id").bind(t.slug).all<{ action: string; detail: string; actor: string }>();
    expect(rows.results.map((r) => r.action)).toEqual(["webhook.create", "webhook.rotate_secret", "webhook.delete"]);
    expect(rows.results.every((r) => r.detail.includes(created.body.id) && !r.detail.includes("whsec_"))).toBe(true);
    expect(JSON.parse(rows.results[0]!.actor)).toEqual(expect.any(Object));
    const log = await admin("GET", `/tenants/${t.slug}/events?action=webhook.`);
    expect(log.body.events.map((e: any) => e.action)).toEqual(["webhook.delete", "webhook.rotate_secret", "webhook.create"]);
  });

  it("validates the deliveries limit and documents the routes in the OpenAPI document", async () => {
    const t = await scimTenant();
    const created = await admin("POST", `/tenants/${t.slug}/webhooks`, { url: HOOK });
    expect((await admin("GET", `/tenants/${t.slug}/webhooks/${created.body.id}/deliveries?limit=0`)).status).toBe(400);
    expect((await admin("GET", `/tenants/${t.slug}/webhooks/${created.body.id}/deliveries`)).body).toEqual({ deliveries: [] });
    const doc = await admin("GET", "/openapi.json");
    for (const path of ["/tenants/{slug}/webhooks", "/tenants/{slug}/webhooks/{id}", "/tenants/{slug}/webhooks/{id}/secret", "/tenants/{slug}/webhooks/{id}/deliveries", "/tenants/{slug}/webhooks/{id}/test"]) {
      expect(doc.body.paths[path], path).toBeDefined();
    }
  });
});

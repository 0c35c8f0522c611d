// The operator's admin API (design.md §4): authentication, tenants, the SCIM switch, problem details.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { admin, ORIGIN, request, uniqueSlug } from "../support/harness";

function expectProblem(response: { status: number; headers: Headers; body: any }, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toBe("application/problem+json");
  expect(response.body).toMatchObject({ type: "about:blank", status });
  expect(typeof response.body.title).toBe("string");
  expect(response.body.detail.length).toBeGreaterThan(10);
}

describe("admin authentication", () => {
  it("refuses a missing or wrong operator token with 401 problem details", async () => {
    expectProblem(await request("GET", "/admin/v1/tenants"), 401);
    expectProblem(await request("GET", "/admin/v1/tenants", { headers: { Authorization: "Bearer wrong-token" } }), 401);
    expectProblem(await request("GET", "/admin/v1/tenants", { headers: { Authorization: env.ADMIN_TOKEN! } }), 401);
  });

  it("answers 503 on every admin route when the ADMIN_TOKEN secret is not set", async () => {
    for (const unset of [undefined, ""]) {
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`${ORIGIN}/admin/v1/tenants`, { headers: { Authorization: "Bearer anything" } }),
        { ...env, ADMIN_TOKEN: unset },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(503);
      expect(response.headers.get("Content-Type")).toBe("application/problem+json");
      expect(((await response.json()) as { detail: string }).detail).toContain("ADMIN_TOKEN");
    }
  });
});

describe("tenants", () => {
  it("creates, lists and reads a tenant", async () => {
    const slug = uniqueSlug("acme");
    const created = await admin("POST", "/tenants", { slug, name: "Acme Corp" });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      slug,
      name: "Acme Corp",
      database: "TENANT_DEFAULT",
      endpoint: `${ORIGIN}/api/${slug}/scim/v2`,
      scim: { enabled: false, provider: null, tokenPrefix: null, tokenCreatedAt: null, lastUsedAt: null },
    });
    expect(created.body.createdAt).toMatch(/^\d{4}-/);
    const listed = await admin("GET", "/tenants");
    expect(listed.body.tenants.map((t: { slug: string }) => t.slug)).toContain(slug);
    const read = await admin("GET", `/tenants/${slug}`);
    expect(read.body).toEqual(created.body);
  });

  it("refuses bad slugs, duplicate slugs and unknown bindings", async () => {
    for (const slug of ["Acme", "acme_corp", "-acme", "acme-", "", "a".repeat(64), "acme corp"]) {
      expectProblem(await admin("POST", "/tenants", { slug }), 400);
    }
    const slug = uniqueSlug();
    expect((await admin("POST", "/tenants", { slug })).status).toBe(201);
    const duplicate = await admin("POST", "/tenants", { slug });
    expectProblem(duplicate, 409);
    const unknown = await admin("POST", "/tenants", { slug: uniqueSlug(), database: "TENANT_NOPE" });
    expectProblem(unknown, 400);
    expect(unknown.body.detail).toContain("TENANT_DEFAULT");
    expectProblem(await admin("POST", "/tenants", { slug: uniqueSlug(), database: "CONTROL_DB" }), 400);
  });

  it("answers 400 to malformed JSON and 404 to unknown tenants", async () => {
    const malformed = await request("POST", "/admin/v1/tenants", {
      rawBody: '{"slug": "x",',
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}`, "Content-Type": "application/json" },
    });
    expectProblem(malformed, 400);
    expectProblem(await admin("GET", "/tenants/does-not-exist"), 404);
    expectProblem(await admin("POST", "/tenants/does-not-exist/scim"), 404);
  });
});

describe("the SCIM switch", () => {
  it("enable shows the token once, with the endpoint and no-store; a second enable is 409", async () => {
    const slug = uniqueSlug();
    await admin("POST", "/tenants", { slug });
    const enabled = await admin("POST", `/tenants/${slug}/scim`, { provider: "entra" });
    expect(enabled.status).toBe(201);
    expect(enabled.headers.get("Cache-Control")).toBe("no-store");
    expect(enabled.body).toEqual({ token: expect.stringMatching(/^tsscim_/), endpoint: `${ORIGIN}/api/${slug}/scim/v2`, provider: "entra" });
    const view = await admin("GET", `/tenants/${slug}`);
    expect(view.body.scim).toMatchObject({ enabled: true, provider: "entra", tokenPrefix: enabled.body.token.slice(0, 12) });
    expect(JSON.stringify(view.body)).not.toContain(enabled.body.token);
    expectProblem(await admin("POST", `/tenants/${slug}/scim`), 409);
  });

  it("defaults the provider to okta and refuses unknown providers", async () => {
    const slug = uniqueSlug();
    await admin("POST", "/tenants", { slug });
    expectProblem(await admin("POST", `/tenants/${slug}/scim`, { provider: "myspace" }), 400);
    expect((await admin("POST", `/tenants/${slug}/scim`)).body.provider).toBe("okta");
  });

  it("exactly one of several racing enables wins", async () => {
    const slug = uniqueSlug();
    await admin("POST", "/tenants", { slug });
    const results = await Promise.all(Array.from({ length: 5 }, () => admin("POST", `/tenants/${slug}/scim`)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(4);
  });
});

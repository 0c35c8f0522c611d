// The SCIM surface every route shares: paths, content type, errors, body and rate limits, health.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { ORIGIN, request, scimTenant } from "../support/harness";

describe("SCIM surface", () => {
  it("GET /healthz answers 200", async () => {
    const response = await request("GET", "/healthz");
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: "ok", checks: { controlDatabase: "ok", adminToken: "ok" } });
  });

  it("normalises doubled and trailing slashes", async () => {
    const tenant = await scimTenant();
    for (const path of ["/Users", "/Users/", "//Users", "//Users//", "/Groups/"]) {
      const response = await tenant.scim("GET", path);
      expect(response.status, path).toBe(200);
      expect(response.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]);
    }
    const doubledBase = await tenant.scim("GET", "/Users?count=1".replace("/Users", "//Users"));
    expect(doubledBase.status).toBe(200);
  });

  it("answers application/scim+json on success and error alike", async () => {
    const tenant = await scimTenant();
    for (const path of ["/Users", "/Groups", "/Users/nope", "/Nope"]) {
      const response = await tenant.scim("GET", path, undefined, { Accept: "application/scim+json" });
      expect(response.headers.get("Content-Type"), path).toBe("application/scim+json; charset=utf-8");
    }
  });

  it("answers unknown SCIM paths with a 404 SCIM Error", async () => {
    const tenant = await scimTenant();
    const response = await tenant.scim("GET", "/Widgets");
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "404" });
    expect(response.body.detail).toContain("/Users");
  });

  it("answers malformed JSON with 400 invalidSyntax, never a 500", async () => {
    const tenant = await scimTenant();
    for (const rawBody of ['{"userName":', "[1,2]", "null", "", "userName=x"]) {
      const response = await request("POST", `${tenant.base}/Users`, {
        rawBody,
        headers: { Authorization: `Bearer ${tenant.token}`, "Content-Type": "application/scim+json" },
      });
      expect(response.status, rawBody).toBe(400);
      expect(response.body).toMatchObject({ status: "400", scimType: "invalidSyntax" });
    }
  });

  it("answers a 2 MB body with 413 tooLarge, chunked or not", async () => {
    const tenant = await scimTenant();
    const big = JSON.stringify({ userName: "big@example.com", title: "x".repeat(2 * 1024 * 1024) });
    const sized = await request("POST", `${tenant.base}/Users`, { rawBody: big, headers: { Authorization: `Bearer ${tenant.token}` } });
    expect(sized.status).toBe(413);
    expect(sized.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "413", scimType: "tooLarge" });
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.slice(i, i + 64 * 1024));
        controller.close();
      },
    });
    const chunked = await request("POST", `${tenant.base}/Users`, { rawBody: stream, headers: { Authorization: `Bearer ${tenant.token}` } });
    expect(chunked.status).toBe(413);
    expect((await tenant.scim("GET", `/Users?filter=${encodeURIComponent('userName eq "big@example.com"')}`)).body.totalResults).toBe(0);
  });

  it("answers 429 with an integer Retry-After once a tenant exceeds its rate limit, and only that tenant", async () => {
    const busy = await scimTenant();
    const quiet = await scimTenant();
    // The Worker as deployed, with the test config's tight Rate Limiting binding (20 per 10 s) in place
    // of the production one; 41 requests cross at least one full window whatever the timing.
    const tight = { ...env, SCIM_RATE_LIMIT: env.TIGHT_RATE_LIMIT };
    const call = async (tenant: typeof busy) => {
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`${ORIGIN}${tenant.base}/Users?count=0`, { headers: { Authorization: `Bearer ${tenant.token}` } }),
        tight,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return response;
    };
    let limited: Response | undefined;
    for (let i = 0; i < 41 && !limited; i++) {
      const response = await call(busy);
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(200);
    }
    expect(limited).toBeDefined();
    expect(limited!.headers.get("Retry-After")).toMatch(/^\d+$/);
    expect(limited!.headers.get("Content-Type")).toBe("application/scim+json; charset=utf-8");
    expect(await limited!.json()).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "429" });
    expect((await call(quiet)).status).toBe(200);
  });
});

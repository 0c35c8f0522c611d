// Connection health (design.md §4g): state per tenant from its SCIM requests and refused tokens,
// recorded off the response path; a change of state emits connection.health_changed.
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { eventually } from "../support/eventually";
import { admin, oktaUser, request, scimTenant } from "../support/harness";
import { addWebhook, Receivers, WAIT } from "../support/webhooks";

const health = async (slug: string) => (await admin("GET", `/tenants/${slug}`)).body.scim.health;
const changes = async (slug: string) =>
  ((await admin("GET", `/tenants/${slug}/changes?limit=500&types=connection.health_changed`)).body.data as { data: any }[]).map((e) => e.data.health);

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => receivers.restore());

describe("connection health", () => {
  it("goes from never_connected to healthy on the first request, which it shows as received and emits once, to the feed and to a webhook", async () => {
    const tenant = await scimTenant();
    const url = receivers.add();
    const hook = await addWebhook(tenant.slug, url, ["connection.health_changed"]);
    expect(await health(tenant.slug)).toMatchObject({ state: "never_connected", firstRequest: null, lastRequestAt: null, errorRate1h: null, rejectedToken: null });
    const before = new Date().toISOString();
    expect((await tenant.scim("GET", "/Users?startIndex=1&count=1")).status).toBe(200);
    const seen = await eventually(() => health(tenant.slug), (h) => h.state === "healthy");
    expect(seen).toMatchObject({ state: "healthy", errorRate1h: 0, rejectedToken: null });
    expect(seen.firstRequest).toMatchObject({ request: "GET /Users", provider: "okta", status: 200 });
    expect(seen.firstRequest.at >= before).toBe(true);
    expect(seen.firstRequest.text).toBe(`Received GET /Users from Okta at ${seen.firstRequest.at.slice(11, 19)} UTC`);
    // The first request stays the first.
    await tenant.scim("GET", "/Groups");
    const later = await eventually(() => health(tenant.slug), (h) => h.lastRequestAt > seen.lastRequestAt);
    expect(later.firstRequest.request).toBe("GET /Users");
    // Emitted once (of all the flushes that saw it, one), with the connection and both states.
    const feed = (await admin("GET", `/tenants/${tenant.slug}/changes?types=connection.health_changed`)).body.data;
    expect(feed).toEqual([
      expect.objectContaining({
        type: "connection.health_changed",
        data: {
          tenant: tenant.slug,
          version: null,
          connection: { provider: "okta", tokenPrefix: tenant.token.slice(0, 12) },
          health: { state: "healthy", previousState: "never_connected", errorRate1h: 0, lastSuccessAt: expect.any(String), rejectedToken: null },
        },
      }),
    ]);
    // The first request's, or the next one's if that flush was the one to emit it.
    expect(feed[0].data.health.lastSuccessAt >= seen.firstRequest.at).toBe(true);
    // Handed to the webhook at once (not at the minute sweep), exactly once, as stored in the feed.
    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(1), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 500)); // room for a duplicate to show up, if any
    expect(receivers.at(url)).toHaveLength(1);
    const got = receivers.at(url)[0]!;
    expect(got.headers["webhook-id"]).toBe(feed[0].id);
    expect(got.json).toMatchObject({ type: "connection.health_changed", data: feed[0].data });
    expect(new Webhook(hook.secret).verify(got.body, got.headers)).toEqual(got.json);
    const log = (await admin("GET", `/tenants/${tenant.slug}/events?action=connection.health_changed`)).body.events;
    expect(log).toEqual([expect.objectContaining({ outcome: "success", detail: "Connection health: healthy (was never connected)." })]);
    const listed = (await admin("GET", "/tenants")).body.tenants.find((t: any) => t.slug === tenant.slug);
    expect(listed.scim.health.state).toBe("healthy");
  });

  it("turns failing when a quarter of the last hour's requests fail, and healthy again when they stop", async () => {
    const tenant = await scimTenant();
    expect((await tenant.scim("POST", "/Users", oktaUser())).status).toBe(201);
    await eventually(() => health(tenant.slug), (h) => h.state === "healthy");
    for (let i = 0; i < 3; i++) expect((await tenant.scim("POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"] })).status).toBe(400);
    const failing = await eventually(() => health(tenant.slug), (h) => h.state === "failing");
    expect(failing.state).toBe("failing");
    expect(failing.errorRate1h).toBe(0.75); // 3 of 4: counted per tenant (another tenant's requests on the database never count)
    // 404 and 409 are ordinary answers, not failures.
    expect((await tenant.scim("GET", `/Users/${crypto.randomUUID()}`)).status).toBe(404);
    for (let i = 0; i < 10; i++) expect((await tenant.scim("GET", "/Users?count=1")).status).toBe(200);
    const recovered = await eventually(() => health(tenant.slug), (h) => h.state === "healthy");
    expect(recovered.errorRate1h).toBeCloseTo(3 / 15, 3);
    expect((await changes(tenant.slug)).map((h) => [h.previousState, h.state])).toEqual([
      ["never_connected", "healthy"],
      ["healthy", "failing"],
      ["failing", "healthy"],
    ]);
    const log = (await admin("GET", `/tenants/${tenant.slug}/events?action=connection.health_changed`)).body.events;
    expect(log.map((e: any) => e.outcome)).toEqual(["success", "failure", "success"]); // newest first
  });

  it("shows a revoked token still presented: rejected_credentials with its prefix, until the new token succeeds", async () => {
    const tenant = await scimTenant();
    expect((await tenant.scim("GET", "/Users")).status).toBe(200);
    await eventually(() => health(tenant.slug), (h) => h.state === "healthy");
    const fresh = (await admin("POST", `/tenants/${tenant.slug}/scim/token`)).body.token as string;
    expect((await tenant.scim("GET", "/Users")).status).toBe(401);
    const rejected = await eventually(() => health(tenant.slug), (h) => h.state === "rejected_credentials");
    expect(rejected.state).toBe("rejected_credentials");
    expect(rejected.rejectedToken).toMatchObject({ tokenPrefix: tenant.token.slice(0, 12) });
    expect((await changes(tenant.slug)).at(-1)).toMatchObject({ state: "rejected_credentials", rejectedToken: { tokenPrefix: tenant.token.slice(0, 12) } });
    expect((await request("GET", `${tenant.base}/Users`, { headers: { Authorization: `Bearer ${fresh}` } })).status).toBe(200);
    const back = await eventually(() => health(tenant.slug), (h) => h.state === "healthy");
    expect(back.rejectedToken).toBeNull();
  });
});

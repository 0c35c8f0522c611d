// Storage round trips per SCIM request (design.md §4d, Server-Timing), and the authentication that
// rides in them: a regenerated or revoked token is refused on its very next request, and a refused
// request never changes data, even when this isolate still remembers the token's tenant.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { syncTokenCopies } from "../../src/services/token-copies";
import { admin, oktaUser, request, scimTenant, type JsonResponse, type ScimTenant } from "../support/harness";

const SERVER_TIMING = /^storage;dur=\d+(\.\d+)?;desc="rt=(\d+)", total;dur=\d+(\.\d+)?$/;

/** n of `storage;…;desc="rt=n"`; fails the test when the header is missing or malformed. */
function roundTrips(response: JsonResponse): number {
  const header = response.headers.get("Server-Timing") ?? "";
  const match = SERVER_TIMING.exec(header);
  expect(match, `Server-Timing: '${header}' (status ${response.status})`).not.toBeNull();
  return Number(match![2]);
}

const patchOp = (operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: operations });

/** A tenant whose token this isolate has already verified once (the cold lookup is behind it). */
async function warmTenant(): Promise<ScimTenant> {
  const tenant = await scimTenant();
  const first = await tenant.scim("GET", "/Users?count=1");
  expect(first.status).toBe(200);
  expect(roundTrips(first)).toBe(2); // CONTROL_DB, then the tenant database
  return tenant;
}

/** Provisioning-log rows of SCIM writes (admin actions such as a token rotation carry an actor instead). */
/** Rows of SCIM writes in the log (not admin actions, not the record of a refused old token). */
async function eventCount(slug: string): Promise<number> {
  const events = await admin("GET", `/tenants/${slug}/events?limit=200`);
  expect(events.status).toBe(200);
  return events.body.events.filter((e: { actor: unknown; action: string }) => !e.actor && e.action !== "scim.token_refused" && e.action !== "connection.health_changed").length;
}

describe("Server-Timing: storage round trips per request", () => {
  it("Users: a read costs one round trip (GET by id, filter lookup, list page, .search), a create one", async () => {
    const tenant = await warmTenant();
    const created = await tenant.scim("POST", "/Users", oktaUser());
    expect(created.status).toBe(201);
    expect(roundTrips(created)).toBe(1);
    const id = created.body.id;
    const userName = created.body.userName;

    const byId = await tenant.scim("GET", `/Users/${id}`);
    expect(byId.status).toBe(200);
    expect(roundTrips(byId)).toBe(1);

    const lookup = await tenant.scim("GET", `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`);
    expect(lookup.body.totalResults).toBe(1);
    expect(roundTrips(lookup)).toBe(1);

    const page = await tenant.scim("GET", "/Users?startIndex=1&count=100");
    expect(page.body.totalResults).toBe(1);
    expect(roundTrips(page)).toBe(1);

    const search = await tenant.scim("POST", "/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: `userName eq "${userName}"` });
    expect(search.body.totalResults).toBe(1);
    expect(roundTrips(search)).toBe(1);

    // At the root, across resource types: every type's total at once, then the pages at once.
    const rootSearch = await tenant.scim("POST", "/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: `userName eq "${userName}"` });
    expect(rootSearch.body.totalResults).toBe(1);
    expect(roundTrips(rootSearch)).toBe(2);

    const notModified = await tenant.scim("GET", `/Users/${id}`, undefined, { "If-None-Match": byId.headers.get("ETag")! });
    expect(notModified.status).toBe(304);
    expect(roundTrips(notModified)).toBe(1);
  });

  it("Groups: GET by id, filter lookup, list page, .search and a create each cost one round trip", async () => {
    const tenant = await warmTenant();
    const created = await tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering", members: [] });
    expect(created.status).toBe(201);
    expect(roundTrips(created)).toBe(1);
    const id = created.body.id;

    for (const path of [`/Groups/${id}`, `/Groups?filter=${encodeURIComponent('displayName eq "Engineering"')}`, "/Groups?startIndex=1&count=100", `/Groups/${id}?excludedAttributes=members`]) {
      const response = await tenant.scim("GET", path);
      expect(response.status, path).toBe(200);
      expect(roundTrips(response), path).toBe(1);
    }
    const search = await tenant.scim("POST", "/Groups/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: 'displayName eq "Engineering"' });
    expect(search.body.totalResults).toBe(1);
    expect(roundTrips(search)).toBe(1);
  });

  it("Users: PUT, PATCH and DELETE of a user whose Durable Object has served it before cost at most two", async () => {
    const tenant = await warmTenant();
    const created = await tenant.scim("POST", "/Users", oktaUser());
    const id = created.body.id;
    // The first write reads the user into its Durable Object.
    const first = await tenant.scim("PATCH", `/Users/${id}`, patchOp([{ op: "replace", value: { displayName: "First" } }]));
    expect(first.status).toBe(200);

    const patched = await tenant.scim("PATCH", `/Users/${id}`, patchOp([{ op: "replace", value: { active: false } }]));
    expect(patched.status).toBe(200);
    expect(patched.body.active).toBe(false);
    expect(roundTrips(patched)).toBeLessThanOrEqual(2);

    const put = await tenant.scim("PUT", `/Users/${id}`, { ...patched.body, displayName: "Replaced" });
    expect(put.status).toBe(200);
    expect(put.body.displayName).toBe("Replaced");
    expect(put.body.groups).toEqual([]);
    expect(roundTrips(put)).toBeLessThanOrEqual(2);

    const deleted = await tenant.scim("DELETE", `/Users/${id}`);
    expect(deleted.status).toBe(204);
    expect(roundTrips(deleted)).toBeLessThanOrEqual(2);
    expect((await tenant.scim("GET", `/Users/${id}`)).status).toBe(404);
  });

  it("a token first seen on a write is remembered after it, so a stream of writes (a deactivation wave) stays at two", async () => {
    const tenant = await warmTenant();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await tenant.scim("POST", "/Users", oktaUser())).body.id);
    for (const id of ids) expect((await tenant.scim("PATCH", `/Users/${id}`, patchOp([{ op: "replace", value: { displayName: "Warm" } }]))).status).toBe(200);
    // A new token: this isolate has never seen it, and only writes follow (no read to warm it).
    const regenerated = await admin("POST", `/tenants/${tenant.slug}/scim/token`);
    const as = (method: string, path: string, body?: unknown) => request(method, `${tenant.base}${path}`, { body, headers: { Authorization: `Bearer ${regenerated.body.token}` } });
    const deactivate = (id: string) => as("PATCH", `/Users/${id}`, patchOp([{ op: "replace", value: { active: false } }]));
    const first = await deactivate(ids[0]);
    expect(first.status).toBe(200);
    expect(roundTrips(first)).toBe(3); // CONTROL_DB, then the writer hop and its batch (the copy probe rides alongside)
    for (const id of ids.slice(1)) {
      const next = await deactivate(id);
      expect(next.status).toBe(200);
      expect(next.body.active).toBe(false);
      expect(roundTrips(next)).toBe(2);
    }
  });

  it("Groups: PUT, PATCH and DELETE of a group whose Durable Object has served it before cost at most two", async () => {
    const tenant = await warmTenant();
    const alice = (await tenant.scim("POST", "/Users", oktaUser())).body.id;
    const created = await tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Sales", members: [{ value: alice }] });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const first = await tenant.scim("PATCH", `/Groups/${id}`, patchOp([{ op: "replace", path: "displayName", value: "Sales EU" }]));
    expect(first.status).toBe(204);

    const renamed = await tenant.scim("PATCH", `/Groups/${id}`, patchOp([{ op: "replace", path: "displayName", value: "Sales Europe" }]));
    expect(renamed.status).toBe(204);
    expect(roundTrips(renamed)).toBeLessThanOrEqual(2);

    // A membership change that names its members decides who is added, removed or unknown inside
    // its one write batch (memberships also change outside the group's writer, so none is remembered).
    const bob = (await tenant.scim("POST", "/Users", oktaUser())).body.id;
    const added = await tenant.scim("PATCH", `/Groups/${id}`, patchOp([{ op: "add", path: "members", value: [{ value: bob }, { value: "not-a-user" }] }]));
    expect(added.status).toBe(204);
    expect(roundTrips(added)).toBeLessThanOrEqual(2);
    expect(added.headers.get("ETag")).toBe('W/"4"');
    const again = await tenant.scim("PATCH", `/Groups/${id}`, patchOp([{ op: "add", path: "members", value: [{ value: bob }] }]));
    expect(roundTrips(again)).toBeLessThanOrEqual(2);
    expect(again.headers.get("ETag")).toBe('W/"4"'); // already a member: nothing changed, no new version
    const removed = await tenant.scim("PATCH", `/Groups/${id}`, patchOp([{ op: "remove", path: `members[value eq "${alice}"]` }, { op: "remove", path: `members[value eq "${bob}"]` }]));
    expect(removed.status).toBe(204);
    expect(roundTrips(removed)).toBeLessThanOrEqual(2);
    expect(removed.headers.get("ETag")).toBe('W/"5"');
    // Exact all the same: the log says what each did, one change event per member added or removed.
    const log = await admin("GET", `/tenants/${tenant.slug}/events?action=group&limit=3`);
    expect(log.body.events.map((e: { action: string; detail: string }) => [e.action, e.detail])).toEqual([
      ["group.members", "removed 2 members"],
      ["group.update", "no changes"],
      ["group.members", "added 1 member; skipped 1 unknown member id: not-a-user"],
    ]);
    const changes = await admin("GET", `/tenants/${tenant.slug}/changes?limit=100`);
    const membership = changes.body.data.filter((e: { type: string }) => e.type.startsWith("group.user_")).map((e: { type: string; data: { user: { id: string }; version: number } }) => [e.type, e.data.user.id, e.data.version]);
    expect(membership).toEqual([
      ["group.user_added", alice, 1],
      ["group.user_added", bob, 4],
      ["group.user_removed", alice, 5],
      ["group.user_removed", bob, 5],
    ].sort((a, b) => (a[2] as number) - (b[2] as number) || String(a[0]).localeCompare(String(b[0]))));

    const put = await tenant.scim("PUT", `/Groups/${id}`, { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Sales World" });
    expect(put.status).toBe(200);
    expect(roundTrips(put)).toBeLessThanOrEqual(2);

    const read = await tenant.scim("GET", `/Groups/${id}`);
    expect(read.body.displayName).toBe("Sales World");
    expect(read.body.members ?? []).toEqual([]);

    const deleted = await tenant.scim("DELETE", `/Groups/${id}`);
    expect(deleted.status).toBe(204);
    expect(roundTrips(deleted)).toBeLessThanOrEqual(2);
  });

  it("a 401 costs at most one round trip: wrong token, revoked token this isolate remembers, no token at all", async () => {
    const tenant = await warmTenant();
    const wrong = await request("GET", `${tenant.base}/Users`, { headers: { Authorization: `Bearer ${tenant.token}x` } });
    expect(wrong.status).toBe(401);
    expect(roundTrips(wrong)).toBeLessThanOrEqual(1);
    const none = await request("GET", `${tenant.base}/Users`);
    expect(none.status).toBe(401);
    expect(roundTrips(none)).toBe(0);

    expect((await admin("DELETE", `/tenants/${tenant.slug}/scim`)).status).toBe(204);
    for (const [method, path, body] of [
      ["GET", "/Users", undefined],
      ["POST", "/Users", oktaUser()],
    ] as const) {
      const refused = await tenant.scim(method, path, body);
      expect(refused.status, `${method} ${path}`).toBe(401);
      expect(roundTrips(refused), `${method} ${path}`).toBeLessThanOrEqual(1);
    }
  });

  it("every SCIM answer carries it, errors and discovery included", async () => {
    const tenant = await warmTenant();
    const cases: [string, string, unknown?][] = [
      ["GET", "/ServiceProviderConfig"],
      ["GET", "/Users/no-such-id"],
      ["GET", `/Users?filter=${encodeURIComponent("userName zz 1")}`],
      ["GET", "/Nothing"],
      ["POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"] }],
    ];
    for (const [method, path, body] of cases) {
      const response = await tenant.scim(method, path, body);
      expect(roundTrips(response), `${method} ${path} → ${response.status}`).toBeLessThanOrEqual(1);
    }
    // Nothing read the tenant database for these, so the token was checked on its own.
    expect(roundTrips(await tenant.scim("GET", "/ServiceProviderConfig"))).toBe(1);
  });
});

describe("Authentication in the data round trip", () => {
  it("a regenerated token is refused on its very next read and write, and its refused writes change nothing", async () => {
    const tenant = await warmTenant();
    let token = tenant.token;
    const as = (bearer: string) => (method: string, path: string, body?: unknown) =>
      request(method, `${tenant.base}${path}`, { body, headers: { Authorization: `Bearer ${bearer}` } });
    const user = (await tenant.scim("POST", "/Users", oktaUser())).body;
    // The user's writer has served it: the refused writes below would come from its memory.
    await tenant.scim("PATCH", `/Users/${user.id}`, patchOp([{ op: "replace", value: { displayName: "Before" } }]));
    const newbie = oktaUser();
    const attempts: [string, string, unknown?][] = [
      ["GET", `/Users/${user.id}`],
      ["GET", "/Users"],
      ["POST", "/Users", newbie],
      ["PATCH", `/Users/${user.id}`, patchOp([{ op: "replace", value: { displayName: "After" } }])],
      ["PUT", `/Users/${user.id}`, { ...user, displayName: "After" }],
      ["DELETE", `/Users/${user.id}`],
      ["POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"] }],
      ["PATCH", "/Users/no-such-user", patchOp([{ op: "replace", value: { displayName: "After" } }])],
    ];
    for (const [method, path, body] of attempts) {
      // This isolate has just seen the old token succeed: it remembers its tenant.
      expect((await as(token)("GET", "/Users?count=0")).status).toBe(200);
      const eventsBefore = await eventCount(tenant.slug);
      const regenerated = await admin("POST", `/tenants/${tenant.slug}/scim/token`);
      expect(regenerated.status).toBe(201);
      const refused = await as(token)(method, path, body);
      token = regenerated.body.token;
      expect(refused.status, `${method} ${path}`).toBe(401);
      expect(refused.body.detail).toMatch(/token/);
      expect(refused.text).not.toContain(user.userName);
      expect(roundTrips(refused)).toBeLessThanOrEqual(1);
      // Nothing changed: the user, the other user, the log of SCIM writes.
      const now = await as(token)("GET", `/Users/${user.id}`);
      expect(now.status, `after ${method} ${path}`).toBe(200);
      expect(now.body.displayName).toBe("Before");
      const lookup = await as(token)("GET", `/Users?filter=${encodeURIComponent(`userName eq "${newbie.userName}"`)}`);
      expect(lookup.body.totalResults).toBe(0);
      expect(await eventCount(tenant.slug), `log after ${method} ${path}`).toBe(eventsBefore);
    }
  });

  it("switching SCIM off refuses the next request, and switching it on again lets only the new token in", async () => {
    const tenant = await warmTenant();
    expect((await admin("DELETE", `/tenants/${tenant.slug}/scim`)).status).toBe(204);
    expect((await tenant.scim("GET", "/Users")).status).toBe(401);
    const again = await admin("POST", `/tenants/${tenant.slug}/scim`);
    expect(again.status).toBe(201);
    expect((await tenant.scim("GET", "/Users")).status).toBe(401);
    const fresh = await request("GET", `${tenant.base}/Users`, { headers: { Authorization: `Bearer ${again.body.token}` } });
    expect(fresh.status).toBe(200);
  });

  it("keeps the tenant database's copies of live token digests in step with CONTROL_DB: enable, regenerate, disable", async () => {
    const tenant = await scimTenant();
    const tenantId = (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(tenant.slug).first<{ id: string }>())!.id;
    const copies = async () => (await env.TENANT_DEFAULT.prepare("SELECT digest FROM tenant_tokens WHERE tenant_id = ?").bind(tenantId).all<{ digest: string }>()).results.map((r) => r.digest);
    const live = async () =>
      (await env.CONTROL_DB.prepare("SELECT digest FROM scim_tokens WHERE tenant_id = ? AND revoked_at IS NULL").bind(tenantId).all<{ digest: string }>()).results.map((r) => r.digest);
    expect(await copies()).toHaveLength(1);
    expect(await copies()).toEqual(await live());
    const before = await copies();
    expect((await admin("POST", `/tenants/${tenant.slug}/scim/token`)).status).toBe(201);
    expect(await copies()).toHaveLength(1);
    expect(await copies()).toEqual(await live());
    expect(await copies()).not.toEqual(before);
    expect((await admin("DELETE", `/tenants/${tenant.slug}/scim`)).status).toBe(204);
    expect(await live()).toEqual([]);
    expect(await copies()).toEqual([]);
  });

  it("a live token without its copy keeps working through CONTROL_DB until syncTokenCopies writes the copy; stale copies are dropped", async () => {
    const tenant = await scimTenant();
    const tenantId = (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(tenant.slug).first<{ id: string }>())!.id;
    // A token minted before copies existed: no copy, and a leftover copy of a revoked token.
    await env.TENANT_DEFAULT.prepare("DELETE FROM tenant_tokens WHERE tenant_id = ?").bind(tenantId).run();
    await env.TENANT_DEFAULT.prepare("INSERT INTO tenant_tokens (digest, tenant_id, token_id, prefix, provider, created_at) VALUES (?, ?, 'old', 'tsscim_old', 'okta', '2020-01-01')")
      .bind("0".repeat(64), tenantId)
      .run();
    for (let i = 0; i < 3; i++) {
      const response = await tenant.scim("GET", "/Users?count=1");
      expect(response.status).toBe(200);
      expect(roundTrips(response)).toBe(2); // never remembered: CONTROL_DB answers every time
    }
    expect(await syncTokenCopies(env)).toMatchObject({ copied: expect.any(Number), dropped: expect.any(Number) });
    const { results } = await env.TENANT_DEFAULT.prepare("SELECT token_id FROM tenant_tokens WHERE tenant_id = ?").bind(tenantId).all<{ token_id: string }>();
    const live = await env.CONTROL_DB.prepare("SELECT id FROM scim_tokens WHERE tenant_id = ? AND revoked_at IS NULL").bind(tenantId).first<{ id: string }>();
    expect(results.map((r) => r.token_id)).toEqual([live!.id]);
    expect(roundTrips(await tenant.scim("GET", "/Users?count=1"))).toBe(2);
    expect(roundTrips(await tenant.scim("GET", "/Users?count=1"))).toBe(1);
  });

  it("tenants stay isolated: a token warm for one tenant opens no other tenant, and each sees only its own data", async () => {
    const a = await warmTenant();
    const b = await warmTenant();
    const userOfA = (await a.scim("POST", "/Users", oktaUser())).body;
    const crossed = await request("GET", `${b.base}/Users/${userOfA.id}`, { headers: { Authorization: `Bearer ${a.token}` } });
    expect(crossed.status).toBe(401);
    const crossedWrite = await request("POST", `${b.base}/Users`, { body: oktaUser(), headers: { Authorization: `Bearer ${a.token}` } });
    expect(crossedWrite.status).toBe(401);
    expect((await b.scim("GET", `/Users/${userOfA.id}`)).status).toBe(404);
    expect((await b.scim("GET", "/Users")).body.totalResults).toBe(0);
    expect((await a.scim("GET", "/Users")).body.totalResults).toBe(1);
  });
});

// The deactivation hold (design.md §4g): a wave of deactivations beyond the guard's limit is applied
// to the directory and answered as usual, but its change events are held (not in the feed, not
// delivered) and the app (RPC) keeps the users active until an admin releases them.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, oktaUser, scimTenant, type ScimTenant } from "../support/harness";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/** Okta deactivates with a PATCH whose value object sets active false (okta.md). */
const oktaDeactivate = { schemas: [PATCH_OP], Operations: [{ op: "replace", value: { active: false } }] };
const oktaReactivate = { schemas: [PATCH_OP], Operations: [{ op: "replace", value: { active: true } }] };
/** Entra ID: capitalised op, a path, and the string "False". */
const entraDeactivate = { schemas: [PATCH_OP], Operations: [{ op: "Replace", path: "active", value: "False" }] };

async function users(tenant: ScimTenant, n: number): Promise<{ id: string; userName: string }[]> {
  const created = [];
  for (let i = 0; i < n; i++) {
    const res = await tenant.scim("POST", "/Users", oktaUser());
    expect(res.status).toBe(201);
    created.push(res.body);
  }
  return created;
}

async function feed(slug: string): Promise<{ id: string; type: string; occurredAt: string; data: any }[]> {
  const res = await admin("GET", `/tenants/${slug}/changes?limit=500`);
  expect(res.status).toBe(200);
  return res.body.data;
}

const ofType = <E extends { type: string }>(events: E[], type: string): E[] => events.filter((e) => e.type === type);

async function guard(slug: string, settings: Record<string, unknown>) {
  const res = await admin("PUT", `/tenants/${slug}/guard`, settings);
  expect(res.status, res.text).toBe(200);
  return res.body;
}

describe("deactivation hold", () => {
  it("holds an Okta deactivation wave beyond the limit: answered as usual, kept from the feed and the app, released in order", async () => {
    const tenant = await scimTenant();
    const all = await users(tenant, 20);
    // Limit: the larger of 5 users and 10 % of 20 active (2): 5.
    expect(await guard(tenant.slug, { threshold: 5, percent: 10, windowMinutes: 10 })).toMatchObject({ enabled: true, threshold: 5, tripped: false, activeUsers: 20, held: 0 });
    const wave = all.slice(0, 12);
    for (const user of wave) {
      const res = await tenant.scim("PATCH", `/Users/${user.id}`, oktaDeactivate);
      expect(res.status).toBe(200);
      expect(res.body.active).toBe(false); // the IdP is answered as usual
    }
    // The directory holds the IdP's truth.
    for (const user of wave) expect((await tenant.scim("GET", `/Users/${user.id}`)).body.active).toBe(false);
    const filtered = await tenant.scim("GET", `/Users?filter=${encodeURIComponent("active eq false")}`);
    if (filtered.status === 200) expect(filtered.body.totalResults).toBe(12);

    // The feed: 5 deactivations, then the tripped alert; the other 7 held.
    let events = await feed(tenant.slug);
    const passed = ofType(events, "user.deactivated");
    expect(passed.map((e) => e.data.user.id)).toEqual(wave.slice(0, 5).map((u) => u.id));
    const tripped = ofType(events, "connection.guard_tripped");
    expect(tripped).toHaveLength(1);
    expect(tripped[0]!.data).toMatchObject({ tenant: tenant.slug, connection: { provider: "okta", tokenPrefix: tenant.token.slice(0, 12) } });

    const held = await admin("GET", `/tenants/${tenant.slug}/held`);
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ tripped: true, count: 7 });
    expect(held.body.summary).toMatch(/^Held: 7 deactivations from Okta in (under a minute|\d+ minutes?)$/);
    expect(held.body.held.map((h: any) => h.user.id)).toEqual(wave.slice(5).map((u) => u.id));
    expect(held.body.held[0]).toMatchObject({ type: "user.deactivated", user: { userName: wave[5]!.userName } });

    // The app: held users are still active; passed ones are not.
    expect(await env.DIRECTORY.isActive(tenant.slug, wave[5]!.userName)).toBe(true);
    expect((await env.DIRECTORY.getUser(tenant.slug, wave[6]!.id))!.active).toBe(true);
    expect((await env.DIRECTORY.findUserByUserName(tenant.slug, wave[7]!.userName))!.active).toBe(true);
    expect(await env.DIRECTORY.isActive(tenant.slug, wave[0]!.userName)).toBe(false);
    const page = await env.DIRECTORY.listUsers(tenant.slug, { limit: 100 });
    expect(page.users.filter((u) => !u.active).map((u) => u.id).sort()).toEqual(wave.slice(0, 5).map((u) => u.id).sort());

    // A reactivation of a held user from the IdP cancels both, with no event.
    const back = await tenant.scim("PATCH", `/Users/${wave[11]!.id}`, oktaReactivate);
    expect(back.status).toBe(200);
    expect(back.body.active).toBe(true);
    expect((await admin("GET", `/tenants/${tenant.slug}/held`)).body.count).toBe(6);
    events = await feed(tenant.slug);
    expect(ofType(events, "user.reactivated")).toHaveLength(0);
    expect(ofType(events, "user.deactivated")).toHaveLength(5);
    // Another change to a held user waits behind its deactivation.
    expect((await tenant.scim("PATCH", `/Users/${wave[10]!.id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "title", value: "Gone" }] })).status).toBe(200);
    expect(ofType(await feed(tenant.slug), "user.updated")).toHaveLength(0);

    // Release: the held events enter the feed after everything in it, in original order and time.
    const cursor = (await admin("GET", `/tenants/${tenant.slug}/changes?limit=500`)).body.nextCursor;
    const heldBefore = (await admin("GET", `/tenants/${tenant.slug}/held`)).body.held;
    const released = await admin("POST", `/tenants/${tenant.slug}/held/release`);
    expect(released.status).toBe(200);
    expect(released.body).toEqual({ released: 7, remaining: 0 }); // 6 deactivations and the update behind one
    const after = (await admin("GET", `/tenants/${tenant.slug}/changes?after=${cursor}&limit=500`)).body.data;
    expect(after.map((e: any) => [e.type, e.data.user.id])).toEqual([
      ...wave.slice(5, 11).map((u) => ["user.deactivated", u.id]),
      ["user.updated", wave[10]!.id],
    ]);
    expect(after.slice(0, 6).map((e: any) => [e.id, e.occurredAt])).toEqual(heldBefore.map((h: any) => [h.eventId, h.occurredAt]));
    expect(await env.DIRECTORY.isActive(tenant.slug, wave[5]!.userName)).toBe(false);
    expect(await admin("GET", `/tenants/${tenant.slug}/guard`).then((r) => r.body)).toMatchObject({ tripped: false, held: 0 });
    expect((await admin("GET", `/tenants/${tenant.slug}/held`)).body).toMatchObject({ tripped: false, count: 0, held: [] });

    // Audited, in the trail and the tenant's log; the trip is in the log too.
    const audit = (await admin("GET", "/audit?limit=50")).body.events;
    expect(audit.find((e: any) => e.action === "guard.release" && e.tenant === tenant.slug) ?? audit.find((e: any) => e.action === "guard.release")).toBeDefined();
    const log = (await admin("GET", `/tenants/${tenant.slug}/events?limit=200`)).body.events.map((e: any) => e.action);
    expect(log).toContain("guard.release");
    expect(log).toContain("guard.tripped");
    expect(log).toContain("guard.update");

    // After the release the window restarts: the next deactivation passes.
    expect((await tenant.scim("PATCH", `/Users/${all[15]!.id}`, oktaDeactivate)).status).toBe(200);
    expect(ofType(await feed(tenant.slug), "user.deactivated").at(-1)!.data.user.id).toBe(all[15]!.id);
  });

  it("holds Entra's wave (PATCH replace active \"False\") and deletions of active users, which the app still sees", async () => {
    const tenant = await scimTenant({ provider: "entra" });
    const all = await users(tenant, 8);
    await guard(tenant.slug, { threshold: 3, percent: 1, windowMinutes: 60 });
    for (const user of all.slice(0, 5)) {
      const res = await tenant.scim("PATCH", `/Users/${user.id}`, entraDeactivate);
      expect(res.status).toBe(200);
      expect((await tenant.scim("GET", `/Users/${user.id}`)).body.active).toBe(false);
    }
    // A deletion while tripped: applied (404 after), held for the app.
    expect((await tenant.scim("DELETE", `/Users/${all[6]!.id}`)).status).toBe(204);
    expect((await tenant.scim("GET", `/Users/${all[6]!.id}`)).status).toBe(404);
    const events = await feed(tenant.slug);
    expect(ofType(events, "user.deactivated")).toHaveLength(3);
    expect(ofType(events, "user.deleted")).toHaveLength(0);
    const held = (await admin("GET", `/tenants/${tenant.slug}/held`)).body;
    expect(held.count).toBe(3);
    expect(held.summary).toMatch(/^Held: 3 deactivations from Entra ID in /);
    expect(held.held.map((h: any) => h.type)).toEqual(["user.deactivated", "user.deactivated", "user.deleted"]);
    const deleted = await env.DIRECTORY.getUser(tenant.slug, all[6]!.id);
    expect(deleted).toMatchObject({ id: all[6]!.id, userName: all[6]!.userName, active: true });
    expect(await env.DIRECTORY.isActive(tenant.slug, all[6]!.userName)).toBe(true);
    expect(await env.DIRECTORY.isActive(tenant.slug, all[3]!.userName)).toBe(true);

    // Entra reactivates with the string "True": the held deactivation is cancelled, with no event.
    expect((await tenant.scim("PATCH", `/Users/${all[3]!.id}`, { schemas: [PATCH_OP], Operations: [{ op: "Replace", path: "active", value: "True" }] })).status).toBe(200);
    expect((await admin("GET", `/tenants/${tenant.slug}/held`)).body.count).toBe(2);
    expect(ofType(await feed(tenant.slug), "user.reactivated")).toHaveLength(0);

    expect((await admin("POST", `/tenants/${tenant.slug}/held/release`)).body).toEqual({ released: 2, remaining: 0 }); // the other deactivation and the deletion
    expect(ofType(await feed(tenant.slug), "user.deleted")).toHaveLength(1);
    expect(await env.DIRECTORY.getUser(tenant.slug, all[6]!.id)).toBeNull();
  });

  it("under 40 concurrent deactivations, exactly the limit passes, the rest are held, and the guard trips once", async () => {
    const tenant = await scimTenant();
    const all = await users(tenant, 40);
    await guard(tenant.slug, { threshold: 10, percent: 5, windowMinutes: 10 });
    const answers = await Promise.all(all.map((u) => tenant.scim("PATCH", `/Users/${u.id}`, oktaDeactivate)));
    for (const a of answers) expect(a.status, a.text).toBe(200);
    const events = await feed(tenant.slug);
    expect(ofType(events, "user.deactivated")).toHaveLength(10);
    expect(ofType(events, "connection.guard_tripped")).toHaveLength(1);
    const held = (await admin("GET", `/tenants/${tenant.slug}/held?limit=500`)).body;
    expect(held.count).toBe(30);
    const seen = new Set([...ofType(events, "user.deactivated").map((e) => e.data.user.id), ...held.held.map((h: any) => h.user.id)]);
    expect(seen.size).toBe(40); // each user exactly once, in the feed or held
    expect((await admin("GET", `/tenants/${tenant.slug}/guard`)).body).toMatchObject({ tripped: true, activeUsers: 0, held: 30 });

    // Switched off while tripped: later deactivations pass; those held stay held until released.
    const more = await users(tenant, 2);
    await guard(tenant.slug, { enabled: false, threshold: 10, percent: 5, windowMinutes: 10 });
    for (const u of more) expect((await tenant.scim("PATCH", `/Users/${u.id}`, oktaDeactivate)).status).toBe(200);
    expect(ofType(await feed(tenant.slug), "user.deactivated")).toHaveLength(12);
    expect((await admin("GET", `/tenants/${tenant.slug}/held`)).body.count).toBe(30);
  });

  it("lets a wave through when off, and refuses bad settings with problem details", async () => {
    const tenant = await scimTenant();
    expect((await admin("GET", `/tenants/${tenant.slug}/guard`)).body).toMatchObject({ enabled: true, threshold: 50, percent: 10, windowMinutes: 10, tripped: false });
    for (const body of [{ threshold: 0 }, { percent: 101 }, { windowMinutes: 1441 }, { threshold: "5" }, { enabled: "no" }, { threshold: 5, extra: 1 }]) {
      const res = await admin("PUT", `/tenants/${tenant.slug}/guard`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    }
    expect((await admin("GET", "/tenants/no-such-tenant/held")).status).toBe(404);
    const all = await users(tenant, 4);
    await guard(tenant.slug, { enabled: false, threshold: 1, percent: 1, windowMinutes: 10 });
    for (const user of all) expect((await tenant.scim("PATCH", `/Users/${user.id}`, oktaDeactivate)).status).toBe(200);
    expect(ofType(await feed(tenant.slug), "user.deactivated")).toHaveLength(4);
    expect((await admin("GET", `/tenants/${tenant.slug}/held`)).body.count).toBe(0);
  });
});

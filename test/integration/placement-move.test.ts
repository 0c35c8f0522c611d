/**
 * Placement (design.md §4h): moving a tenant to another tenant D1 database while an Okta-shaped
 * client keeps writing, an interrupted move that resumes by itself, a move that rolls back, and the
 * admin API's refusals. Everything through the Worker's HTTP surface and the real D1 / Durable
 * Object bindings; the test reads the databases only to check what no API shows (the old copy is
 * gone, the neighbours' trigger-kept totals are intact).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { countTenantRows, TENANT_TABLES } from "../../src/repo/tenant-erasure";
import { tenantDb } from "../../src/tenancy/tenant-db";
import { changesAfter, moveState, seedUsers, tenantId } from "../support/placement";
import { admin, oktaUser, scimTenant } from "../support/harness";

const SOURCE = "TENANT_DEFAULT";

describe("admin API refusals", () => {
  it("answers 400 for an unknown binding or the tenant's own database, state none before any move", async () => {
    const t = await scimTenant();
    expect((await admin("POST", `/tenants/${t.slug}/move`, { database: "TENANT_NOPE" })).status).toBe(400);
    expect((await admin("POST", `/tenants/${t.slug}/move`, { database: "CONTROL_DB" })).status).toBe(400);
    const own = await admin("POST", `/tenants/${t.slug}/move`, { database: SOURCE });
    expect(own.status).toBe(400);
    expect(own.headers.get("Content-Type")).toContain("application/problem+json");
    expect((await admin("POST", `/tenants/${t.slug}/move`, {})).status).toBe(400);
    expect((await admin("POST", `/tenants/${t.slug}/move`, { database: 7 })).status).toBe(400);
    expect((await admin("GET", `/tenants/${t.slug}/move`)).body).toEqual({ tenant: t.slug, state: "none", database: SOURCE });
    expect((await admin("POST", `/tenants/no-such-tenant/move`, { database: "TENANT_DEMO" })).status).toBe(404);
  });
});

describe("a move under an Okta-shaped writer", () => {
  it("loses no acknowledged write, keeps cursors and totals, and leaves the neighbours alone", async () => {
    const neighbour = await scimTenant();
    const t = await scimTenant({ provider: "okta" });
    const id = await tenantId(t.slug);
    await seedUsers(env.TENANT_DEFAULT, id, t.slug, 3_000);
    await seedUsers(env.TENANT_DEFAULT, await tenantId(neighbour.slug), neighbour.slug, 40);
    const neighbourUser = await neighbour.scim("POST", "/Users", oktaUser({ userName: `findme.${neighbour.slug}@example.com` }));
    expect(neighbourUser.status).toBe(201);

    // Some history before the move: users, a group with members, change events and a cursor into them.
    const before: { id: string; userName: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.scim("POST", "/Users", oktaUser());
      expect(res.status).toBe(201);
      before.push({ id: res.body.id, userName: res.body.userName });
    }
    const group = await t.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: `Engineering ${t.slug}`, members: before.slice(0, 3).map((u) => ({ value: u.id })) });
    expect(group.status).toBe(201);
    const history = await changesAfter(t.slug, null);
    expect(history.ids.length).toBeGreaterThan(0);
    const cursor = history.next;

    // The writer: creates, deactivations, renames, and group membership changes, retrying 429s as Okta
    // does. It starts before the move and runs until the move has finished.
    const created: { id: string; userName: string }[] = [];
    const expected = new Map<string, { active?: boolean; displayName?: string }>();
    const members = new Set(before.slice(0, 3).map((u) => u.id));
    let refused = 0;
    let state = "none";
    const acked = async (call: () => Promise<{ status: number; body: any }>, ok: number) => {
      for (;;) {
        const res = await call();
        if (res.status === 429) {
          refused += 1;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        expect(res.status, JSON.stringify(res.body)).toBe(ok);
        return res;
      }
    };
    const writer = async () => {
      for (let round = 0; state !== "done" && state !== "failed"; round++) {
        expect(round).toBeLessThan(3_000);
        const res = await acked(() => t.scim("POST", "/Users", oktaUser()), 201);
        created.push({ id: res.body.id, userName: res.body.userName });
        const target = created[Math.floor(created.length / 2)]!;
        if (round % 3 === 0) {
          await acked(() => t.scim("PATCH", `/Users/${target.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] }), 200);
          expected.set(target.id, { ...expected.get(target.id), active: false });
        }
        if (round % 3 === 1) {
          const displayName = `Renamed ${round}`;
          await acked(() => t.scim("PATCH", `/Users/${target.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "displayName", value: displayName }] }), 200);
          expected.set(target.id, { ...expected.get(target.id), displayName });
        }
        if (round % 4 === 2) {
          await acked(() => t.scim("PATCH", `/Groups/${group.body.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "add", path: "members", value: [{ value: res.body.id }] }] }), 204);
          members.add(res.body.id);
        }
        if (state !== "none") state = (await moveState(t.slug)).state;
      }
    };
    const operator = async () => {
      while (created.length < 3) await new Promise((r) => setTimeout(r, 5));
      const started = await admin("POST", `/tenants/${t.slug}/move`, { database: "TENANT_DEMO" });
      expect(started.status).toBe(202);
      expect(started.body).toMatchObject({ tenant: t.slug, from: SOURCE, to: "TENANT_DEMO" });
      expect((await admin("POST", `/tenants/${t.slug}/move`, { database: "TENANT_DEMO" })).status).toBe(409);
      state = started.body.state;
    };
    await Promise.all([writer(), operator()]);
    const move = await moveState(t.slug);
    expect(move.state, move.error).toBe("done");
    expect(move.writesRefusedMs).toBeGreaterThanOrEqual(0);
    // How much of the writer's work overlapped the copy depends on scheduling (the recorded-change
    // path is pinned down step by step in placement-interrupted.test.ts); what must hold is below.
    expect(created.length).toBeGreaterThan(3);
    expect(move.progress.rowsErased).toBeGreaterThanOrEqual(3_000);

    // The tenant now lives in TENANT_DEMO: every acknowledged write is there, once.
    expect((await admin("GET", `/tenants/${t.slug}`)).body.database).toBe("TENANT_DEMO");
    // The first request may meet the old database this isolate remembered: 429, then the new one.
    const list = await acked(() => t.scim("GET", "/Users?count=1"), 200);
    expect(list.body.totalResults).toBe(3_000 + before.length + created.length);
    for (const user of [...before, ...created]) {
      const res = await t.scim("GET", `/Users/${user.id}`);
      expect(res.status).toBe(200);
      expect(res.body.userName).toBe(user.userName);
      const want = expected.get(user.id);
      if (want?.active !== undefined) expect(res.body.active).toBe(want.active);
      if (want?.displayName !== undefined) expect(res.body.displayName).toBe(want.displayName);
    }
    const g = await t.scim("GET", `/Groups/${group.body.id}`);
    expect(new Set(g.body.members.map((m: { value: string }) => m.value))).toEqual(members);
    const last = created.at(-1)!;
    const found = await t.scim("GET", `/Users?filter=${encodeURIComponent(`userName co "${last.userName.slice(5, 20)}"`)}`);
    expect(found.body.Resources.map((u: { id: string }) => u.id)).toContain(last.id);

    // The cursor handed out before the move still reads on from where it was, nothing twice; new events follow.
    const after = await changesAfter(t.slug, cursor);
    expect(new Set(after.ids).size).toBe(after.ids.length);
    expect(after.ids.some((e) => history.ids.includes(e))).toBe(false);
    expect(after.ids.length).toBeGreaterThanOrEqual(created.length);
    const fresh = await acked(() => t.scim("POST", "/Users", oktaUser()), 201);
    const tail = await changesAfter(t.slug, after.next);
    expect(tail.ids.length).toBeGreaterThanOrEqual(1);
    expect(fresh.body.id).toBeTruthy();

    // The old copy is erased, triggers and change log gone; the neighbour's totals and search are intact.
    const leftover = await countTenantRows(tenantDb(env, { database: SOURCE }), id);
    for (const table of TENANT_TABLES) expect(leftover[table], table).toBe(0);
    const triggers = await env.TENANT_DEFAULT.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'placement_%'").first<{ n: number }>();
    expect(triggers!.n).toBe(0);
    // Only the marker that turns a stale isolate's token check into a 429 stays behind.
    const log = await env.TENANT_DEFAULT.prepare("SELECT move_id, tbl FROM placement_changes").all();
    expect(log.results).toEqual([{ move_id: "moved-away", tbl: id }]);
    expect((await neighbour.scim("GET", "/Users?count=1")).body.totalResults).toBe(41);
    const search = await neighbour.scim("GET", `/Users?filter=${encodeURIComponent(`userName co "findme.${neighbour.slug}"`)}`);
    expect(search.body.totalResults).toBe(1);

    const audit = await admin("GET", `/audit?action=tenant.move`);
    expect(JSON.stringify(audit.body)).toContain(move.id);
    // Writes were refused at most during the final catch-up; `refused` counts the 429s the writer retried.
    expect(refused).toBeGreaterThanOrEqual(0);
  });
});


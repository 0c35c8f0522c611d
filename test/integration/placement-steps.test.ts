/**
 * Placement, step by step (design.md §4h): the move run by hand, exactly as its alarms run it, with
 * an Okta-shaped burst of writes between every two steps, so that writes deterministically land in
 * every phase: before the copy reaches a row, after it, during the catch-up, and during the freeze,
 * where they must be refused with 429 and Retry-After and change nothing.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runStep } from "../../src/placement/mover";
import { controlDb } from "../../src/repo/control";
import { getMove, insertMove } from "../../src/repo/tenant-moves";
import { admin, oktaUser, scimTenant } from "../support/harness";
import { seedUsers } from "../support/placement";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

describe("a move with writes between every step", () => {
  it("applies every write acknowledged in every phase and refuses the ones met by the freeze", async () => {
    const t = await scimTenant();
    const id = (await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?1").bind(t.slug).first<{ id: string }>())!.id;
    const users = new Map<string, { userName: string; active: boolean; displayName: string }>();
    const create = async () => {
      const body = oktaUser();
      const res = await t.scim("POST", "/Users", body);
      return res;
    };
    // Enough users that the copy takes several pages (500 rows each), seeded as SCIM stores them.
    await seedUsers(env.TENANT_DEFAULT, id, t.slug, 1_050);
    const seeded = await env.TENANT_DEFAULT.prepare("SELECT id FROM users WHERE tenant_id = ?1").bind(id).all<{ id: string }>();
    for (const row of seeded.results) users.set(row.id, { userName: "", active: true, displayName: "" });
    const group = await t.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Everyone" });
    const members = new Set<string>();
    const deleted = new Set<string>();

    const control = controlDb(env.CONTROL_DB);
    const at = new Date().toISOString();
    const moveId = crypto.randomUUID();
    await insertMove(control, { id: moveId, tenantId: id, tenantSlug: t.slug, fromDatabase: "TENANT_DEFAULT", toDatabase: "TENANT_DEMO", state: "preparing", actor: { type: "admin-token" }, startedAt: at, updatedAt: at });

    const statesWritten = new Set<string>();
    let refusals = 0;
    const ids = () => [...users.keys()].filter((u) => !deleted.has(u));
    for (let step = 0; step < 200; step++) {
      const move = (await getMove(control, moveId))!;
      if (move.state === "done") break;
      // The burst: a create, a deactivation, a rename, a membership, a delete.
      const burst = [
        async () => {
          const res = await create();
          if (res.status === 201) users.set(res.body.id, { userName: res.body.userName, active: true, displayName: res.body.displayName });
          return res;
        },
        async () => {
          const u = ids()[step * 7 % ids().length]!;
          const res = await t.scim("PATCH", `/Users/${u}`, { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] });
          if (res.status === 200) users.get(u)!.active = false;
          return res;
        },
        async () => {
          const u = ids()[step * 13 % ids().length]!;
          const res = await t.scim("PATCH", `/Users/${u}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "displayName", value: `Step ${step}` }] });
          if (res.status === 200) users.get(u)!.displayName = `Step ${step}`;
          return res;
        },
        async () => {
          const u = ids()[step * 3 % ids().length]!;
          const res = await t.scim("PATCH", `/Groups/${group.body.id}`, { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: [{ value: u }] }] });
          if (res.status === 204) members.add(u);
          return res;
        },
        async () => {
          const u = ids()[step * 11 % ids().length]!;
          const res = await t.scim("DELETE", `/Users/${u}`);
          if (res.status === 204) {
            deleted.add(u);
            members.delete(u);
          }
          return res;
        },
      ];
      for (const write of burst) {
        const res = await write();
        if (move.state === "frozen") {
          // Frozen on the source: refused, to be retried, and nothing of it applied (checked at the end).
          expect(res.status).toBe(429);
          expect(res.headers.get("Retry-After")).toMatch(/^[1-9][0-9]*$/);
          refusals += 1;
        } else {
          expect(res.status, `${move.state}: ${res.text}`).toBeLessThan(300);
          statesWritten.add(move.state);
        }
      }
      await runStep(env, moveId);
    }
    const move = (await getMove(control, moveId))!;
    expect(move.state, move.error ?? "").toBe("done");
    expect([...statesWritten]).toEqual(expect.arrayContaining(["preparing", "copying", "catching_up", "switched", "erasing"]));
    expect(refusals).toBeGreaterThan(0);
    expect(move.changesApplied).toBeGreaterThan(0);

    // Everything acknowledged is in TENANT_DEMO, as acknowledged; nothing refused or deleted is.
    let list = await t.scim("GET", "/Users?count=1");
    if (list.status === 429) list = await t.scim("GET", "/Users?count=1");
    expect(list.body.totalResults).toBe(ids().length);
    // Each user a write touched (the untouched seeded ones are in the total above).
    for (const [u, want] of users) {
      if (!deleted.has(u) && want.active && !want.displayName.startsWith("Step") && want.userName === "") continue;
      const res = await t.scim("GET", `/Users/${u}`);
      if (deleted.has(u)) {
        expect(res.status).toBe(404);
        continue;
      }
      expect(res.status).toBe(200);
      expect(res.body.active).toBe(want.active);
      if (want.displayName.startsWith("Step")) expect(res.body.displayName).toBe(want.displayName);
    }
    const g = await t.scim("GET", `/Groups/${group.body.id}`);
    expect(new Set((g.body.members ?? []).map((m: { value: string }) => m.value))).toEqual(members);
    const rows = await env.TENANT_DEMO.prepare("SELECT (SELECT COUNT(*) FROM users WHERE tenant_id = ?1) AS users, (SELECT n FROM resource_counts WHERE tenant_id = ?1 AND resource = 'users') AS counted").bind(id).first();
    expect(rows).toEqual({ users: ids().length, counted: ids().length });
    expect((await admin("GET", `/tenants/${t.slug}`)).body.database).toBe("TENANT_DEMO");
  });
});

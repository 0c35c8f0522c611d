/**
 * Placement (design.md §4h): userNames renamed along a chain while the tenant is being copied (each
 * user takes the name the next one gives up) reach the new database although, applied in key
 * order, each rename meets a name that is not free there yet.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runStep } from "../../src/placement/mover";
import { controlDb } from "../../src/repo/control";
import { getMove, insertMove } from "../../src/repo/tenant-moves";
import { oktaUser, scimTenant } from "../support/harness";
import { tenantId } from "../support/placement";

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

describe("a chain of renames during a move", () => {
  it("lands every userName where the source has it", async () => {
    const t = await scimTenant();
    const id = await tenantId(t.slug);
    const name = (n: number) => `chain${n}.${t.slug}@example.com`;
    const created: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await t.scim("POST", "/Users", oktaUser({ userName: name(n) }));
      expect(res.status).toBe(201);
      created.push(res.body.id);
    }
    // In key order a < b < c; a holds name 1, b name 2, c name 3.
    const [a, b, c] = [...created].sort();
    const byId = new Map(created.map((u, i) => [u, i + 1]));
    for (const [user, n] of [[a, 1], [b, 2], [c, 3]] as const) {
      if (byId.get(user!) === n) continue;
      expect((await t.scim("PATCH", `/Users/${user}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: name(n + 10) }] })).status).toBe(200);
    }
    for (const [user, n] of [[a, 1], [b, 2], [c, 3]] as const) {
      if (byId.get(user!) === n) continue;
      expect((await t.scim("PATCH", `/Users/${user}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: name(n) }] })).status).toBe(200);
    }

    const control = controlDb(env.CONTROL_DB);
    const at = new Date().toISOString();
    const moveId = crypto.randomUUID();
    await insertMove(control, { id: moveId, tenantId: id, tenantSlug: t.slug, fromDatabase: "TENANT_DEFAULT", toDatabase: "TENANT_DEMO", state: "preparing", actor: { type: "admin-token" }, startedAt: at, updatedAt: at });
    for (let i = 0; i < 30 && (await getMove(control, moveId))!.state !== "catching_up"; i++) await runStep(env, moveId);
    expect((await getMove(control, moveId))!.state).toBe("catching_up");

    // Copied; now c gives up name 3 to b, b gives up 2 to a, a takes 2 (c first, so each is valid in the source).
    const rename = async (user: string, n: number) =>
      expect((await t.scim("PATCH", `/Users/${user}`, { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: name(n) }] })).status).toBe(200);
    await rename(c!, 4);
    await rename(b!, 3);
    await rename(a!, 2);

    for (let i = 0; i < 50 && (await runStep(env, moveId)).nextInMs !== null; i++);
    const move = (await getMove(control, moveId))!;
    expect(move.state, move.error ?? "").toBe("done");
    const rows = await env.TENANT_DEMO.prepare("SELECT id, user_name FROM users WHERE tenant_id = ?1").bind(id).all<{ id: string; user_name: string }>();
    expect(Object.fromEntries(rows.results.map((r) => [r.id, r.user_name]))).toEqual({ [a!]: name(2), [b!]: name(3), [c!]: name(4) });
  });
});

/**
 * Placement (design.md §4h): moving a tenant to another tenant D1 database while an Okta-shaped
 * client keeps writing, an interrupted move that resumes by itself, a move that rolls back, and the
 * admin API's refusals. Everything through the Worker's HTTP surface and the real D1 / Durable
 * Object bindings; the test reads the databases only to check what no API shows (the old copy is
 * gone, the neighbours' trigger-kept totals are intact).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runStep } from "../../src/placement/mover";
import { controlDb } from "../../src/repo/control";
import { countTenantRows, TENANT_TABLES } from "../../src/repo/tenant-erasure";
import { getMove, insertMove } from "../../src/repo/tenant-moves";
import { tenantDb } from "../../src/tenancy/tenant-db";
import { finishMove, tenantId } from "../support/placement";
import { admin, oktaUser, scimTenant } from "../support/harness";

const SOURCE = "TENANT_DEFAULT";

describe("a move that cannot finish", () => {
  it("rolls back by itself when it cannot finish: the tenant stays where it was, writable, the partial copy erased", async () => {
    const t = await scimTenant();
    const id = await tenantId(t.slug);
    const user = await t.scim("POST", "/Users", oktaUser());
    // The move as POST records it, stepped by hand up to its copy (its alarms are not armed).
    const control = controlDb(env.CONTROL_DB);
    const at = new Date().toISOString();
    const moveId = crypto.randomUUID();
    await insertMove(control, { id: moveId, tenantId: id, tenantSlug: t.slug, fromDatabase: SOURCE, toDatabase: "TENANT_DEMO", state: "preparing", actor: { type: "admin-token" }, startedAt: at, updatedAt: at });
    await runStep(env, moveId); // preparing → copying (the next step would copy this small tenant whole)
    expect((await getMove(control, moveId))!.state).toBe("copying");
    // A tenant being moved cannot be deleted meanwhile (its rows are in two databases).
    expect((await admin("DELETE", `/tenants/${t.slug}`)).status).toBe(409);
    // The target loses a table of the tenant's under the move's feet (an operator dropped it): every step fails.
    await env.CONTROL_DB.prepare("UPDATE tenant_moves SET state = 'frozen', frozen_at = ?2 WHERE id = ?1").bind(moveId, new Date().toISOString()).run();
    await env.TENANT_DEMO.prepare("INSERT INTO users (tenant_id, id, user_name, user_name_norm, data, created_at, updated_at) VALUES (?1, 'intruder', 'x', 'x', '{}', 'a', 'a')").bind(id).run();
    const failed = await finishMove(t.slug);
    expect(failed.state).toBe("failed");
    expect(failed.error).toMatch(/differs/);
    expect((await admin("GET", `/tenants/${t.slug}`)).body.database).toBe(SOURCE);
    const patched = await t.scim("PATCH", `/Users/${user.body.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] });
    expect(patched.status).toBe(200);
    const leftover = await countTenantRows(tenantDb(env, { database: "TENANT_DEMO" }), id);
    for (const table of TENANT_TABLES) expect(leftover[table], table).toBe(0);
    const triggers = await env.TENANT_DEFAULT.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?1").bind(`placement_${moveId.replace(/-/g, "")}%`).first<{ n: number }>();
    expect(triggers!.n).toBe(0);
    expect(await runStep(env, moveId)).toMatchObject({ nextInMs: null });
  });
});

/**
 * Placement (design.md §4h): moving a tenant to another tenant D1 database while an Okta-shaped
 * client keeps writing, an interrupted move that resumes by itself, a move that rolls back, and the
 * admin API's refusals. Everything through the Worker's HTTP surface and the real D1 / Durable
 * Object bindings; the test reads the databases only to check what no API shows (the old copy is
 * gone, the neighbours' trigger-kept totals are intact).
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runStep } from "../../src/placement/mover";
import { controlDb } from "../../src/repo/control";
import { copyPage, tableSpecs } from "../../src/repo/placement";
import { countTenantRows, TENANT_TABLES } from "../../src/repo/tenant-erasure";
import { getMove } from "../../src/repo/tenant-moves";
import { tenantDb } from "../../src/tenancy/tenant-db";
import { seedUsers } from "../support/placement";
import { admin, oktaUser, scimTenant, type ScimTenant } from "../support/harness";

const SOURCE = "TENANT_DEFAULT";

async function tenantId(slug: string): Promise<string> {
  const row = await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?1").bind(slug).first<{ id: string }>();
  return row!.id;
}

async function moveState(slug: string): Promise<any> {
  const res = await admin("GET", `/tenants/${slug}/move`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Runs the move's object until it finishes (its alarms would, one after another). */
async function finishMove(slug: string): Promise<any> {
  for (let i = 0; i < 500; i++) {
    const move = await moveState(slug);
    if (move.state === "done" || move.state === "failed") return move;
    const stub = env.PLACEMENT_MOVER.get(env.PLACEMENT_MOVER.idFromName(move.id));
    await stub.start(move.id);
    await runDurableObjectAlarm(stub);
  }
  throw new Error("the move did not finish");
}

async function changesAfter(slug: string, cursor: string | null): Promise<{ ids: string[]; next: string | null }> {
  const ids: string[] = [];
  let next = cursor;
  for (;;) {
    const res = await admin("GET", `/tenants/${slug}/changes?limit=100${next ? `&after=${next}` : ""}`);
    expect(res.status).toBe(200);
    ids.push(...res.body.data.map((c: { id: string }) => c.id));
    if (res.body.data.length === 0) return { ids, next: res.body.nextCursor ?? next };
    next = res.body.nextCursor;
  }
}

describe("a move that cannot finish", () => {
  it("rolls back by itself when it cannot finish: the tenant stays where it was, writable, the partial copy erased", async () => {
    const t = await scimTenant();
    const id = await tenantId(t.slug);
    const user = await t.scim("POST", "/Users", oktaUser());
    const started = await admin("POST", `/tenants/${t.slug}/move`, { database: "TENANT_DEMO" });
    const moveId = started.body.id as string;
    const stub = env.PLACEMENT_MOVER.get(env.PLACEMENT_MOVER.idFromName(moveId));
    await stub.run(2);
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

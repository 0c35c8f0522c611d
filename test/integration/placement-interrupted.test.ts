/**
 * Placement (design.md §4h): moving a tenant to another tenant D1 database while an Okta-shaped
 * client keeps writing, an interrupted move that resumes by itself, a move that rolls back, and the
 * admin API's refusals. Everything through the Worker's HTTP surface and the real D1 / Durable
 * Object bindings; the test reads the databases only to check what no API shows (the old copy is
 * gone, the neighbours' trigger-kept totals are intact).
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { runStep } from "../../src/placement/mover";
import { resumeStalledMoves } from "../../src/placement/service";
import { controlDb } from "../../src/repo/control";
import { copyPage, tableSpecs } from "../../src/repo/placement";
import { countTenantRows, TENANT_TABLES } from "../../src/repo/tenant-erasure";
import { getMove, insertMove } from "../../src/repo/tenant-moves";
import { tenantDb } from "../../src/tenancy/tenant-db";
import { send, signIn } from "../support/console-session";
import { finishMove, seedUsers, tenantId } from "../support/placement";
import { admin, oktaUser, scimTenant, type ScimTenant } from "../support/harness";

const SOURCE = "TENANT_DEFAULT";

describe("an interrupted move", () => {
  it("resumes after being killed mid-copy and ends with every row once", async () => {
    const t: ScimTenant = await scimTenant();
    const id = await tenantId(t.slug);
    await seedUsers(env.TENANT_DEFAULT, id, t.slug, 1_100);
    const kept = await t.scim("POST", "/Users", oktaUser());
    // The move as POST records it, run by hand, step by step, as its alarms would: prepare, then two pages.
    const control = controlDb(env.CONTROL_DB);
    const at = new Date().toISOString();
    const moveId = crypto.randomUUID();
    await insertMove(control, { id: moveId, tenantId: id, tenantSlug: t.slug, fromDatabase: SOURCE, toDatabase: "TENANT_DEMO", state: "preparing", actor: { type: "admin-token" }, startedAt: at, updatedAt: at });
    for (let i = 0; i < 3; i++) await runStep(env, moveId);
    let move = (await getMove(control, moveId))!;
    expect(move.state).toBe("copying");
    expect(move.rowsCopied).toBe(1_000);
    // The console's tenant card shows the move in progress; the admin API its progress.
    const { cookie } = await signIn();
    const cards = await send("GET", "/admin/tenants", { cookie });
    expect(cards.text).toMatch(/data-move-state="copying"[^]*Moving to TENANT_DEMO/);
    expect((await admin("GET", `/tenants/${t.slug}/move`)).body).toMatchObject({ state: "copying", progress: { rowsCopied: 1_000 } });

    // Killed half-way through a step: the next page reached the target but the step never recorded it.
    const source = tenantDb(env, { database: SOURCE });
    const target = tenantDb(env, { database: "TENANT_DEMO" });
    const [spec] = await tableSpecs(source, ["users"]);
    await copyPage(source, target, spec!, id, JSON.parse(move.afterKey!), 500);
    // Writes keep coming while nothing runs the move.
    const during = await t.scim("POST", "/Users", oktaUser());
    expect(during.status).toBe(201);
    expect((await t.scim("PATCH", `/Users/${kept.body.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] })).status).toBe(200);
    expect((await t.scim("DELETE", `/Users/${during.body.id}`)).status).toBe(204);

    // A new object (the old one's process died) picks the move up from its recorded state.
    move = (await getMove(control, moveId))!;
    expect(move.rowsCopied).toBe(1_000);
    // Its alarm died with it: the minute cron finds the move idle and re-arms its object.
    expect(await resumeStalledMoves(env, Date.now() + 10 * 60_000)).toBe(1);
    const stub = env.PLACEMENT_MOVER.get(env.PLACEMENT_MOVER.idFromName(moveId));
    await runDurableObjectAlarm(stub); // (or it has fired already)
    await vi.waitFor(async () => expect((await getMove(control, moveId))!.steps).toBeGreaterThan(move.steps), { timeout: 10_000, interval: 50 });
    const done = await finishMove(t.slug);
    expect(done.state, done.error).toBe("done");
    // This isolate remembered the old database: its first request is answered 429 and looks the tenant up again.
    let first = await t.scim("GET", "/Users?count=1");
    if (first.status === 429) first = await t.scim("GET", "/Users?count=1");
    expect(first.status).toBe(200);
    expect((await t.scim("GET", "/Users?count=1")).body.totalResults).toBe(1_101);
    expect((await t.scim("GET", `/Users/${kept.body.id}`)).body.active).toBe(false);
    expect((await t.scim("GET", `/Users/${during.body.id}`)).status).toBe(404);
    const users = await env.TENANT_DEMO.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT user_name_norm) AS d FROM users WHERE tenant_id = ?1").bind(id).first<{ n: number; d: number }>();
    expect(users).toEqual({ n: 1_101, d: 1_101 });
    const leftover = await countTenantRows(source, id);
    for (const table of TENANT_TABLES) expect(leftover[table], table).toBe(0);
  });
});

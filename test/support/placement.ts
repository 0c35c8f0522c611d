/** Test support for placement: seeding a tenant's users straight into its database (fast), and following a move. */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { expect } from "vitest";
import { admin } from "./harness";

/** Seeds `n` users of tenant `id` into `database`. */
export async function seedUsers(database: D1Database, id: string, prefix: string, n: number): Promise<void> {
  const at = new Date().toISOString();
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < n; i += 14) {
    const rows = Array.from({ length: Math.min(14, n - i) }, (_, k) => i + k);
    const values = rows.map((_, r) => `(?${r * 7 + 1}, ?${r * 7 + 2}, ?${r * 7 + 3}, ?${r * 7 + 4}, ?${r * 7 + 5}, ?${r * 7 + 6}, ?${r * 7 + 7})`).join(", ");
    const params = rows.flatMap((k) => {
      const name = `${prefix}.seed${k}@example.com`;
      return [id, crypto.randomUUID(), name, name.toLowerCase(), JSON.stringify({ userName: name, active: true, name: { givenName: "Seed", familyName: `N${k}` } }), at, at];
    });
    statements.push(database.prepare(`INSERT INTO users (tenant_id, id, user_name, user_name_norm, data, created_at, updated_at) VALUES ${values}`).bind(...params));
  }
  await database.batch(statements);
}

export async function tenantId(slug: string): Promise<string> {
  const row = await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?1").bind(slug).first<{ id: string }>();
  return row!.id;
}

export async function moveState(slug: string): Promise<any> {
  const res = await admin("GET", `/tenants/${slug}/move`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Runs the move's object until it finishes (its alarms would, one after another). */
export async function finishMove(slug: string): Promise<any> {
  for (let i = 0; i < 500; i++) {
    const move = await moveState(slug);
    if (move.state === "done" || move.state === "failed") return move;
    const stub = env.PLACEMENT_MOVER.get(env.PLACEMENT_MOVER.idFromName(move.id));
    await stub.start(move.id);
    await runDurableObjectAlarm(stub);
  }
  throw new Error("the move did not finish");
}

export async function changesAfter(slug: string, cursor: string | null): Promise<{ ids: string[]; next: string | null }> {
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

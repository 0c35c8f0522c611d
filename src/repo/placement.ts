/**
 * Placement's storage work (design.md §4h): copying one tenant's rows from one tenant database to
 * another in bounded pages, the triggers that record which rows change meanwhile (and, for the
 * final catch-up, refuse the tenant's writes), and applying those changes. Every statement binds at
 * most 100 parameters and touches a bounded number of rows. Table and column names come from
 * TENANT_TABLES and the database's own schema, never from input.
 */
import { sql } from "drizzle-orm";
import type { TenantDb } from "../tenancy/tenant-db";

/** The message of the error the freeze triggers raise; src/placement maps it to 429 + Retry-After. */
export const MOVE_REFUSAL = "tenant_moving";

/** The placement_changes `move_id` of the marker a move leaves in the database a tenant left (`tbl` = the tenant id). */
export const MOVED_AWAY = "moved-away";

/** Marks `tenantId` as moved away from this database (token checks of isolates that remember it here answer 429). */
export async function markMovedAway(db: TenantDb, tenantId: string, to: string): Promise<void> {
  await db.$client
    .prepare(`INSERT INTO placement_changes (move_id, tbl, key) SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM placement_changes WHERE move_id = ?1 AND tbl = ?2)`)
    .bind(MOVED_AWAY, tenantId, to)
    .run();
}

/** Forgets that `tenantId` moved away from this database (it is moving back). */
export async function clearMovedAway(db: TenantDb, tenantId: string): Promise<void> {
  await db.$client.prepare("DELETE FROM placement_changes WHERE move_id = ?1 AND tbl = ?2").bind(MOVED_AWAY, tenantId).run();
}

/** D1 binds at most 100 parameters a statement. */
const MAX_PARAMS = 99;

export interface TableSpec {
  table: string;
  columns: string[];
  /** Primary-key columns in key order. */
  key: string[];
  /** An INTEGER PRIMARY KEY AUTOINCREMENT: its numbering continues in the target (see reserveCounter). */
  autoincrement: boolean;
  /**
   * The copy's page order: "key" when an index leads with (tenant_id, key…), so a page is an index
   * range; else "rowid", a walk of the table's own b-tree (no sort of the tenant's rows per page).
   */
  seek: "key" | "rowid";
}

const q = (name: string) => `\`${name.replace(/`/g, "")}\``;

/** Column and key layout of `tables`, read from the database (one query each way), so a table added by a migration needs no code here. */
export async function tableSpecs(db: TenantDb, tables: readonly string[]): Promise<TableSpec[]> {
  const placeholders = tables.map((_, i) => `?${i + 1}`).join(", ");
  const [columns, masters, indexes] = await db.$client.batch([
    db.$client.prepare(`SELECT m.name AS tbl, p.name AS col, p.pk AS pk FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name IN (${placeholders}) ORDER BY m.name, p.cid`).bind(...tables),
    db.$client.prepare(`SELECT name, instr(upper(sql), 'AUTOINCREMENT') > 0 AS ai FROM sqlite_master WHERE type = 'table' AND name IN (${placeholders})`).bind(...tables),
    db.$client
      .prepare(`SELECT m.name AS tbl, il.name AS idx, ii.seqno AS seqno, ii.name AS col FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii WHERE m.type = 'table' AND m.name IN (${placeholders}) ORDER BY m.name, il.name, ii.seqno`)
      .bind(...tables),
  ]);
  const indexColumns = new Map<string, string[]>();
  for (const row of indexes!.results as { tbl: string; idx: string; col: string | null }[]) {
    const k = `${row.tbl}\u0000${row.idx}`;
    indexColumns.set(k, [...(indexColumns.get(k) ?? []), row.col ?? ""]);
  }
  const byTable = new Map<string, { col: string; pk: number }[]>();
  for (const row of columns!.results as { tbl: string; col: string; pk: number }[]) {
    const list = byTable.get(row.tbl) ?? [];
    list.push(row);
    byTable.set(row.tbl, list);
  }
  const autoinc = new Set((masters!.results as { name: string; ai: number }[]).filter((r) => Number(r.ai) === 1).map((r) => r.name));
  return tables.map((table) => {
    const cols = byTable.get(table);
    if (!cols) throw new Error(`table ${table} does not exist in the tenant database`);
    const key = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.col);
    if (key.length === 0) throw new Error(`table ${table} has no primary key: its rows cannot be matched across databases`);
    if (!cols.some((c) => c.col === "tenant_id")) throw new Error(`table ${table} has no tenant_id column`);
    const leading = ["tenant_id", ...key].join(",");
    const seekable = [...indexColumns].some(([k, columns]) => k.startsWith(`${table}\u0000`) && columns.slice(0, key.length + 1).join(",") === leading);
    return { table, columns: cols.map((c) => c.col), key, autoincrement: autoinc.has(table), seek: seekable ? ("key" as const) : ("rowid" as const) };
  });
}

export type Key = (string | number | null)[];

function keyTuple(spec: TableSpec, prefix: string): string {
  return spec.key.length === 1 ? `${prefix}${q(spec.key[0]!)}` : `(${spec.key.map((c) => `${prefix}${q(c)}`).join(", ")})`;
}

function keyOf(spec: TableSpec, row: Record<string, unknown>): Key {
  return spec.key.map((c) => row[c] as string | number | null);
}

/** `INSERT … ON CONFLICT DO UPDATE` of `rows`, split so each statement binds at most 99 values. */
function upserts(db: TenantDb, spec: TableSpec, rows: Record<string, unknown>[]): D1PreparedStatement[] {
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / spec.columns.length));
  const cols = spec.columns.map(q).join(", ");
  // No conflict target: a row that meets another one on any unique index (a userName the source has
  // since moved from one user to another) overwrites that row; the tracked change of the other row
  // brings it back (every row that differs between source and target was changed after its copy).
  const update = spec.columns.map((c) => `${q(c)} = excluded.${q(c)}`).join(", ");
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    const values = chunk.map((_, r) => `(${spec.columns.map((__, c) => `?${r * spec.columns.length + c + 1}`).join(", ")})`).join(", ");
    const params = chunk.flatMap((row) => spec.columns.map((c) => row[c] ?? null));
    out.push(db.$client.prepare(`INSERT INTO ${q(spec.table)} (${cols}) VALUES ${values} ON CONFLICT DO UPDATE SET ${update}`).bind(...params));
  }
  return out;
}

/** Keys (≤ 99 values a statement) as a `key IN (…)` condition starting at parameter `first`. */
function keyChunks(spec: TableSpec, keys: Key[]): Key[][] {
  const per = Math.max(1, Math.floor((MAX_PARAMS - 1) / spec.key.length));
  const out: Key[][] = [];
  for (let i = 0; i < keys.length; i += per) out.push(keys.slice(i, i + per));
  return out;
}

function inList(spec: TableSpec, keys: Key[]): { clause: string; params: unknown[] } {
  const width = spec.key.length;
  const tuples = keys.map((_, k) => (width === 1 ? `?${k + 2}` : `(${spec.key.map((__, c) => `?${k * width + c + 2}`).join(", ")})`));
  const clause = width === 1 ? `${keyTuple(spec, "")} IN (${tuples.join(", ")})` : `${keyTuple(spec, "")} IN (VALUES ${tuples.join(", ")})`;
  return { clause, params: keys.flat() };
}

export interface PageResult {
  rows: number;
  /** The last key copied; null when the table has no more rows of the tenant. */
  lastKey: Key | null;
  queries: number;
}

/** Copies the next page (≤ `limit` rows in key order after `after`) of the tenant's rows of `spec` to `target`. */
export async function copyPage(source: TenantDb, target: TenantDb, spec: TableSpec, tenantId: string, after: Key | null, limit: number): Promise<PageResult> {
  let text: string;
  if (spec.seek === "key") {
    const seek = after ? ` AND ${keyTuple(spec, "")} > ${spec.key.length === 1 ? "?3" : `(${spec.key.map((_, i) => `?${i + 3}`).join(", ")})`}` : "";
    text = `SELECT * FROM ${q(spec.table)} WHERE tenant_id = ?1${seek} ORDER BY ${spec.key.map(q).join(", ")} LIMIT ?2`;
  } else {
    // In rowid order (a row inserted behind the walk is recorded by the tracking trigger, and caught up).
    text = `SELECT rowid AS placement_rowid, * FROM ${q(spec.table)} NOT INDEXED WHERE tenant_id = ?1${after ? " AND rowid > ?3" : ""} ORDER BY rowid LIMIT ?2`;
  }
  const read = await source.$client
    .prepare(text)
    .bind(tenantId, limit, ...(after ?? []))
    .all<Record<string, unknown>>();
  const rows = read.results;
  if (rows.length === 0) return { rows: 0, lastKey: null, queries: 1 };
  const statements = upserts(target, spec, rows);
  await target.$client.batch(statements);
  const last = rows[rows.length - 1]!;
  const lastKey = spec.seek === "key" ? keyOf(spec, last) : [last.placement_rowid as number];
  return { rows: rows.length, lastKey: rows.length < limit ? null : lastKey, queries: 1 + statements.length };
}

function triggerName(moveId: string, table: string, kind: string): string {
  return q(`placement_${moveId.replace(/[^A-Za-z0-9]/g, "")}_${table}_${kind}`);
}

function literal(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(value)) throw new Error("unexpected identifier in a placement trigger");
  return `'${value}'`;
}

/**
 * Triggers on the source that record the key of each of the tenant's rows written from now on
 * (insert, update, delete; an update that changes the key records both keys). Idempotent.
 */
export async function installTracking(source: TenantDb, moveId: string, tenantId: string, specs: TableSpec[]): Promise<number> {
  const move = literal(moveId);
  const tenant = literal(tenantId);
  const statements = specs.flatMap((spec) => {
    const record = (row: "new" | "old") => `INSERT INTO placement_changes (move_id, tbl, key) VALUES (${move}, ${literal(spec.table)}, json_array(${spec.key.map((c) => `${row}.${q(c)}`).join(", ")}));`;
    const keyChanged = spec.key.map((c) => `new.${q(c)} IS NOT old.${q(c)}`).join(" OR ");
    return [
      `CREATE TRIGGER IF NOT EXISTS ${triggerName(moveId, spec.table, "ti")} AFTER INSERT ON ${q(spec.table)} WHEN new.tenant_id = ${tenant} BEGIN ${record("new")} END`,
      `CREATE TRIGGER IF NOT EXISTS ${triggerName(moveId, spec.table, "tu")} AFTER UPDATE ON ${q(spec.table)} WHEN new.tenant_id = ${tenant} OR old.tenant_id = ${tenant} BEGIN ${record("old")} INSERT INTO placement_changes (move_id, tbl, key) SELECT ${move}, ${literal(spec.table)}, json_array(${spec.key.map((c) => `new.${q(c)}`).join(", ")}) WHERE ${keyChanged}; END`,
      `CREATE TRIGGER IF NOT EXISTS ${triggerName(moveId, spec.table, "td")} AFTER DELETE ON ${q(spec.table)} WHEN old.tenant_id = ${tenant} BEGIN ${record("old")} END`,
    ].map((text) => source.$client.prepare(text));
  });
  await source.$client.batch(statements);
  return statements.length;
}

/**
 * Triggers on the source that refuse every write of the tenant's rows (the error MOVE_REFUSAL),
 * created in the same transaction as nothing else: once this returns, no write of the tenant can
 * commit on the source, so the changes recorded so far are all there is to catch up.
 */
export async function installFreeze(source: TenantDb, moveId: string, tenantId: string, specs: TableSpec[]): Promise<number> {
  const tenant = literal(tenantId);
  const raise = `BEGIN SELECT RAISE(ABORT, '${MOVE_REFUSAL}'); END`;
  const statements = specs.flatMap((spec) =>
    [
      `CREATE TRIGGER IF NOT EXISTS ${triggerName(moveId, spec.table, "fi")} BEFORE INSERT ON ${q(spec.table)} WHEN new.tenant_id = ${tenant} ${raise}`,
      `CREATE TRIGGER IF NOT EXISTS ${triggerName(moveId, spec.table, "fu")} BEFORE UPDATE ON ${q(spec.table)} WHEN new.tenant_id = ${tenant} OR old.tenant_id = ${tenant} ${raise}`,
      `CREATE TRIGGER IF NOT EXISTS ${triggerName(moveId, spec.table, "fd")} BEFORE DELETE ON ${q(spec.table)} WHEN old.tenant_id = ${tenant} ${raise}`,
    ].map((text) => source.$client.prepare(text)),
  );
  await source.$client.batch(statements);
  return statements.length;
}

/** Drops the move's triggers of the given kinds (ti/tu/td: tracking, fi/fu/fd: freeze). Idempotent. */
export async function dropTriggers(source: TenantDb, moveId: string, tables: readonly string[], kinds: readonly string[]): Promise<number> {
  const statements = tables.flatMap((table) => kinds.map((kind) => source.$client.prepare(`DROP TRIGGER IF EXISTS ${triggerName(moveId, table, kind)}`)));
  if (statements.length) await source.$client.batch(statements);
  return statements.length;
}

export const TRACKING = ["ti", "tu", "td"] as const;
export const FREEZE = ["fi", "fu", "fd"] as const;

export interface ChangeRow {
  id: number;
  tbl: string;
  key: string;
}

/** The oldest `limit` recorded changes of the move. */
export async function pendingChanges(source: TenantDb, moveId: string, limit: number): Promise<ChangeRow[]> {
  const rows = await source.$client.prepare("SELECT id, tbl, key FROM placement_changes WHERE move_id = ?1 ORDER BY id LIMIT ?2").bind(moveId, limit).all<ChangeRow>();
  return rows.results;
}

/** How many changes of the move wait, counting at most `cap` (an index range scan of at most that many entries). */
export async function countChanges(source: TenantDb, moveId: string, cap: number): Promise<number> {
  const row = await source.$client.prepare("SELECT COUNT(*) AS n FROM (SELECT 1 FROM placement_changes WHERE move_id = ?1 LIMIT ?2)").bind(moveId, cap).first<{ n: number }>();
  return Number(row?.n ?? 0);
}

/**
 * Brings the target's copy of every row named in `changes` to the source's current state: rows
 * still in the source are upserted, rows gone from it are deleted (deletes first, so a freed
 * userName is free in the target too). Idempotent: applying the same changes again changes nothing.
 */
export async function applyChanges(source: TenantDb, target: TenantDb, specs: TableSpec[], tenantId: string, changes: ChangeRow[]): Promise<number> {
  let queries = 0;
  const byTable = new Map<string, Map<string, Key>>();
  for (const change of changes) {
    const keys = byTable.get(change.tbl) ?? new Map<string, Key>();
    keys.set(change.key, JSON.parse(change.key) as Key);
    byTable.set(change.tbl, keys);
  }
  const deletes: D1PreparedStatement[] = [];
  const writes: D1PreparedStatement[] = [];
  /** Each row's upsert on its own, for the fallback below. */
  const single: D1PreparedStatement[] = [];
  for (const spec of specs) {
    const wanted = byTable.get(spec.table);
    if (!wanted) continue;
    const keys = [...wanted.values()];
    const reads = keyChunks(spec, keys).map((chunk) => {
      const { clause, params } = inList(spec, chunk);
      return source.$client.prepare(`SELECT * FROM ${q(spec.table)} WHERE tenant_id = ?1 AND ${clause}`).bind(tenantId, ...params);
    });
    const results = await source.$client.batch<Record<string, unknown>>(reads);
    queries += reads.length;
    const present = results.flatMap((r) => r.results);
    const found = new Set(present.map((row) => JSON.stringify(keyOf(spec, row))));
    const gone = keys.filter((key) => !found.has(JSON.stringify(key)));
    for (const chunk of keyChunks(spec, gone)) {
      const { clause, params } = inList(spec, chunk);
      deletes.push(target.$client.prepare(`DELETE FROM ${q(spec.table)} WHERE tenant_id = ?1 AND ${clause}`).bind(tenantId, ...params));
    }
    if (present.length) writes.push(...upserts(target, spec, present));
    for (const row of present) single.push(...upserts(target, spec, [row]));
  }
  const statements = [...deletes, ...writes];
  if (statements.length === 0) return queries;
  try {
    await target.$client.batch(statements);
    return queries + statements.length;
  } catch (error) {
    if (!/UNIQUE constraint failed/i.test(String((error as Error)?.message))) throw error;
  }
  // Two changed rows of one batch meet on a unique index (userNames renamed along a chain: a row
  // takes the name another gives up, which comes later in the batch). Row by row, in passes, each
  // row once the one in its way has moved on; a cycle (two rows swapping names) still fails, and
  // the move retries and in the end rolls back.
  if (deletes.length) await target.$client.batch(deletes);
  queries += deletes.length;
  let waiting = single;
  // Bounded like every step (the platform allows 1,000 queries an invocation): what is left is
  // applied by the next step, which reads the same changes again (they are forgotten only once applied).
  let budget = 300;
  while (waiting.length) {
    const failed: D1PreparedStatement[] = [];
    for (const statement of waiting) {
      if (budget-- <= 0) throw new Error("placement: unique-index conflicts left for the next step");
      queries += 1;
      try {
        await statement.run();
      } catch (error) {
        if (!/UNIQUE constraint failed/i.test(String((error as Error)?.message))) throw error;
        failed.push(statement);
      }
    }
    if (failed.length === waiting.length) throw new Error(`placement: ${failed.length} changed rows conflict on a unique index in a cycle`);
    waiting = failed;
  }
  return queries;
}

/** Forgets the move's changes up to and including `throughId` (already applied to the target). */
export async function forgetChanges(source: TenantDb, moveId: string, throughId: number): Promise<void> {
  await source.$client.prepare("DELETE FROM placement_changes WHERE move_id = ?1 AND id <= ?2").bind(moveId, throughId).run();
}

/** Forgets up to `limit` of the move's changes (a finished or rolled-back move); how many went. */
export async function dropChanges(source: TenantDb, moveId: string, limit: number): Promise<number> {
  const result = await source.$client
    .prepare("DELETE FROM placement_changes WHERE id IN (SELECT id FROM placement_changes WHERE move_id = ?1 LIMIT ?2) RETURNING 1 AS gone")
    .bind(moveId, limit)
    .all();
  return result.results.length;
}

/** The highest number an AUTOINCREMENT table has handed out (sqlite_sequence, else its largest key). */
export async function counter(db: TenantDb, spec: TableSpec): Promise<number> {
  const row = await db.$client
    .prepare(`SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?1), 0), coalesce((SELECT max(${q(spec.key[0]!)}) FROM ${q(spec.table)}), 0)) AS n`)
    .bind(spec.table)
    .first<{ n: number }>();
  return Number(row?.n ?? 0);
}

/** The tenant's lowest key in an AUTOINCREMENT table, or null when it has no rows there. */
export async function lowestKey(db: TenantDb, spec: TableSpec, tenantId: string): Promise<number | null> {
  const row = await db.$client.prepare(`SELECT min(${q(spec.key[0]!)}) AS n FROM ${q(spec.table)} WHERE tenant_id = ?1`).bind(tenantId).first<{ n: number | null }>();
  return row?.n === null || row?.n === undefined ? null : Number(row.n);
}

/**
 * Moves the table's AUTOINCREMENT counter to at least `value`, so the target's own new rows are
 * numbered above every key the moving tenant brings (its keys are copied unchanged: change-feed
 * cursors and log ids stay valid).
 */
export async function reserveCounter(db: TenantDb, table: string, value: number): Promise<void> {
  await db.$client.batch([
    db.$client.prepare("INSERT INTO sqlite_sequence (name, seq) SELECT ?1, 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?1)").bind(table),
    db.$client.prepare("UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1 AND seq < ?2").bind(table, value),
  ]);
}

/** Undoes reserveCounter after a rolled-back move: the counter back to the largest key the table holds. */
export async function releaseCounter(db: TenantDb, spec: TableSpec): Promise<void> {
  await db.$client.prepare(`UPDATE sqlite_sequence SET seq = (SELECT coalesce(max(${q(spec.key[0]!)}), 0) FROM ${q(spec.table)}) WHERE name = ?1`).bind(spec.table).run();
}

/** The trigger-kept totals of the tenant (resource_counts), for comparing source and target. */
export async function resourceTotals(db: TenantDb, tenantId: string): Promise<Record<string, number>> {
  const rows = await db.all<{ resource: string; n: number }>(sql`SELECT resource, n FROM resource_counts WHERE tenant_id = ${tenantId} ORDER BY resource`);
  return Object.fromEntries(rows.map((r) => [r.resource, Number(r.n)]));
}

/** The tenant's group member counts (group_sizes) summed, and how many groups have one. */
export async function groupSizeTotals(db: TenantDb, tenantId: string): Promise<{ groups: number; members: number }> {
  const rows = await db.all<{ g: number; m: number | null }>(sql`SELECT COUNT(*) AS g, SUM(members) AS m FROM group_sizes WHERE tenant_id = ${tenantId} AND members > 0`);
  return { groups: Number(rows[0]?.g ?? 0), members: Number(rows[0]?.m ?? 0) };
}

/**
 * D1 `batch()` over drizzle-built statements and raw `sql` fragments alike. A batch is one atomic
 * transaction on D1; drizzle's own `db.batch` cannot carry raw statements such as the guarded
 * `INSERT … SELECT … WHERE EXISTS` that ties an event to the write before it.
 */
import { is, SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import type { TenantDb } from "../tenancy/tenant-db";

const dialect = new SQLiteAsyncDialect();

export type BatchStatement = SQL | { toSQL(): { sql: string; params: unknown[] } };

export async function runBatch(db: { $client: D1Database }, statements: BatchStatement[]): Promise<D1Result[]> {
  const prepared = statements.map((statement) => {
    const query = is(statement, SQL) ? dialect.sqlToQuery(statement) : statement.toSQL();
    return db.$client.prepare(query.sql).bind(...query.params);
  });
  return db.$client.batch(prepared);
}

/** D1 allows 100 bound parameters per statement; IN lists are chunked below that. */
export const MAX_IN_LIST = 90;

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * One read per chunk of `ids` (each under D1's parameter limit), all in a single batch, so any
 * number of ids costs one round trip; the rows of every chunk, in order.
 */
export async function readInChunks<Query extends BatchItem<"sqlite"> & PromiseLike<unknown[]>>(
  db: TenantDb,
  ids: string[],
  query: (part: string[]) => Query,
): Promise<Awaited<Query>> {
  const [first, ...rest] = chunk(ids, MAX_IN_LIST).map(query);
  if (!first) return [] as unknown as Awaited<Query>;
  return ((await db.batch([first, ...rest])) as unknown[][]).flat() as Awaited<Query>;
}

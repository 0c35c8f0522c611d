/**
 * D1 `batch()` over drizzle-built statements and raw `sql` fragments alike. A batch is one atomic
 * transaction on D1; drizzle's own `db.batch` cannot carry raw statements such as the guarded
 * `INSERT … SELECT … WHERE EXISTS` that ties an event to the write before it.
 */
import { is, SQL } from "drizzle-orm";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";

const dialect = new SQLiteAsyncDialect();

export type BatchStatement = SQL | { toSQL(): { sql: string; params: unknown[] } };

export async function runBatch(db: { $client: D1Database }, statements: BatchStatement[]): Promise<D1Result[]> {
  const prepared = statements.map((statement) => {
    const query = is(statement, SQL) ? dialect.sqlToQuery(statement) : statement.toSQL();
    return db.$client.prepare(query.sql).bind(...query.params);
  });
  return db.$client.batch(prepared);
}

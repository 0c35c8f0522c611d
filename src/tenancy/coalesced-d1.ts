/**
 * A tenant database view for a `/Bulk` request that runs several operations at once: every write
 * batch (and single write) they issue in the same turn of the event loop goes to D1 as ONE batch,
 * and each caller gets its own statements' results back. D1 allows 1,000 queries per Worker
 * invocation; a 1,000-operation Bulk of creates would otherwise make about 1,000 (issue 18).
 *
 * Atomicity is per operation, as if each had run alone: a D1 batch is one transaction, so when the
 * combined batch fails (one operation's statement raised an error) nothing of it committed, and each
 * operation's statements are run again on their own, in order, so only the failing one fails.
 * Reads (`first`, `all`, `raw`) pass straight through: the writes are what a create sends.
 */
import type { TenantDb } from "./tenant-db";
import { drizzle } from "drizzle-orm/d1";
import { tenantSchema } from "../db/tenant/schema";

interface Pending {
  statements: D1PreparedStatement[];
  resolve: (results: D1Result[]) => void;
  reject: (error: unknown) => void;
}

class CoalescedStatement {
  constructor(
    private readonly owner: CoalescedD1,
    readonly inner: D1PreparedStatement,
  ) {}

  bind(...values: unknown[]): CoalescedStatement {
    return new CoalescedStatement(this.owner, this.inner.bind(...values));
  }

  first(column?: string) {
    return column === undefined ? this.inner.first() : this.inner.first(column);
  }

  all() {
    return this.inner.all();
  }

  raw(options?: { columnNames?: boolean }) {
    return options?.columnNames ? this.inner.raw({ columnNames: true }) : this.inner.raw();
  }

  async run(): Promise<D1Result> {
    const [result] = await this.owner.enqueue([this.inner]);
    return result!;
  }
}

export class CoalescedD1 {
  #pending: Pending[] = [];
  #scheduled = false;
  /** D1 batches sent, for tests and the benchmark's budget check. */
  batches = 0;

  constructor(private readonly inner: D1Database) {}

  prepare(query: string): CoalescedStatement {
    return new CoalescedStatement(this, this.inner.prepare(query));
  }

  batch(statements: (CoalescedStatement | D1PreparedStatement)[]): Promise<D1Result[]> {
    return this.enqueue(statements.map((s) => (s instanceof CoalescedStatement ? s.inner : s)));
  }

  exec(query: string): Promise<D1ExecResult> {
    return this.inner.exec(query);
  }

  enqueue(statements: D1PreparedStatement[]): Promise<D1Result[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ statements, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // After the current turn: every operation started together has queued its batch by then.
        setTimeout(() => void this.#flush(), 0);
      }
    });
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = [];
    if (pending.length === 0) return;
    try {
      this.batches += 1;
      const results = await this.inner.batch(pending.flatMap((p) => p.statements));
      let at = 0;
      for (const p of pending) {
        p.resolve(results.slice(at, at + p.statements.length));
        at += p.statements.length;
      }
    } catch (error) {
      if (pending.length === 1) return pending[0]!.reject(error);
      // Nothing of the combined batch committed: each operation again, alone, in order.
      for (const p of pending) {
        try {
          this.batches += 1;
          p.resolve(await this.inner.batch(p.statements));
        } catch (own) {
          p.reject(own);
        }
      }
    }
  }

  asD1(): D1Database {
    return this as unknown as D1Database;
  }
}

/** `db` whose writes coalesce as above; `d1` counts the batches sent. */
export function coalescedDb(db: TenantDb): { db: TenantDb; d1: CoalescedD1 } {
  const d1 = new CoalescedD1(db.$client);
  return { db: drizzle(d1.asD1(), { schema: tenantSchema }) as TenantDb, d1 };
}

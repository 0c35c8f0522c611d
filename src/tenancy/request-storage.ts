/**
 * A request's view of its tenant database: every call is metered (Server-Timing), and while the
 * request's token is not yet verified, the first call carries the token check with it, so that
 * authentication costs no round trip of its own.
 *
 * - A batch (read or write) becomes `batch([check, ...statements])`: D1 runs a batch as one
 *   transaction, and a failing check rolls all of it back, so a refused token never changes data.
 * - A single write runs the same way, as a batch of two.
 * - A single read runs in parallel with a check on its own (one round trip either way); its result
 *   is discarded when the check fails.
 * Once the check has passed, calls go straight through; once it has failed, every further call is
 * refused without I/O, so no bookkeeping write (a failure event) follows a refused token either.
 */
import { isTokenRefusal, tokenCheckSql, tokenCopyProbeSql } from "../repo/token-copies";
import { ApiError } from "../scim/errors";
import type { StorageMeter } from "../lib/storage-meter";

const UNAUTHORIZED_DETAIL =
  "Authentication failed. Send the tenant's SCIM token as 'Authorization: Bearer <token>', and check that the Base URL names the right tenant, that SCIM provisioning is switched on for it, and that the token is the latest one generated (regenerating or switching SCIM off revokes the previous token).";

/** The one answer to every authentication failure: unknown tenant, wrong, revoked or foreign token, SCIM off. */
export function unauthorized(): ApiError {
  return new ApiError(401, UNAUTHORIZED_DETAIL, { headers: { "WWW-Authenticate": 'Bearer realm="TheStorage SCIM"' } });
}

export type GateState = "pending" | "verified" | "refused";

/** What a Durable Object needs to check the same token in its own batches. */
export interface TokenCredential {
  tenantId: string;
  digest: string;
}

/** The verification of one request's token against the tenant database's copy of live digests. */
export class TokenGate {
  #state: GateState = "pending";
  #inFlight: Promise<boolean> | null = null;

  constructor(
    readonly credential: TokenCredential,
    private readonly d1: D1Database,
    private readonly meter?: StorageMeter,
  ) {}

  get state(): GateState {
    return this.#state;
  }

  statement(): D1PreparedStatement {
    const check = tokenCheckSql(this.credential.tenantId, this.credential.digest);
    return this.d1.prepare(check.sql).bind(...check.params);
  }

  /** Runs `batch` (which carries `statement()` first) as the check, if none is in flight yet. */
  carry<T>(batch: () => Promise<T>): Promise<T> {
    const run = batch().then(
      (value) => {
        this.#settle(true);
        return value;
      },
      (error: unknown) => {
        // Settled before anyone sees the error, so nothing written on the way out (a failure event) gets through.
        if (isTokenRefusal(error)) {
          this.#settle(false);
          throw unauthorized();
        }
        throw error;
      },
    );
    if (!this.#inFlight) {
      const verdict = run.then(
        () => true,
        () => (this.#state === "refused" ? false : null),
      );
      this.#inFlight = verdict.then((ok) => {
        // Another failure of the batch (a unique index, the platform) says nothing about the token.
        if (ok === null) {
          this.#inFlight = null;
          return this.check();
        }
        return ok;
      });
      // Observed here too: when nobody waits on the verdict, a storage failure in it is not an unhandled rejection.
      this.#inFlight.catch(() => {});
    }
    return run;
  }

  /** True once the token is known live: waits for a check in flight, or runs one on its own. */
  check(): Promise<boolean> {
    if (this.#state !== "pending") return Promise.resolve(this.#state === "verified");
    this.#inFlight ??= (async () => {
      const run = () => this.statement().first();
      try {
        await (this.meter ? this.meter.track(run) : run());
        return true;
      } catch (error) {
        if (isTokenRefusal(error)) return false;
        this.#inFlight = null; // a storage failure is not a verdict: the next call checks again
        throw error;
      }
    })();
    return this.#inFlight.then((ok) => this.#settle(ok));
  }

  #settle(ok: boolean): boolean {
    if (this.#state === "pending") this.#state = ok ? "verified" : "refused";
    return this.#state === "verified";
  }
}

/**
 * For a request CONTROL_DB authenticated (a cold one): whether the tenant database has the token's
 * copy, learnt for free in the request's first batch. Only then may the isolate remember the token,
 * since warm requests are checked against that copy: a token whose copy is missing (minted before
 * copies existed, until the sync writes it) keeps being authenticated by CONTROL_DB instead of
 * being refused every other request.
 */
export class CopyProbe {
  present: boolean | null = null;
  #sent = false;

  constructor(private readonly credential: TokenCredential) {}

  /** The probe statement, the first time only. */
  take(d1: D1Database): D1PreparedStatement | null {
    if (this.#sent) return null;
    this.#sent = true;
    const probe = tokenCopyProbeSql(this.credential.tenantId, this.credential.digest);
    return d1.prepare(probe.sql).bind(...probe.params);
  }

  read(result: D1Result): void {
    this.present = Number((result.results[0] as { present?: number } | undefined)?.present ?? 0) > 0;
  }
}

const READ = /^\s*select\b/i;

/** Wraps a prepared statement so its execution is metered and gated; `inner` is what D1's batch() takes. */
class RequestStatement {
  constructor(
    private readonly storage: RequestD1,
    readonly inner: D1PreparedStatement,
    private readonly sql: string,
  ) {}

  bind(...values: unknown[]): RequestStatement {
    return new RequestStatement(this.storage, this.inner.bind(...values), this.sql);
  }

  first(column?: string): Promise<unknown> {
    return this.storage.single(this.sql, () => (column === undefined ? this.inner.first() : this.inner.first(column)), this.inner, (result) => {
      const row = result.results[0] as Record<string, unknown> | undefined;
      return row === undefined ? null : column === undefined ? row : row[column];
    });
  }

  all(): Promise<unknown> {
    return this.storage.single(this.sql, () => this.inner.all(), this.inner, (result) => result);
  }

  run(): Promise<unknown> {
    return this.storage.single(this.sql, () => this.inner.run(), this.inner, (result) => result);
  }

  raw(options?: { columnNames?: boolean }): Promise<unknown> {
    return this.storage.single(this.sql, () => (options?.columnNames ? this.inner.raw({ columnNames: true }) : this.inner.raw()), this.inner, (result) => {
      const rows = (result.results as Record<string, unknown>[]).map((row) => Object.values(row));
      return options?.columnNames ? [Object.keys((result.results[0] as object) ?? {}), ...rows] : rows;
    });
  }
}

/** The D1 surface drizzle uses (prepare, batch), metered and gated. */
export class RequestD1 {
  constructor(
    private readonly d1: D1Database,
    private readonly meter?: StorageMeter,
    private readonly gate?: TokenGate | null,
    private readonly probe?: CopyProbe | null,
  ) {}

  prepare(query: string): RequestStatement {
    return new RequestStatement(this, this.d1.prepare(query), query);
  }

  async batch(statements: RequestStatement[]): Promise<D1Result[]> {
    const inner = statements.map((s) => (s instanceof RequestStatement ? s.inner : (s as D1PreparedStatement)));
    const gate = this.#pendingGate();
    const probe = gate ? null : this.probe?.take(this.d1);
    if (probe) {
      const [probed, ...results] = await this.#track(() => this.d1.batch([probe, ...inner]));
      this.probe!.read(probed);
      return results;
    }
    if (!gate) return this.#track(() => this.d1.batch(inner));
    const results = await gate.carry(() => this.#track(() => this.d1.batch([gate.statement(), ...inner])));
    return results.slice(1);
  }

  exec(query: string): Promise<D1ExecResult> {
    if (this.#pendingGate()) throw new Error("exec() cannot carry the token check");
    return this.#track(() => this.d1.exec(query));
  }

  /** One statement: reads in parallel with the check, writes in one batch with it. */
  async single<T>(sql: string, direct: () => Promise<T>, inner: D1PreparedStatement, fromBatch: (result: D1Result) => unknown): Promise<T> {
    const gate = this.#pendingGate();
    if (!gate) return this.#track(direct);
    if (READ.test(sql)) {
      const [ok, value] = await Promise.all([gate.check(), this.#track(direct)]);
      if (!ok) throw unauthorized();
      return value;
    }
    const results = await gate.carry(() => this.#track(() => this.d1.batch([gate.statement(), inner])));
    return fromBatch(results[1]) as T;
  }

  #pendingGate(): TokenGate | null {
    if (!this.gate) return null;
    if (this.gate.state === "refused") throw unauthorized();
    return this.gate.state === "pending" ? this.gate : null;
  }

  #track<T>(call: () => Promise<T>): Promise<T> {
    return this.meter ? this.meter.track(call) : call();
  }

  /** As D1Database, for drizzle. */
  asD1(): D1Database {
    return this as unknown as D1Database;
  }
}

/** What a write sent to a Durable Object needs from its request: the meter, and the token check still owed. */
export interface WriteVia {
  meter?: StorageMeter;
  gate?: TokenGate | null;
  /** A cold request's probe for its token's copy: sent alongside the writer call, so that a stream of writes warms up too. */
  probe?: CopyProbe | null;
}

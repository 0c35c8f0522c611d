/**
 * Counts a request's storage round trips for `Server-Timing` (design.md §4d). Every D1 or Durable
 * Object call made for the request goes through `track`. A call issued while another is still in
 * flight ran in parallel with it and joins its cluster; a call issued while none is in flight waited
 * for the previous ones and opens a new cluster: n is the number of clusters. A call may report
 * round trips it made further down (the ScimWriter's own D1 batches): they are sequential behind
 * that call and add to its cluster. Work still running when the response is produced (`stop()`),
 * such as waitUntil bookkeeping, is not on the response's path and is not counted.
 *
 * Clusters are counted from the calls' order, not from timestamps: a Worker's clock only advances
 * across I/O, so two calls issued back to back would share a timestamp either way.
 */

export interface StorageSummary {
  roundTrips: number;
  /** Time with at least one call in flight, in ms. */
  durationMs: number;
}

interface Cluster {
  start: number;
  end: number;
  /** Most round trips any call of the cluster made behind itself. */
  inner: number;
}

export class StorageMeter {
  readonly #clusters: Cluster[] = [];
  #inFlight = 0;
  #stopped = false;

  /** Runs `call`, recording it; `inner` reads how many round trips the call made behind itself. */
  async track<T>(call: () => Promise<T>, inner?: (value: T) => number): Promise<T> {
    if (this.#stopped) return call();
    if (this.#inFlight === 0) this.#clusters.push({ start: performance.now(), end: performance.now(), inner: 0 });
    const cluster = this.#clusters[this.#clusters.length - 1];
    this.#inFlight += 1;
    try {
      const value = await call();
      if (!this.#stopped) cluster.inner = Math.max(cluster.inner, inner?.(value) ?? 0);
      return value;
    } finally {
      this.#inFlight -= 1;
      if (!this.#stopped) cluster.end = Math.max(cluster.end, performance.now());
    }
  }

  /** Ends the measurement: the response is produced, whatever runs later is not on its path. */
  stop(): StorageSummary {
    if (!this.#stopped && this.#inFlight > 0) this.#clusters[this.#clusters.length - 1].end = performance.now();
    this.#stopped = true;
    return this.summary();
  }

  summary(): StorageSummary {
    return {
      roundTrips: this.#clusters.reduce((n, c) => n + 1 + c.inner, 0),
      durationMs: this.#clusters.reduce((ms, c) => ms + (c.end - c.start), 0),
    };
  }
}

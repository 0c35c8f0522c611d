/**
 * Measuring: latency samples per request kind, failures per phase, 429 handling, a worker pool and
 * a progress line.
 */
import { performance } from "node:perf_hooks";

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? null),
    mean: sorted.length ? round(sum / sorted.length) : null,
  };
}

export function round(x, digits = 2) {
  if (x === null || x === undefined || Number.isNaN(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/**
 * One phase's bookkeeping. Latencies are kept per request kind; a non-2xx answer (or a network
 * error) is a failure, except 429, which is waited out (Retry-After) and retried, and counted apart.
 */
export class Phase {
  /**
   * Set by run.mjs: () → CPU ms used so far by each process of interest ({ service, baseline,
   * bench }, null where unknown). Every phase records how much each used while it ran.
   */
  static cpuSampler = null;

  constructor(name, label) {
    this.name = name;
    this.label = label;
    this.kinds = new Map();
    this.failures = 0;
    this.failureSamples = [];
    this.throttled = 0;
    this.throttledWaitMs = 0;
    this.requests = 0;
    this.started = performance.now();
    this.wallMs = null;
    this.notes = [];
    this.extra = {};
    /** kind → (storage round trips from Server-Timing → requests), for the service's answers. */
    this.roundTrips = new Map();
    /** kind → { storage: [ms], total: [ms] } from Server-Timing. */
    this.serverTiming = new Map();
    this.cpuAtStart = Phase.cpuSampler?.() ?? null;
    /** CPU ms each process used during the phase, or null. */
    this.cpu = null;
  }

  /**
   * Records a `Server-Timing: storage;dur=<ms>;desc="rt=<n>", total;dur=<ms>` header, if any: the
   * round trips, and the server's own view of the storage time and the total.
   */
  noteRoundTrips(kind, header) {
    const match = /storage;dur=([\d.]+);desc="rt=(\d+)"/.exec(header ?? "");
    if (!match) return;
    let counts = this.roundTrips.get(kind);
    if (!counts) this.roundTrips.set(kind, (counts = new Map()));
    const n = Number(match[2]);
    counts.set(n, (counts.get(n) ?? 0) + 1);
    const total = /total;dur=([\d.]+)/.exec(header);
    let timing = this.serverTiming.get(kind);
    if (!timing) this.serverTiming.set(kind, (timing = { storage: [], total: [] }));
    timing.storage.push(Number(match[1]));
    if (total) timing.total.push(Number(total[1]));
  }

  /** p50s of the server-reported storage and total durations of `kind`, or null. */
  serverTimingOf(kind) {
    const timing = this.serverTiming.get(kind);
    if (!timing) return null;
    return { storageP50: summarize(timing.storage).p50, totalP50: summarize(timing.total).p50 };
  }

  /** "1", or "1–2 (mostly 1)" when requests of one kind differed; "" when none reported it. */
  roundTripsOf(kind) {
    const counts = this.roundTrips.get(kind);
    if (!counts || counts.size === 0) return "";
    const ns = [...counts.keys()].sort((a, b) => a - b);
    if (ns.length === 1) return String(ns[0]);
    const mode = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
    return `${ns[0]}–${ns[ns.length - 1]} (mostly ${mode})`;
  }

  sample(kind, ms) {
    let list = this.kinds.get(kind);
    if (!list) this.kinds.set(kind, (list = []));
    list.push(ms);
  }

  fail(kind, status, detail) {
    this.failures++;
    if (this.failureSamples.length < 5) this.failureSamples.push({ kind, status, detail: String(detail).slice(0, 300) });
  }

  finish() {
    this.wallMs = performance.now() - this.started;
    this.cpu = cpuSince(this.cpuAtStart);
    return this;
  }

  stats(kind) {
    return summarize(this.kinds.get(kind) ?? []);
  }

  toJSON() {
    return {
      label: this.label,
      wallMs: round(this.wallMs),
      requests: this.requests,
      failures: this.failures,
      failureSamples: this.failureSamples,
      throttled429: this.throttled,
      throttledWaitMs: round(this.throttledWaitMs),
      kinds: Object.fromEntries([...this.kinds.keys()].map((k) => [k, { ...this.stats(k), ...(this.roundTrips.has(k) ? { roundTrips: Object.fromEntries(this.roundTrips.get(k)), serverTiming: this.serverTimingOf(k) } : {}) }])),
      notes: this.notes,
      ...(this.cpu ? { cpuMs: this.cpu } : {}),
      ...this.extra,
    };
  }
}

/** CPU ms per process since `start` (a Phase.cpuSampler reading), or null. */
export function cpuSince(start) {
  const end = start ? Phase.cpuSampler?.() : null;
  if (!end) return null;
  return Object.fromEntries(Object.keys(end).map((k) => [k, end[k] !== null && start[k] !== null && start[k] !== undefined ? round(end[k] - start[k], 0) : null]));
}

/** Aborted on Ctrl-C / failure: in-flight requests stop and no new ones are sent. */
export const runAbort = new AbortController();

/**
 * A request's signal, following the run's: fetch keeps a listener on whatever signal it is given,
 * and thousands of requests on the run's own signal trip Node's MaxListeners warning.
 * AbortSignal.any follows its source without adding a listener to it.
 */
export function requestSignal() {
  return AbortSignal.any([runAbort.signal]);
}

/**
 * An HTTP client bound to one server. Shares one back-off gate between all concurrent workers: when
 * any request gets a 429, every worker waits out its Retry-After before sending again (as an IdP's
 * connector does).
 */
export class Client {
  constructor(baseUrl, headers = {}) {
    this.baseUrl = baseUrl;
    this.headers = headers;
    this.pausedUntil = 0;
  }

  /**
   * Sends one request; records its latency under `kind` in `phase` (time to the full body) and
   * counts it. Resolves { status, headers, body (parsed JSON or text), ms, ok }.
   */
  async send(phase, kind, method, path, body, { expect = (s) => s >= 200 && s < 300, headers = {} } = {}) {
    const url = path.startsWith("http") ? path : this.baseUrl + path;
    const init = { signal: requestSignal(), method, headers: { Accept: "application/scim+json", ...this.headers, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      init.headers["Content-Type"] = "application/scim+json";
    }
    for (let attempt = 0; ; attempt++) {
      runAbort.signal.throwIfAborted();
      const wait = this.pausedUntil - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t0 = performance.now();
      let res;
      let text;
      try {
        res = await fetch(url, init);
        text = await res.text();
      } catch (error) {
        runAbort.signal.throwIfAborted();
        const ms = performance.now() - t0;
        phase.requests++;
        phase.fail(kind, 0, `network error: ${error.cause?.code ?? error.message}`);
        return { status: 0, ok: false, ms, body: null, headers: new Headers() };
      }
      const ms = performance.now() - t0;
      phase.requests++;
      if (res.status === 429 && attempt < 50) {
        phase.throttled++;
        const retryAfter = Number(res.headers.get("Retry-After"));
        const pause = (Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1) * 1000;
        const until = Date.now() + pause;
        if (until > this.pausedUntil) {
          phase.throttledWaitMs += until - Math.max(Date.now(), this.pausedUntil);
          this.pausedUntil = until;
        }
        continue;
      }
      let parsed = text;
      if (text && /json/.test(res.headers.get("Content-Type") ?? "")) {
        try {
          parsed = JSON.parse(text);
        } catch {
          // leave as text
        }
      }
      const ok = expect(res.status);
      phase.noteRoundTrips(kind, res.headers.get("Server-Timing"));
      if (ok) phase.sample(kind, ms);
      else phase.fail(kind, res.status, `${method} ${path.slice(0, 120)} → ${res.status} ${typeof parsed === "object" && parsed ? (parsed.detail ?? JSON.stringify(parsed)) : text}`);
      return { status: res.status, ok, ms, body: parsed, headers: res.headers };
    }
  }
}

/** Runs `fn(item, index)` over `items` with at most `concurrency` in flight. */
export async function pool(items, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

/**
 * Progress on stderr: one line rewritten in place on a TTY, plain lines (every 10% or 5 s)
 * otherwise.
 */
export class Progress {
  constructor(stream = process.stderr) {
    this.stream = stream;
    this.tty = Boolean(stream.isTTY);
    this.active = false;
  }

  start(label, total) {
    this.label = label;
    this.total = total;
    this.done = 0;
    this.t0 = performance.now();
    this.lastDraw = 0;
    this.lastPct = -1;
    this.active = true;
    this.draw(true);
  }

  tick(n = 1) {
    this.done += n;
    this.draw(this.done >= this.total);
  }

  line() {
    const secs = (performance.now() - this.t0) / 1000;
    const rate = secs > 0 ? this.done / secs : 0;
    const pct = this.total ? Math.floor((100 * this.done) / this.total) : 100;
    return `${this.label}: ${this.done}/${this.total} (${pct}%) ${rate.toFixed(0)}/s ${secs.toFixed(1)}s`;
  }

  draw(force = false) {
    if (!this.active) return;
    const now = performance.now();
    if (this.tty) {
      if (!force && now - this.lastDraw < 100) return;
      this.stream.write(`\r\x1b[2K${this.line()}`);
    } else {
      const decile = this.total ? Math.floor((10 * this.done) / this.total) : 10;
      if (!force && decile === this.lastPct && now - this.lastDraw < 5000) return;
      this.lastPct = decile;
      this.stream.write(`${this.line()}\n`);
    }
    this.lastDraw = now;
  }

  /** Ends the progress line; `message` replaces it. */
  end(message) {
    if (!this.active) return;
    this.active = false;
    if (this.tty) this.stream.write(`\r\x1b[2K${message ?? this.line()}\n`);
    else this.stream.write(`${message ?? this.line()}\n`);
  }

  /** A one-off status line (setup steps). */
  say(message) {
    if (this.active && this.tty) this.stream.write(`\r\x1b[2K`);
    this.stream.write(`${message}\n`);
    if (this.active) this.draw(true);
  }
}

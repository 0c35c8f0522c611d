/**
 * The bench's webhook receiver: a local HTTP server that takes the service's deliveries the way a
 * subscriber app would (Standard Webhooks signature checked with the `standardwebhooks` package,
 * duplicates recognised by webhook-id) and answers 204 at once, so the service's delivery path, not
 * the receiver, sets the pace. It records, per delivery, the lag from the event's `timestamp` (the
 * commit) to its arrival here.
 */
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { summarize } from "./measure.mjs";

export class WebhookReceiver {
  constructor() {
    this.path = `/bench-webhook/${randomUUID()}`;
    this.verifier = null;
    /** webhook-id → arrivals (≥ 2: a duplicate). */
    this.arrivals = new Map();
    /** event type → [lag ms]: arrival minus the event's `timestamp`, first arrival of each id. */
    this.lagByType = new Map();
    this.lags = [];
    this.deliveries = 0;
    this.duplicates = 0;
    this.badSignatures = 0;
    this.badSamples = [];
    this.lastArrival = null;
    this.server = createServer((req, res) => this.#take(req, res));
    // Keep-alive as a real receiver would; the service's fetches reuse connections.
    this.server.keepAliveTimeout = 30_000;
  }

  /** Listens on a free 127.0.0.1 port. Resolves the URL to register. */
  async listen() {
    await new Promise((resolve, reject) => this.server.once("error", reject).listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}${this.path}`;
    return this.url;
  }

  /** The `whsec_…` secret the service answered with when the webhook was registered. */
  useSecret(secret) {
    this.verifier = new Webhook(secret);
  }

  #take(req, res) {
    const arrived = Date.now();
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== this.path || !this.verifier) {
        res.writeHead(404).end();
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      let event;
      try {
        event = this.verifier.verify(body, req.headers);
      } catch (error) {
        // 400: the service records a failed attempt and retries, so a bad signature shows twice.
        this.badSignatures++;
        if (this.badSamples.length < 5) this.badSamples.push(`${req.headers["webhook-id"] ?? "?"}: ${error.message}`);
        res.writeHead(400).end();
        return;
      }
      res.writeHead(204).end();
      this.deliveries++;
      this.lastArrival = arrived;
      const id = req.headers["webhook-id"];
      const seen = this.arrivals.get(id) ?? 0;
      this.arrivals.set(id, seen + 1);
      if (seen > 0) {
        this.duplicates++;
        return;
      }
      const lag = arrived - Date.parse(event.timestamp);
      if (!Number.isFinite(lag)) return;
      this.lags.push(lag);
      let list = this.lagByType.get(event.type);
      if (!list) this.lagByType.set(event.type, (list = []));
      list.push(lag);
    });
  }

  /** Distinct webhook-ids received (verified). */
  get distinct() {
    return this.arrivals.size;
  }

  has(id) {
    return this.arrivals.has(id);
  }

  lagStats() {
    return {
      all: summarize(this.lags),
      byType: Object.fromEntries([...this.lagByType].map(([type, lags]) => [type, summarize(lags)])),
    };
  }

  close() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

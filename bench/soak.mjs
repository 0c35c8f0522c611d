#!/usr/bin/env node
/**
 * `npm run soak`: a bounded reliability soak against `wrangler dev` (as `npm start` runs it), on
 * 127.0.0.1 only. 5 tenants (3 on TENANT_DEFAULT, 2 on TENANT_DEMO), 16 concurrent Okta-style
 * clients (lookups + creates, profile pushes, deactivations, group creates and member adds/removes,
 * list pages, deletes), one webhook per tenant on a local receiver that fails 20% of deliveries
 * and is down (connection refused) for 30 s, the minute sweep called every 60 s as the cron would,
 * and a SIGKILL of the whole server in the last third, then a restart on the same state.
 *
 * Then it checks: no acknowledged write lost or stale; the change feed exact (replaying it gives the
 * state the API serves, versions only grow, no id twice); every event delivered at least once with
 * a valid Standard Webhooks signature; no dispatch error in the server log; no 5xx; every sweep
 * answered. It prints latency per request type and webhook lag (commit → first attempt). Exit code
 * 1 when a check fails.
 *
 *   npm run soak                          # 4 minutes (the default)
 *   npm run soak -- --seconds 60          # shorter
 *   npm run soak -- --json soak.json      # also write the numbers as JSON
 * Flags: --seconds N (load duration, default 240), --concurrency N (16), --tenants N (5),
 * --max-requests N (bound on requests, default 150000), --no-kill, --keep (keep the state dir).
 */
import { createServer } from "node:http";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { Webhook } from "standardwebhooks";
import { summarize } from "./lib/measure.mjs";
import { freePort, killAllNow, sleep, startDev, stopAll, waitForHttp, wrangler } from "./lib/proc.mjs";
import { table } from "./lib/report.mjs";
import { oktaCreateBody, person, userNameFilterPath } from "./lib/users.mjs";

// --- Options -------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const opts = {
  seconds: Number(flag("seconds", 240)),
  concurrency: Number(flag("concurrency", 16)),
  tenants: Number(flag("tenants", 5)),
  maxRequests: Number(flag("max-requests", 150_000)),
  kill: !argv.includes("--no-kill"),
  keep: argv.includes("--keep"),
  json: flag("json", null),
};
const FAIL_RATE = 0.2;
const OUTAGE_MS = 30_000;
const SWEEP_EVERY_MS = 60_000;
/** After the load: how long delivery of everything may take (the redispatch of what the crash lost needs > 60 s). */
const DRAIN_MS = 180_000;
const DISPATCH_ERRORS = /dispatching change events failed|outbox sweep failed|Cannot perform I\/O on behalf of a different request|code had hung|recording webhook deliveries failed/;

const say = (line) => process.stderr.write(`[soak ${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);
const started = performance.now();
process.on("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

// --- Receiver: fails 20%, down for 30 s; records first attempt and signature validity per id -----
class FlakyReceiver {
  constructor() {
    /** path → Webhook verifier */
    this.verifiers = new Map();
    /** webhook-id → { firstAttempt, delivered, commit, type, attempts } */
    this.byId = new Map();
    this.badSignatures = 0;
    this.attempts = 0;
    this.failedOnPurpose = 0;
    this.down = null;
    this.server = null;
  }

  async listen(port = 0) {
    this.server = createServer((req, res) => this.#take(req, res));
    this.server.keepAliveTimeout = 5_000;
    await new Promise((resolve, reject) => this.server.once("error", reject).listen(port, "127.0.0.1", resolve));
    this.port = this.server.address().port;
  }

  url(tenantSlug) {
    return `http://127.0.0.1:${this.port}/hooks/${tenantSlug}`;
  }

  #take(req, res) {
    const arrived = Date.now();
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const verifier = this.verifiers.get(req.url);
      if (req.method !== "POST" || !verifier) return res.writeHead(404).end();
      this.attempts++;
      const body = Buffer.concat(chunks).toString("utf8");
      let event;
      try {
        event = verifier.verify(body, req.headers);
      } catch {
        this.badSignatures++;
        return res.writeHead(400).end();
      }
      const id = req.headers["webhook-id"];
      let entry = this.byId.get(id);
      if (!entry) this.byId.set(id, (entry = { firstAttempt: arrived, delivered: null, commit: Date.parse(event.timestamp), type: event.type, attempts: 0 }));
      entry.attempts++;
      if (Math.random() < FAIL_RATE) {
        this.failedOnPurpose++;
        return res.writeHead(500).end("soak receiver fails 20% on purpose");
      }
      entry.delivered ??= arrived;
      res.writeHead(204).end();
    });
  }

  /** Down: the port refuses connections for `ms`, then the receiver listens again on it. */
  async outage(ms) {
    this.down = { from: Date.now(), to: null };
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(() => resolve()));
    await sleep(ms);
    await this.listen(this.port);
    this.down.to = Date.now();
  }

  close() {
    this.server?.closeAllConnections?.();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

// --- HTTP with latency per request type ----------------------------------------------------------
const latency = new Map();
const statusCounts = new Map();
const fiveXX = [];
let requests = 0;
/** When each network error happened: those outside the SIGKILL's window are reported apart. */
const networkErrorTimes = [];

/**
 * Reads after the load are retried on a network error: wrangler dev closes a connection idle for
 * 5 s, and Node's fetch (undici) may hand out a pooled one at that very moment ("other side
 * closed"), which once ended a soak in its drain. A read is idempotent; writes are never retried
 * (the model marks them unsure instead). Counted and printed, so a real problem still shows.
 */
let readRetries = 0;
async function fetchRead(url, init, tries = 3) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      if (attempt >= tries || init.signal?.aborted) throw error;
      readRetries++;
      await sleep(200);
    }
  }
}

async function http(kind, base, method, url, { token, body, retryRead = false } = {}) {
  requests++;
  const headers = { Accept: "application/scim+json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/scim+json";
  const t0 = performance.now();
  try {
    const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(30_000) };
    const res = await (retryRead ? fetchRead : fetch)(base() + url, init);
    const text = await res.text();
    const ms = performance.now() - t0;
    statusCounts.set(res.status, (statusCounts.get(res.status) ?? 0) + 1);
    if (res.status >= 500) fiveXX.push(`${kind}: ${method} ${url.slice(0, 80)} → ${res.status} ${text.slice(0, 200)}`);
    if (res.ok) (latency.get(kind) ?? latency.set(kind, []).get(kind)).push(ms);
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, body: json, text };
  } catch (error) {
    networkErrorTimes.push(Date.now());
    return { status: 0, body: null, text: String(error.cause?.code ?? error.message) };
  }
}

// --- Model of what the server acknowledged -------------------------------------------------------
/** users: id → { p, familyName, active, certain, busy }; groups: id → { displayName, members: Set, certain, busy } */
function newTenantModel(slug, token, database) {
  return { slug, token, database, users: new Map(), deleted: new Set(), groups: new Map(), next: 0 };
}

const pick = (list) => list[Math.floor(Math.random() * list.length)];
const idle = (map) => [...map].filter(([, v]) => !v.busy);

// --- Main ----------------------------------------------------------------------------------------
let server;
let stateDir;
let restartedServer = null;
const serverLogs = [];

async function main() {
  stateDir = await mkdtemp(path.join(os.tmpdir(), "thestorage-soak-"));
  const persistTo = path.join(stateDir, "state");
  say(`state: ${stateDir}; ${opts.seconds}s of load, concurrency ${opts.concurrency}, ${opts.tenants} tenants`);
  for (const db of ["CONTROL_DB", "TENANT_DEFAULT", "TENANT_DEMO"]) await wrangler(["d1", "migrations", "apply", db, "--local", "--persist-to", persistTo]);

  const adminToken = randomBytes(24).toString("base64url");
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const vars = {
    ADMIN_TOKEN: adminToken,
    PUBLIC_BASE_URL: "",
    WEBHOOK_ALLOW_LOOPBACK: "true",
    WEBHOOK_SECRET_KEY: randomBytes(32).toString("base64"),
    WEBHOOK_RETRY_BASE_SECONDS: "5",
    // A receiver that fails 20% at random fails some delivery 5 times running among ~40,000; at 5,
    // 10, 20, 40, 80 s its 6th attempt would come after the drain. Capped, every delivery gets
    // several attempts inside it (the backoff itself is unit-tested).
    WEBHOOK_RETRY_MAX_SECONDS: "20",
  };
  const start = (n) => {
    const logPath = path.join(stateDir, `wrangler-dev-${n}.log`);
    serverLogs.push(logPath);
    return startDev({ name: `wrangler dev (soak ${n})`, port, inspectorPort, persistTo, vars, logPath });
  };
  server = start(1);
  const ready = async (s) => {
    await waitForHttp(s, `${s.url}/healthz`, { timeoutMs: 120_000 });
    await waitForHttp(s, `${s.url}/admin/v1/tenants`, { headers: { Authorization: `Bearer ${adminToken}` }, timeoutMs: 120_000 });
  };
  await ready(server);
  const base = () => server.url;
  const adminCall = (method, url, body) => {
    const init = { method, headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) };
    return (method === "GET" ? fetchRead : fetch)(`${base()}/admin/v1${url}`, init).then(async (r) => ({
      status: r.status,
      body: await r.json().catch(() => null),
    }));
  };

  const receiver = new FlakyReceiver();
  await receiver.listen();
  const tenants = [];
  for (let i = 0; i < opts.tenants; i++) {
    const slug = `soak-${i}-${randomBytes(2).toString("hex")}`;
    const database = i % 5 >= 3 ? "TENANT_DEMO" : "TENANT_DEFAULT";
    if ((await adminCall("POST", "/tenants", { slug, database })).status !== 201) throw new Error(`tenant ${slug} not created`);
    const enabled = await adminCall("POST", `/tenants/${slug}/scim`);
    if (enabled.status !== 201) throw new Error(`SCIM not enabled for ${slug}`);
    // The soak's deactivations and deletes are a deliberate wave far beyond the deactivation hold's
    // default limit (design.md §4g): on, it would hold their events, as it should, and the feed could
    // not replay to the served state. The hold has its own tests; here every event must flow.
    const guard = await adminCall("PUT", `/tenants/${slug}/guard`, { enabled: false });
    if (guard.status !== 200) throw new Error(`deactivation hold for ${slug}: ${guard.status} ${JSON.stringify(guard.body)}`);
    const hook = await adminCall("POST", `/tenants/${slug}/webhooks`, { url: receiver.url(slug) });
    if (hook.status !== 201) throw new Error(`webhook for ${slug}: ${hook.status} ${JSON.stringify(hook.body)}`);
    receiver.verifiers.set(`/hooks/${slug}`, new Webhook(hook.body.secret));
    tenants.push(newTenantModel(slug, enabled.body.token, database));
  }
  say(`servers ready; tenants ${tenants.map((t) => `${t.slug} (${t.database})`).join(", ")}`);

  // --- Operations (Okta-style), each locking what it touches so the model stays exact ---
  const scim = (t, kind, method, url, body) => http(kind, base, method, `/api/${t.slug}/scim/v2${url}`, { token: t.token, body });
  const finalRead = (t, url) => http("final read", base, "GET", `/api/${t.slug}/scim/v2${url}`, { token: t.token, retryRead: true });
  /** A write whose answer was lost (server killed): the resource's state is unknown from here on. */
  const unsure = (r, entry) => {
    if (r.status === 0 && entry) entry.certain = false;
    return r.status === 0;
  };
  const ops = {
    async create(t) {
      const p = person(t.next++, t.slug.replace(/-/g, ""));
      const lookup = await scim(t, "lookup (filter userName)", "GET", userNameFilterPath(p.userName));
      if (lookup.status !== 200) return;
      const r = await scim(t, "create user", "POST", "/Users", oktaCreateBody(p));
      if (r.status === 201) t.users.set(r.body.id, { p, familyName: p.familyName, active: true, certain: true, busy: false });
      // A lost answer: the user may exist; the end-of-run comparison finds it by userName.
      else if (r.status === 0) t.unsureCreates = [...(t.unsureCreates ?? []), p.userName];
    },
    async update(t) {
      const [id, u] = pick(idle(t.users)) ?? [];
      if (!u) return this.create(t);
      u.busy = true;
      try {
        const got = await scim(t, "get user", "GET", `/Users/${id}`);
        if (got.status !== 200) return void unsure(got, u);
        const familyName = `${u.p.familyName}-${randomBytes(2).toString("hex")}`;
        const r = await scim(t, "profile push (PUT)", "PUT", `/Users/${id}`, { ...got.body, name: { ...got.body.name, familyName } });
        if (r.status === 200) u.familyName = familyName;
        else unsure(r, u);
      } finally {
        u.busy = false;
      }
    },
    async deactivate(t) {
      const [id, u] = pick(idle(t.users).filter(([, v]) => v.active)) ?? [];
      if (!u) return this.create(t);
      u.busy = true;
      const r = await scim(t, "deactivate (PATCH)", "PATCH", `/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] });
      if (r.status === 200) u.active = false;
      else unsure(r, u);
      u.busy = false;
    },
    async remove(t) {
      const [id, u] = pick(idle(t.users)) ?? [];
      if (!u) return;
      u.busy = true;
      const r = await scim(t, "delete user", "DELETE", `/Users/${id}`);
      if (r.status === 204) {
        t.users.delete(id);
        t.deleted.add(id);
        for (const g of t.groups.values()) g.members.delete(id);
      } else if (unsure(r, u)) {
        for (const g of t.groups.values()) if (g.members.has(id)) g.certain = false;
      }
      u.busy = false;
    },
    async groupWrite(t) {
      if (t.groups.size < 8 && Math.random() < 0.15) {
        const displayName = `Soak Group ${t.groups.size}-${randomBytes(2).toString("hex")}`;
        const r = await scim(t, "create group", "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName, members: [] });
        if (r.status === 201) t.groups.set(r.body.id, { displayName, members: new Set(), certain: true, busy: false });
        return;
      }
      const [gid, g] = pick(idle(t.groups)) ?? [];
      if (!g) return;
      const add = g.members.size === 0 || Math.random() < 0.6;
      const [uid, u] = add ? (pick(idle(t.users).filter(([id]) => !g.members.has(id))) ?? []) : (pick(idle(t.users).filter(([id]) => g.members.has(id))) ?? []);
      if (!u) return;
      g.busy = u.busy = true;
      const op = add ? { op: "add", path: "members", value: [{ value: uid }] } : { op: "remove", path: `members[value eq "${uid}"]` };
      const r = await scim(t, add ? "group member add (PATCH)" : "group member remove (PATCH)", "PATCH", `/Groups/${gid}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [op] });
      if (r.status === 200 || r.status === 204) add ? g.members.add(uid) : g.members.delete(uid);
      else unsure(r, g);
      g.busy = u.busy = false;
    },
    async list(t) {
      const total = t.users.size;
      const startIndex = 1 + Math.floor(Math.random() * Math.max(1, total / 100)) * 100;
      await scim(t, "list page (import)", "GET", `/Users?startIndex=${startIndex}&count=100`);
    },
  };
  const mix = [
    ["create", 30],
    ["update", 15],
    ["deactivate", 10],
    ["groupWrite", 20],
    ["list", 20],
    ["remove", 5],
  ];
  const chooseOp = () => {
    let r = Math.random() * 100;
    for (const [name, weight] of mix) if ((r -= weight) < 0) return name;
    return "list";
  };

  // --- Load, with the outage, the sweeps and the kill on a timeline ---
  const loadMs = opts.seconds * 1000;
  const t0 = Date.now();
  const until = t0 + loadMs;
  const outageAt = t0 + loadMs * 0.25;
  const killAt = t0 + loadMs * (0.7 + Math.random() * 0.2);
  let serverUp = true;
  const sweeps = [];
  const callSweep = async (label) => {
    const s0 = performance.now();
    try {
      const r = await fetch(`${base()}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`, { signal: AbortSignal.timeout(60_000) });
      await r.text();
      sweeps.push({ label, status: r.status, ms: Math.round(performance.now() - s0) });
    } catch (error) {
      sweeps.push({ label, status: 0, ms: Math.round(performance.now() - s0), error: String(error.cause?.code ?? error.message) });
    }
  };
  const timeline = (async () => {
    await sleep(outageAt - Date.now());
    say(`receiver down for ${OUTAGE_MS / 1000} s`);
    await receiver.outage(OUTAGE_MS);
    say("receiver back");
  })();
  const sweeper = (async () => {
    for (let at = t0 + SWEEP_EVERY_MS; at < until; at += SWEEP_EVERY_MS) {
      await sleep(at - Date.now());
      if (serverUp) await callSweep(`during load @${Math.round((Date.now() - t0) / 1000)}s`);
    }
  })();
  let crash = null;
  const killer = (async () => {
    if (!opts.kill) return;
    await sleep(killAt - Date.now());
    serverUp = false;
    crash = { at: Date.now(), ready: null };
    say("SIGKILL of the server (wrangler and workerd)");
    try {
      process.kill(-server.child.pid, "SIGKILL");
    } catch {}
    await sleep(1000);
    server = start(2);
    restartedServer = server;
    await ready(server);
    crash.ready = Date.now();
    serverUp = true;
    say(`server restarted in ${((crash.ready - crash.at) / 1000).toFixed(1)} s`);
  })();
  const worker = async () => {
    while (Date.now() < until && requests < opts.maxRequests) {
      if (!serverUp) {
        await sleep(200);
        continue;
      }
      await ops[chooseOp()](pick(tenants));
    }
  };
  const progress = setInterval(() => say(`${requests} requests, ${receiver.byId.size} events seen by the receiver, ${fiveXX.length} 5xx, ${networkErrorTimes.length} network errors`), 15_000);
  await Promise.all([...Array.from({ length: opts.concurrency }, worker), timeline, killer]);
  await sweeper;
  clearInterval(progress);
  const loadEnded = Date.now();
  say(`load done: ${requests} requests`);

  // --- Drain: every event of the feed delivered (the sweep re-sends what the crash lost) ---
  const feeds = new Map();
  const readFeed = async (t) => {
    const events = [];
    let after = "";
    for (;;) {
      const r = await adminCall("GET", `/tenants/${t.slug}/changes?limit=500${after ? `&after=${encodeURIComponent(after)}` : ""}`);
      if (r.status !== 200) throw new Error(`changes of ${t.slug}: ${r.status}`);
      events.push(...r.body.data);
      if (r.body.data.length < 500 || !r.body.nextCursor) break;
      after = r.body.nextCursor;
    }
    return events;
  };
  const undelivered = async () => {
    let missing = 0;
    for (const t of tenants) {
      const feed = await readFeed(t);
      feeds.set(t.slug, feed);
      missing += feed.filter((e) => e.type !== "connection.enabled" && !receiver.byId.get(e.id)?.delivered).length;
    }
    return missing;
  };
  let missing = await undelivered();
  const drainStart = Date.now();
  let lastSweep = 0;
  while (missing > 0 && Date.now() - drainStart < DRAIN_MS) {
    if (Date.now() - lastSweep >= 15_000) {
      lastSweep = Date.now();
      await callSweep(`drain @${Math.round((Date.now() - loadEnded) / 1000)}s after load`);
    }
    await sleep(2000);
    missing = await undelivered();
  }
  say(`drain: ${missing} undelivered after ${((Date.now() - drainStart) / 1000).toFixed(0)} s`);

  // --- Checks ---
  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok, detail });

  // Lost / stale: every acknowledged write is what the API serves.
  let lost = 0;
  let stale = 0;
  let unsureCount = 0;
  const staleSamples = [];
  const served = new Map();
  for (const t of tenants) {
    const users = new Map();
    for (let startIndex = 1; ; startIndex += 100) {
      const r = await finalRead(t, `/Users?startIndex=${startIndex}&count=100`);
      for (const u of r.body.Resources ?? []) users.set(u.id, u);
      if (!r.body.Resources || r.body.Resources.length < 100) break;
    }
    const groups = new Map();
    for (let startIndex = 1; ; startIndex += 100) {
      const r = await finalRead(t, `/Groups?startIndex=${startIndex}&count=100`);
      for (const g of r.body.Resources ?? []) groups.set(g.id, g);
      if (!r.body.Resources || r.body.Resources.length < 100) break;
    }
    served.set(t.slug, { users, groups });
    for (const [id, u] of t.users) {
      if (!u.certain) {
        unsureCount++;
        continue;
      }
      const s = users.get(id);
      if (!s) {
        lost++;
        staleSamples.push(`${t.slug}: user ${id} acknowledged, not served`);
      } else if (s.name?.familyName !== u.familyName || s.active !== u.active || s.userName !== u.p.userName) {
        stale++;
        staleSamples.push(`${t.slug}: user ${id} served ${JSON.stringify([s.userName, s.name?.familyName, s.active])}, acknowledged ${JSON.stringify([u.p.userName, u.familyName, u.active])}`);
      }
    }
    for (const id of t.deleted) if (users.has(id)) (stale++, staleSamples.push(`${t.slug}: user ${id} deleted (204), still served`));
    for (const [id, g] of t.groups) {
      const s = groups.get(id);
      if (!s) {
        lost++;
        continue;
      }
      if (!g.certain) {
        unsureCount++;
        continue;
      }
      const members = new Set((s.members ?? []).map((m) => m.value));
      const same = members.size === g.members.size && [...g.members].every((m) => members.has(m));
      if (!same) (stale++, staleSamples.push(`${t.slug}: group ${id} members differ (served ${members.size}, acknowledged ${g.members.size})`));
    }
  }
  const acknowledgedUsers = tenants.reduce((n, t) => n + t.users.size, 0);
  const acknowledgedGroups = tenants.reduce((n, t) => n + t.groups.size, 0);
  check("nothing acknowledged lost", lost === 0, `${lost} lost of ${acknowledgedUsers} users and ${acknowledgedGroups} groups (${unsureCount} with an answer lost to the SIGKILL, not compared)`);
  check("nothing acknowledged stale", stale === 0, `${stale} stale${staleSamples.length ? `: ${staleSamples.slice(0, 5).join("; ")}` : ""}`);

  // The feed exact: replayed, it yields the served state; no id twice; versions only grow per resource.
  let feedProblems = [];
  let feedEvents = 0;
  for (const t of tenants) {
    const feed = feeds.get(t.slug) ?? (await readFeed(t));
    feedEvents += feed.length;
    const ids = new Set();
    const lastVersion = new Map();
    const users = new Map();
    const groups = new Map();
    for (const e of feed) {
      if (ids.has(e.id)) feedProblems.push(`${t.slug}: ${e.id} twice`);
      ids.add(e.id);
      const d = e.data;
      const key = e.type.startsWith("user.") ? `u:${d.user?.id}` : e.type.startsWith("group.") ? `g:${d.group?.id}` : null;
      if (key && d.version !== null && d.version !== undefined && !e.type.startsWith("group.user_")) {
        if ((lastVersion.get(key) ?? 0) >= d.version) feedProblems.push(`${t.slug}: ${e.type} ${key} version ${d.version} after ${lastVersion.get(key)}`);
        lastVersion.set(key, d.version);
      }
      if (e.type === "user.deleted") users.delete(d.user.id);
      else if (e.type.startsWith("user.")) users.set(d.user.id, d.user);
      else if (e.type === "group.created" || e.type === "group.updated") groups.set(d.group.id, { ...d.group, members: groups.get(d.group.id)?.members ?? new Set() });
      else if (e.type === "group.deleted") groups.delete(d.group.id);
      else if (e.type === "group.user_added") groups.get(d.group.id)?.members.add(d.user.id);
      else if (e.type === "group.user_removed") groups.get(d.group.id)?.members.delete(d.user.id);
    }
    const now = served.get(t.slug);
    for (const [id, u] of now.users) {
      const r = users.get(id);
      if (!r) feedProblems.push(`${t.slug}: user ${id} served, not in the feed`);
      else if (r.userName !== u.userName || r.active !== u.active || r.name?.familyName !== u.name?.familyName) feedProblems.push(`${t.slug}: user ${id} replayed differs from served`);
    }
    for (const id of users.keys()) if (!now.users.has(id)) feedProblems.push(`${t.slug}: user ${id} in the feed, not served`);
    for (const [id, g] of now.groups) {
      const r = groups.get(id);
      const members = new Set((g.members ?? []).map((m) => m.value));
      if (!r) feedProblems.push(`${t.slug}: group ${id} served, not in the feed`);
      else if (r.members.size !== members.size || [...members].some((m) => !r.members.has(m))) feedProblems.push(`${t.slug}: group ${id} members replayed ${r.members.size}, served ${members.size}`);
    }
  }
  check("change feed exact (replay = served state, no duplicates, versions grow)", feedProblems.length === 0, `${feedEvents} events${feedProblems.length ? `; ${feedProblems.length} problems: ${feedProblems.slice(0, 5).join("; ")}` : ""}`);
  check("every event delivered at least once, validly signed", missing === 0 && receiver.badSignatures === 0, `${missing} undelivered after the drain; ${receiver.badSignatures} bad signatures; ${receiver.attempts} attempts, ${receiver.failedOnPurpose} failed on purpose`);

  const logText = (await Promise.all(serverLogs.map((p) => readFile(p, "utf8").catch(() => "")))).join("\n");
  const dispatchErrors = logText.split("\n").filter((l) => DISPATCH_ERRORS.test(l));
  check("no dispatch stuck: 0 dispatch errors in the server log", dispatchErrors.length === 0, `${dispatchErrors.length}${dispatchErrors.length ? `: ${dispatchErrors.slice(0, 3).join(" | ").slice(0, 500)}` : ""}`);
  check("every sweep answered (200 within 60 s)", sweeps.every((s) => s.status === 200), sweeps.map((s) => `${s.label}: ${s.status} in ${s.ms} ms`).join("; "));
  check("0 5xx", fiveXX.length === 0, `${fiveXX.length}${fiveXX.length ? `: ${fiveXX.slice(0, 3).join(" | ")}` : ""}`);

  // --- Webhook lag: commit → first attempt ---
  const outage = receiver.down;
  const inOutage = (e) => outage && e.commit >= outage.from - 5_000 && e.commit <= (outage.to ?? Infinity);
  const inCrash = (e) => crash && e.commit >= crash.at - 5_000 && e.commit <= (crash.ready ?? Infinity) + 5_000;
  const all = [...receiver.byId.values()].filter((e) => Number.isFinite(e.commit));
  const lag = (list) => summarize(list.map((e) => e.firstAttempt - e.commit));
  const lagRows = [
    ["all events", lag(all)],
    ["outside the receiver's outage and the crash", lag(all.filter((e) => !inOutage(e) && !inCrash(e)))],
    ["committed during the outage", lag(all.filter(inOutage))],
    ["committed around the crash", lag(all.filter(inCrash))],
  ];
  const outsideP99 = lagRows[1][1].p99;
  check("webhook lag p99 ≤ 5 s outside the outage and the crash", outsideP99 !== null && outsideP99 <= 5000, `p99 ${outsideP99} ms`);

  // --- Report ---
  const ms = (x) => (x === null || x === undefined ? "—" : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${Math.round(x)} ms`);
  const out = [];
  out.push(`Soak: ${opts.seconds} s of load, concurrency ${opts.concurrency}, ${opts.tenants} tenants; ${requests} requests (${networkErrorTimes.length} network errors, ${networkErrorTimes.filter((at) => !crash || at < crash.at || at > crash.ready + 5_000).length} of them outside the SIGKILL's window; ${readRetries} reads retried after a closed connection); statuses ${[...statusCounts].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(" ")}`);
  out.push(`Receiver: fails ${FAIL_RATE * 100}% on purpose, down ${outage ? `${((outage.to - outage.from) / 1000).toFixed(0)} s from +${((outage.from - t0) / 1000).toFixed(0)} s` : "never"}; server SIGKILLed ${crash ? `at +${((crash.at - t0) / 1000).toFixed(0)} s, answering again ${((crash.ready - crash.at) / 1000).toFixed(1)} s later` : "never"}`);
  out.push("");
  out.push("Latency per request type (successful answers):");
  out.push(
    table(
      ["request", "n", "p50", "p95", "p99", "max"],
      [...latency].filter(([k]) => k !== "final read").sort().map(([k, v]) => {
        const s = summarize(v);
        return [k, String(s.n), ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)];
      }),
    ),
  );
  out.push("");
  out.push("Webhook lag, commit → first delivery attempt:");
  out.push(table(["events", "n", "p50", "p95", "p99", "max"], lagRows.map(([k, s]) => [k, String(s.n), ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)])));
  out.push("");
  out.push("Checks:");
  for (const c of checks) out.push(`  ${c.ok ? "PASS" : "FAIL"}  ${c.name}: ${c.detail}`);
  const failed = checks.filter((c) => !c.ok).length;
  out.push("");
  out.push(failed ? `${failed} check(s) FAILED` : "all checks passed");
  process.stdout.write(`${out.join("\n")}\n`);
  if (opts.json) await writeFile(opts.json, JSON.stringify({ opts, requests, checks, lag: Object.fromEntries(lagRows), latency: Object.fromEntries([...latency].map(([k, v]) => [k, summarize(v)])), sweeps }, null, 2));
  await receiver.close();
  return failed;
}

let failed = 1;
try {
  failed = await main();
} catch (error) {
  process.stderr.write(`soak failed to run: ${error.stack ?? error}${error?.cause ? `\ncause: ${error.cause.stack ?? error.cause}` : ""}\n`);
} finally {
  await stopAll();
  if (restartedServer) await restartedServer.stop().catch(() => {});
  if (stateDir && !opts.keep) await rm(stateDir, { recursive: true, force: true }).catch(() => {});
  else if (stateDir) process.stderr.write(`state and server logs kept in ${stateDir}\n`);
}
process.exit(failed ? 1 : 0);

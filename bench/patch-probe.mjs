#!/usr/bin/env node
/**
 * A narrow probe of the write path: the service's user PATCH against the baseline's floor PATCH,
 * one at a time and at a concurrency, alternating request by request (as `npm run bench` does).
 * Also a group membership PATCH (add/remove one member) one at a time. Prints p50/p95 and the
 * Server-Timing entries the service reported (p50 of each).
 *
 *   node bench/patch-probe.mjs [--users 150] [--concurrency 8] [--webhook]
 *
 * --webhook registers a webhook for the tenant first (so dispatch has work to do).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client, Phase, pool, summarize } from "./lib/measure.mjs";
import { freePort, ROOT, startDev, stopAll, waitForHttp, wrangler, killAllNow } from "./lib/proc.mjs";
import { oktaCreateBody, person } from "./lib/users.mjs";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "150" },
    concurrency: { type: "string", default: "8" },
    webhook: { type: "boolean", default: false },
    "keep-state": { type: "boolean", default: false },
    skip: { type: "string", default: "" },
  },
});
const N = Number(values.users);
const C = Number(values.concurrency);
process.on("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130));

/** CPU ms (user + system) used so far by every process in process group `pgid`, per process name. */
function groupCpu(pgid) {
  const out = {};
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue;
    }
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(f[2]) !== pgid) continue;
    out[name] = (out[name] ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  }
  return out;
}
const cpuDiff = (a, b) => Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - (a[k] ?? 0)]));

/** `name;dur=x` entries of every Server-Timing header of a kind → p50 per name. */
class Timings {
  constructor() {
    this.by = new Map();
  }
  note(kind, header) {
    if (!header) return;
    let m = this.by.get(kind);
    if (!m) this.by.set(kind, (m = new Map()));
    for (const part of header.split(",")) {
      const match = /^\s*([\w-]+);dur=([\d.]+)(?:;desc="([^"]*)")?/.exec(part);
      if (!match) continue;
      const key = match[3] ? `${match[1]}(${match[3]})` : match[1];
      if (!m.has(key)) m.set(key, []);
      m.get(key).push(Number(match[2]));
    }
  }
  line(kind) {
    const m = this.by.get(kind);
    if (!m) return "";
    return [...m.entries()].map(([k, v]) => `${k}=${summarize(v).p50}`).join(" ");
  }
}

async function main() {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "thestorage-probe-"));
  const mainState = path.join(stateDir, "main");
  const baseState = path.join(stateDir, "baseline");
  const baseConfig = path.join(ROOT, "bench", "baseline", "wrangler.toml");
  try {
    for (const db of ["CONTROL_DB", "TENANT_DEFAULT", "TENANT_DEMO"]) await wrangler(["d1", "migrations", "apply", db, "--local", "--persist-to", mainState]);
    await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", baseState, "--config", baseConfig]);
    const adminToken = randomBytes(24).toString("base64url");
    const [port, ip, bport, bip] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const server = startDev({ name: "svc", port, inspectorPort: ip, persistTo: mainState, vars: { ADMIN_TOKEN: adminToken, PUBLIC_BASE_URL: "", WEBHOOK_ALLOW_LOOPBACK: "true", WEBHOOK_SECRET_KEY: randomBytes(32).toString("base64"), ...(values.skip ? { PROBE_SKIP: values.skip } : {}) }, logPath: path.join(stateDir, "svc.log") });
    const baseline = startDev({ name: "base", config: baseConfig, cwd: path.dirname(baseConfig), port: bport, inspectorPort: bip, persistTo: baseState, logPath: path.join(stateDir, "base.log") });
    const adminHeaders = { Authorization: `Bearer ${adminToken}` };
    await waitForHttp(server, `${server.url}/healthz`);
    await waitForHttp(server, `${server.url}/admin/v1/tenants`, { headers: adminHeaders });
    await waitForHttp(baseline, `${baseline.url}/healthz`);
    const adminPost = async (p, body) => {
      const res = await fetch(`${server.url}/admin/v1${p}`, { method: "POST", headers: { ...adminHeaders, "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const json = await res.json().catch(() => null);
      if (res.status !== 201 && res.status !== 200) throw new Error(`POST ${p} → ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const slug = `probe-${randomBytes(3).toString("hex")}`;
    await adminPost("/tenants", { slug, name: "Probe" });
    const { token, endpoint } = await adminPost(`/tenants/${slug}/scim`, { provider: "okta" });
    if (values.webhook) await adminPost(`/tenants/${slug}/webhooks`, { url: "http://127.0.0.1:9/hook", events: ["user.deactivated"] });
    const scim = new Client(endpoint, { Authorization: `Bearer ${token}` });
    const base = new Client(baseline.url);
    const setup = new Phase("setup", "setup");
    const svcUsers = [];
    const baseUsers = [];
    await pool(Array.from({ length: N }, (_, i) => person(i, "probe")), 4, async (p) => {
      const a = await scim.send(setup, "create", "POST", "/Users", oktaCreateBody(p));
      const b = await base.send(setup, "create", "POST", "/Users", oktaCreateBody(p));
      svcUsers.push(a.body.id);
      baseUsers.push(b.body.id);
    });
    // Each user's writer serves it once (as the profile push does before the deactivation wave).
    await pool(svcUsers, 4, (id) => scim.send(setup, "warm", "PATCH", `/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "displayName", value: `W ${id.slice(0, 4)}` }] }));
    if (setup.failures) throw new Error(JSON.stringify(setup.failureSamples));

    const patch = (active) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active } }] });
    const timings = new Timings();
    const run = async (label, concurrency, active) => {
      const phase = new Phase(label, label);
      const cpu0 = [groupCpu(server.child.pid), groupCpu(baseline.child.pid)];
      const pairs = svcUsers.map((id, i) => [id, baseUsers[i]]);
      await pool(pairs, concurrency, async ([id, bid], i) => {
        const order = i % 2 === 0 ? ["svc", "base"] : ["base", "svc"];
        for (const side of order) {
          if (side === "svc") {
            const r = await scim.send(phase, "service", "PATCH", `/Users/${id}`, patch(active));
            timings.note(label, r.headers.get("Server-Timing"));
          } else await base.send(phase, "floor", "PATCH", `/Users/${bid}`, patch(active));
        }
      });
      const cpu1 = [groupCpu(server.child.pid), groupCpu(baseline.child.pid)];
      const per = (d) => Object.entries(d).map(([k, v]) => `${k} ${(v / pairs.length).toFixed(2)}`).join(", ");
      console.log(`   cpu ms/request: service {${per(cpuDiff(cpu0[0], cpu1[0]))}} floor {${per(cpuDiff(cpu0[1], cpu1[1]))}}`);
      const s = phase.stats("service");
      const f = phase.stats("floor");
      console.log(`${label}: service p50 ${s.p50} p95 ${s.p95} | floor p50 ${f.p50} p95 ${f.p95} | ratio ${(s.p50 / f.p50).toFixed(2)} | fail ${phase.failures} ${phase.failures ? JSON.stringify(phase.failureSamples[0]) : ""}`);
      console.log(`   server: ${timings.line(label)}`);
    };
    console.log(`load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
    await run("seq deactivate", 1, false);
    await run("seq reactivate", 1, true);
    await run(`x${C} deactivate`, C, false);
    await run(`x${C} reactivate`, C, true);
    // Group membership: one group, add/remove one member at a time.
    const g = await scim.send(setup, "group", "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Probe group", members: svcUsers.slice(0, 20).map((value) => ({ value })) });
    const gid = g.body.id;
    const gphase = new Phase("group", "group");
    for (let i = 20; i < Math.min(svcUsers.length, 80); i++) {
      const add = await scim.send(gphase, "add", "PATCH", `/Groups/${gid}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "add", path: "members", value: [{ value: svcUsers[i] }] }] });
      timings.note("group add", add.headers.get("Server-Timing"));
      const rm = await scim.send(gphase, "remove", "PATCH", `/Groups/${gid}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "remove", path: `members[value eq "${svcUsers[i - 20]}"]` }] });
      timings.note("group remove", rm.headers.get("Server-Timing"));
    }
    console.log(`group add p50 ${gphase.stats("add").p50} remove p50 ${gphase.stats("remove").p50} fail ${gphase.failures} ${gphase.failures ? JSON.stringify(gphase.failureSamples[0]) : ""}`);
    console.log(`   add: ${timings.line("group add")}\n   remove: ${timings.line("group remove")}`);
    console.log(`load ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  } finally {
    await stopAll();
    if (!values["keep-state"]) await rm(stateDir, { recursive: true, force: true });
    else console.log(`state kept: ${stateDir}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

/**
 * `npm run bench -- --tenant-users N` (issue 18, design.md §4h): does a request cost what it costs at
 * 1,000 users when the tenant has N? One run, one `wrangler dev`:
 *
 * - tenant `big` (TENANT_DEFAULT) seeded to N users, `small` (TENANT_DEMO, its own database) to
 *   --small-users, and `neighbour` (TENANT_DEFAULT, sharing big's database) to 100;
 * - every request type sent to big and small in turn (alternating, one pool at --concurrency), so
 *   whatever else loads the machine loads both alike: p50/p99 each and the ratio big ÷ small;
 * - a Push Now of --push-members members (at most the small tenant's size) in each, alternating;
 * - a Push Now of every one of big's N users into one group, timed, while a neighbour on the same
 *   database sends lookups one after another: their worst latency is what another tenant waits;
 * - the CSV export of big: time, rows and the Worker's peak memory (RSS of workerd);
 * - every status counted: any 5xx, or a D1 limit error in the server's log, fails the run.
 *
 * Seeding writes rows straight into the local D1 (bench/lib/users.mjs), as the main bench's scale
 * phase does. Results: bench/tenant-size.json (or --out).
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Client, Phase, pool, Progress, round, summarize } from "./lib/measure.mjs";
import { freePort, killAllNow, ROOT, startDev, stopAll, waitForHttp, wrangler } from "./lib/proc.mjs";
import { fmtMs, fmtRatio, table } from "./lib/report.mjs";
import { oktaCreateBody, person, seedSql, userNameFilterPath } from "./lib/users.mjs";

const HELP = `Usage: npm run bench -- --tenant-users N [options]

  --tenant-users N   users of the big tenant (e.g. 100000)
  --small-users N    users of the small tenant, in its own database (default 1000)
  --push-members N   members of the Push Now compared between the two (default 5000, at most --small-users)
  --rounds N         requests of each type to each tenant (default 60)
  --concurrency N    requests in flight (default 4)
  --skip-big-push    do not push all N users into one group
  --keep-state       keep the wrangler state directory
  --out FILE         results JSON (default bench/tenant-size.json)
`;

const progress = new Progress();
const say = (m) => progress.say(m);

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      "tenant-users": { type: "string" },
      "small-users": { type: "string", default: "1000" },
      "push-members": { type: "string", default: "5000" },
      rounds: { type: "string", default: "60" },
      concurrency: { type: "string", default: "4" },
      "skip-big-push": { type: "boolean", default: false },
      "keep-state": { type: "boolean", default: false },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const int = (name, min) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) {
      process.stderr.write(`--${name} must be an integer ≥ ${min}\n\n${HELP}`);
      process.exit(2);
    }
    return n;
  };
  const small = int("small-users", 10);
  return {
    bigUsers: int("tenant-users", 100),
    smallUsers: small,
    pushMembers: Math.min(int("push-members", 1), small),
    rounds: int("rounds", 1),
    concurrency: int("concurrency", 1),
    skipBigPush: values["skip-big-push"],
    keepState: values["keep-state"],
    out: path.resolve(values.out ?? path.join(ROOT, "bench", "tenant-size.json")),
  };
}

/** Peak-so-far RSS (MB) of the processes in a process group: wrangler and its workerd. */
function groupRssMb(pgid) {
  let kb = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      if (!/^Name:\s*workerd/m.test(status)) continue;
      kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {}
  }
  return round(kb / 1024, 1);
}

/** The bench's people for a tenant, with a unique token in displayName so `co` filters are selective. */
function people(n, prefix) {
  return Array.from({ length: n }, (_, i) => {
    const p = person(i, prefix);
    return { ...p, displayName: `${p.givenName} ${p.familyName} ${prefix}${i.toString(36)}` };
  });
}

async function seed(stateDir, persistTo, database, tenantId, list, label) {
  const ids = [];
  const start = Date.UTC(2026, 0, 1);
  const per = 10_000;
  progress.start(`seeding ${label}`, list.length);
  for (let at = 0; at < list.length; at += per) {
    const { sql, ids: part } = seedSql(tenantId, list.slice(at, at + per), { startMs: start + at, rowsPerStatement: 100 });
    const file = path.join(stateDir, `seed-${label}.sql`);
    await writeFile(file, sql);
    await wrangler(["d1", "execute", database, "--local", "--persist-to", persistTo, "--file", file, "--yes"]);
    ids.push(...part);
    progress.tick(part.length);
  }
  progress.end();
  return ids;
}

export async function runTenantSize(argv) {
  const opts = options(argv);
  const stateDir = await mkdtemp(path.join(os.tmpdir(), "thestorage-tenant-size-"));
  const persistTo = path.join(stateDir, "state");
  const statuses = new Map();
  const count = (status) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
  let server = null;
  const cleanup = async () => {
    await stopAll();
    if (!opts.keepState) await rm(stateDir, { recursive: true, force: true }).catch(() => {});
    else say(`state kept in ${stateDir}`);
  };
  process.on("exit", killAllNow);
  try {
    say(`state: ${stateDir}`);
    for (const db of ["CONTROL_DB", "TENANT_DEFAULT", "TENANT_DEMO"]) await wrangler(["d1", "migrations", "apply", db, "--local", "--persist-to", persistTo]);
    const adminToken = randomBytes(24).toString("base64url");
    server = startDev({
      name: "wrangler dev (service)",
      port: await freePort(),
      inspectorPort: await freePort(),
      persistTo,
      vars: { ADMIN_TOKEN: adminToken, PUBLIC_BASE_URL: "" },
      logPath: path.join(stateDir, "wrangler-dev.log"),
    });
    const adminHeaders = { Authorization: `Bearer ${adminToken}` };
    await waitForHttp(server, `${server.url}/healthz`);
    await waitForHttp(server, `${server.url}/admin/v1/tenants`, { headers: adminHeaders });
    const adminPost = async (p, body) => {
      const res = await fetch(`${server.url}/admin/v1${p}`, { method: "POST", headers: { ...adminHeaders, "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (res.status !== 201) throw new Error(`POST /admin/v1${p} → ${res.status} ${await res.text()}`);
      return res.json();
    };
    const suffix = randomBytes(2).toString("hex");
    const tenants = {};
    for (const [name, database] of [["big", "TENANT_DEFAULT"], ["small", "TENANT_DEMO"], ["neighbour", "TENANT_DEFAULT"]]) {
      const slug = `${name}-${suffix}`;
      await adminPost("/tenants", { slug, name, database });
      const { token, endpoint } = await adminPost(`/tenants/${slug}/scim`, { provider: "okta" });
      tenants[name] = { slug, database, scim: new Client(endpoint, { Authorization: `Bearer ${token}` }), admin: new Client(`${server.url}/admin/v1/tenants/${slug}`, adminHeaders) };
    }
    const [{ results: rows }] = JSON.parse(
      (await wrangler(["d1", "execute", "CONTROL_DB", "--local", "--persist-to", persistTo, "--json", "--command", `SELECT id, slug FROM tenants`])).stdout.replace(/^[^[]*/, ""),
    );
    for (const t of Object.values(tenants)) t.id = rows.find((r) => r.slug === t.slug).id;

    // --- Seed --------------------------------------------------------------------------------------
    const t0 = performance.now();
    const bigPeople = people(opts.bigUsers, "big");
    const smallPeople = people(opts.smallUsers, "sml");
    tenants.big.ids = await seed(stateDir, persistTo, "TENANT_DEFAULT", tenants.big.id, bigPeople, "big");
    tenants.small.ids = await seed(stateDir, persistTo, "TENANT_DEMO", tenants.small.id, smallPeople, "small");
    const neighbourPeople = people(100, "nbr");
    await seed(stateDir, persistTo, "TENANT_DEFAULT", tenants.neighbour.id, neighbourPeople, "neighbour");
    tenants.big.people = bigPeople;
    tenants.small.people = smallPeople;
    say(`seeded ${opts.bigUsers} + ${opts.smallUsers} + 100 users in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    for (const [name, t] of Object.entries(tenants)) {
      const total = (await t.scim.send(new Phase("check", "check"), "count", "GET", "/Users?count=0")).body?.totalResults;
      say(`${name}: ${total} users`);
    }

    // --- Request types, big and small alternating -------------------------------------------------
    const phase = { big: new Phase("big", `big (${opts.bigUsers})`), small: new Phase("small", `small (${opts.smallUsers})`) };
    const pick = (t, k) => t.people[(k * 7919) % t.people.length];
    const pickId = (t, k) => t.ids[(k * 104729) % t.ids.length];
    const enc = encodeURIComponent;
    const kinds = [
      ["userName eq", (t, k) => ["GET", userNameFilterPath(pick(t, k).userName)]],
      ["GET by id", (t, k) => ["GET", `/Users/${pickId(t, k)}`]],
      ["list page 1 (count=100)", () => ["GET", "/Users?startIndex=1&count=100"]],
      ["list last page (count=100)", (t) => ["GET", `/Users?startIndex=${Math.max(1, t.people.length - 99)}&count=100`]],
      ["sort by userName, page 1", () => ["GET", "/Users?sortBy=userName&sortOrder=ascending&count=100"]],
      ["displayName co", (t, k) => ["GET", `/Users?filter=${enc(`displayName co "${pick(t, k).displayName.split(" ").slice(1).join(" ")}"`)}&count=100`]],
      ["emails.value ew", (t, k) => ["GET", `/Users?filter=${enc(`emails.value ew "${pick(t, k).email.slice(-24)}"`)}&count=100`]],
      ["userName sw", (t, k) => ["GET", `/Users?filter=${enc(`userName sw "${pick(t, k).userName.split("@")[0]}"`)}&count=100`]],
      ["title pr", () => ["GET", `/Users?filter=${enc("title pr")}&count=100`]],
      ["meta.lastModified gt", () => ["GET", `/Users?filter=${enc(`meta.lastModified gt "2026-06-01T00:00:00Z"`)}&count=100`]],
      ["create (POST)", (t, k) => ["POST", "/Users", oktaCreateBody(person(1_000_000 + k, `new${t.name.slice(0, 3)}`))]],
      ["PATCH (deactivate)", (t, k) => ["PATCH", `/Users/${t.ids[k % t.ids.length]}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] }]],
      ["admin search", (t, k) => ["ADMIN", `/users?q=${enc(pick(t, k).userName.split(".")[2])}&count=50`]],
    ];
    tenants.big.name = "big";
    tenants.small.name = "small";
    const work = [];
    for (const [kind] of kinds) for (let k = 0; k < opts.rounds; k++) work.push([kind, k]);
    progress.start("request types, big and small alternating", work.length * 2);
    await pool(work, opts.concurrency, async ([kind, k], i) => {
      const make = kinds.find(([n]) => n === kind)[1];
      const order = i % 2 ? ["small", "big"] : ["big", "small"];
      for (const name of order) {
        const t = tenants[name];
        const [method, p, body] = make(t, k);
        const r = method === "ADMIN" ? await t.admin.send(phase[name], kind, "GET", p) : await t.scim.send(phase[name], kind, method, p, body);
        count(r.status);
        progress.tick();
      }
    });
    progress.end();

    // --- Push Now of --push-members in each, alternating -------------------------------------------
    const pushRounds = 5;
    const pushBody = (ids) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "members", value: ids.map((value) => ({ value, display: "Firstname Lastname" })) }] });
    progress.start(`Push Now of ${opts.pushMembers} members, big and small alternating`, pushRounds * 2);
    for (let r = 0; r < pushRounds; r++) {
      for (const name of r % 2 ? ["small", "big"] : ["big", "small"]) {
        const t = tenants[name];
        const g = await t.scim.send(phase[name], "create group", "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: `Push ${r}` });
        count(g.status);
        const ids = t.ids.slice((r * opts.pushMembers) % Math.max(1, t.ids.length - opts.pushMembers + 1)).slice(0, opts.pushMembers);
        const p = await t.scim.send(phase[name], `Push Now (${opts.pushMembers} members)`, "PATCH", `/Groups/${g.body?.id}`, pushBody(ids));
        count(p.status);
        progress.tick();
      }
    }
    progress.end();

    // --- The big Push Now, with a neighbour on the same database --------------------------------------
    let bigPush = null;
    if (!opts.skipBigPush) {
      const pushPhase = new Phase("bigPush", `Push Now of ${opts.bigUsers}`);
      const neighbourPhase = new Phase("neighbour", "neighbour lookups during it");
      const g = await tenants.big.scim.send(pushPhase, "create group", "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Everyone" });
      count(g.status);
      const body = JSON.stringify(pushBody(tenants.big.ids));
      say(`Push Now of ${tenants.big.ids.length} members (${(body.length / 1e6).toFixed(1)} MB) while a neighbour on the same database looks users up…`);
      let pushing = true;
      let started = null;
      /** Each neighbour lookup: when it was sent (ms after the push was), client ms, the server's own total (Server-Timing). */
      const lookups = [];
      const neighbourLoop = (async () => {
        let k = 0;
        const { baseUrl, headers } = tenants.neighbour.scim;
        while (pushing) {
          const t = performance.now();
          const entry = { at: started === null ? null : round(t - started), ms: null, serverMs: null, status: 0 };
          try {
            // A lookup with no answer in 30 s is recorded as such, not waited for.
            const res = await fetch(baseUrl + userNameFilterPath(neighbourPeople[k++ % 100].userName), { headers, signal: AbortSignal.timeout(30_000) });
            await res.arrayBuffer();
            entry.status = res.status;
            entry.serverMs = Number(/total;dur=([\d.]+)/.exec(res.headers.get("Server-Timing") ?? "")?.[1] ?? NaN);
          } catch (error) {
            entry.error = String(error.name ?? error);
          }
          entry.ms = round(performance.now() - t);
          count(entry.status);
          lookups.push(entry);
          if (entry.status === 200) neighbourPhase.sample("lookup", entry.ms);
          else neighbourPhase.fail("lookup", entry.status, entry.error ?? "");
        }
      })();
      await new Promise((r) => setTimeout(r, 500)); // the neighbour's baseline before the push
      started = performance.now();
      const pushed = await tenants.big.scim.send(pushPhase, "Push Now (all)", "PATCH", `/Groups/${g.body?.id}`, body);
      const pushMs = performance.now() - started;
      count(pushed.status);
      pushing = false;
      await neighbourLoop;
      const [{ results: sizes }] = JSON.parse(
        (await wrangler(["d1", "execute", "TENANT_DEFAULT", "--local", "--persist-to", persistTo, "--json", "--command", `SELECT count(*) AS n, count(DISTINCT member_id) AS d FROM group_members WHERE group_id = '${g.body?.id}'`])).stdout.replace(/^[^[]*/, ""),
      );
      const [{ results: evts }] = JSON.parse(
        (await wrangler(["d1", "execute", "TENANT_DEFAULT", "--local", "--persist-to", persistTo, "--json", "--command", `SELECT count(*) AS n FROM change_events WHERE resource_id = '${g.body?.id}' AND type = 'group.user_added'`])).stdout.replace(/^[^[]*/, ""),
      );
      const n = neighbourPhase.kinds.get("lookup") ?? [];
      bigPush = {
        members: tenants.big.ids.length,
        bodyMB: round(body.length / 1e6, 1),
        status: pushed.status,
        ms: round(pushMs),
        serverTiming: pushed.headers.get("Server-Timing"),
        membersAfter: sizes[0].n,
        distinctMembers: sizes[0].d,
        userAddedEvents: evts[0].n,
        neighbour: {
          ...summarize(n),
          failures: neighbourPhase.failures,
          serverMs: summarize(lookups.filter((l) => Number.isFinite(l.serverMs)).map((l) => l.serverMs)),
          during: lookups.filter((l) => l.at !== null).length,
          slowest: [...lookups].sort((a, b) => b.ms - a.ms).slice(0, 5),
        },
      };
      say(`Push Now: ${pushed.status} in ${(pushMs / 1000).toFixed(1)} s; ${sizes[0].n} members, ${evts[0].n} events; neighbour worst ${fmtMs(bigPush.neighbour.max)} ms over ${n.length} lookups`);
    }

    // --- Export of big -----------------------------------------------------------------------------
    const rssBefore = groupRssMb(server.child.pid);
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, groupRssMb(server.child.pid))), 100);
    const exportStart = performance.now();
    const res = await fetch(`${server.url}/admin/v1/tenants/${tenants.big.slug}/users/export`, { headers: adminHeaders });
    let lines = 0;
    let bytes = 0;
    for await (const chunk of res.body) {
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    }
    const exportMs = performance.now() - exportStart;
    clearInterval(sampler);
    count(res.status);
    const exported = { status: res.status, rows: lines - 1, MB: round(bytes / 1e6, 1), ms: round(exportMs), workerdRssBeforeMB: rssBefore, workerdRssPeakMB: rssPeak };
    say(`export: ${res.status}, ${lines - 1} rows, ${exported.MB} MB in ${(exportMs / 1000).toFixed(1)} s; workerd RSS ${rssBefore} → peak ${rssPeak} MB`);

    // --- Report ------------------------------------------------------------------------------------
    for (const p of Object.values(phase)) p.finish();
    const rowsOut = [];
    const types = [...kinds.map(([k]) => k), `Push Now (${opts.pushMembers} members)`];
    const ratios = {};
    for (const kind of types) {
      const b = summarize(phase.big.kinds.get(kind) ?? []);
      const s = summarize(phase.small.kinds.get(kind) ?? []);
      const ratio = b.p50 && s.p50 ? b.p50 / s.p50 : null;
      ratios[kind] = { big: b, small: s, ratioP50: round(ratio), ratioP99: b.p99 && s.p99 ? round(b.p99 / s.p99) : null, rtBig: phase.big.roundTripsOf(kind), rtSmall: phase.small.roundTripsOf(kind) };
      rowsOut.push([kind, phase.big.roundTripsOf(kind), `${fmtMs(b.p50)} / ${fmtMs(b.p99)}`, `${fmtMs(s.p50)} / ${fmtMs(s.p99)}`, fmtRatio(ratio), String(b.n)]);
    }
    const log = await readFile(server.logPath, "utf8").catch(() => "");
    const d1Limits = (log.match(/D1_ERROR|too many SQL variables|LIKE or GLOB pattern too complex|Too many API requests|SQLITE_TOOBIG|string or blob too big/gi) ?? []).length;
    const fiveXX = [...statuses.entries()].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    process.stdout.write(`\nTenant size: big ${opts.bigUsers} users (TENANT_DEFAULT) vs small ${opts.smallUsers} (TENANT_DEMO), ${opts.rounds} of each request to each, ×${opts.concurrency}, alternating\n\n`);
    process.stdout.write(table(["request", "rt", "big p50 / p99 ms", "small p50 / p99 ms", "p50 ratio", "n"], rowsOut) + "\n\n");
    if (bigPush) process.stdout.write(`Push Now of ${bigPush.members} members (${bigPush.bodyMB} MB): ${bigPush.status} in ${(bigPush.ms / 1000).toFixed(1)} s, ${bigPush.membersAfter} members, ${bigPush.userAddedEvents} group.user_added; neighbour (same database) lookups: n ${bigPush.neighbour.n} (${bigPush.neighbour.during} during the push), p50 ${fmtMs(bigPush.neighbour.p50)}, p99 ${fmtMs(bigPush.neighbour.p99)}, worst ${fmtMs(bigPush.neighbour.max)} ms, failures ${bigPush.neighbour.failures}; server's own total (Server-Timing) p50 ${fmtMs(bigPush.neighbour.serverMs.p50)}, worst ${fmtMs(bigPush.neighbour.serverMs.max)} ms\n`);
    process.stdout.write(`Export: ${exported.rows} rows, ${exported.MB} MB in ${(exported.ms / 1000).toFixed(1)} s, workerd RSS ${exported.workerdRssBeforeMB} → peak ${exported.workerdRssPeakMB} MB\n`);
    process.stdout.write(`Statuses: ${[...statuses.entries()].sort().map(([s, c]) => `${s}×${c}`).join(" ")}; 5xx: ${fiveXX}; D1 limit errors in the server log: ${d1Limits}\n`);
    const results = {
      meta: { startedAt: new Date().toISOString(), options: { ...opts, out: path.relative(ROOT, opts.out) }, cpus: os.cpus().length, loadAverage: os.loadavg() },
      ratios,
      bigPush,
      export: exported,
      statuses: Object.fromEntries(statuses),
      fiveXX,
      d1Limits,
      failures: { big: phase.big.failureSamples, small: phase.small.failureSamples },
    };
    await writeFile(opts.out, JSON.stringify(results, null, 2) + "\n");
    say(`results: ${path.relative(ROOT, opts.out)}`);
    await cleanup();
    return fiveXX === 0 && d1Limits === 0 && (!bigPush || (bigPush.status < 300 && bigPush.membersAfter === bigPush.members)) ? 0 : 1;
  } catch (error) {
    say(`failed: ${error.stack ?? error}`);
    if (server) say(await server.logTail(30));
    opts.keepState = true;
    await cleanup();
    return 1;
  }
}

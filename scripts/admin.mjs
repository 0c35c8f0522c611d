#!/usr/bin/env node
// `npm run admin -- <command>`: the admin API from a terminal. Talks to $SCIM_ADMIN_URL, else
// http://127.0.0.1:$PORT, else the origin the running `npm start` recorded in .wrangler/dev-origin,
// else http://127.0.0.1:8787; with $ADMIN_TOKEN, or the token in .dev.vars.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const originFile = join(root, ".wrangler", "dev-origin");
const recordedOrigin = existsSync(originFile) ? readFileSync(originFile, "utf8").trim() : "";
const origin = (process.env.SCIM_ADMIN_URL || (process.env.PORT && `http://127.0.0.1:${process.env.PORT}`) || recordedOrigin || "http://127.0.0.1:8787").replace(/\/+$/, "");
const devVars = join(root, ".dev.vars");
const token = process.env.ADMIN_TOKEN || (existsSync(devVars) ? readFileSync(devVars, "utf8").match(/^ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?\s*$/m)?.[1] : undefined);

const USAGE = `Usage: npm run admin -- <command>   (lists print tables; add --json for the API's JSON)

 Tenants and SCIM
  setup <slug> [--name N] [--provider okta|entra|…] [--database TENANT_X]
                                      create the tenant (if needed) and switch SCIM on; prints Base URL and token
  tenants                             list tenants
  tenant create <slug> [--name N] [--database TENANT_X]
  tenant show <slug>
  tenant delete <slug>                revoke its token and erase every row of the tenant (cannot be undone)
  move <slug> <TENANT_X> [--no-wait]  move the tenant onto another D1 binding, showing progress until it has switched
  move <slug>                         the tenant's latest move and its progress
  scim enable <slug> [--provider P]   switch SCIM on; prints the token once
  scim regenerate <slug> [--keep-previous D]
                                      new token; the old one stops working at once, or keeps working
                                      for D (seconds, or 30m, 12h, 7d: at most 7 days) while you paste the new one
  scim disable <slug>                 switch SCIM off; revokes the token
  link <slug> [--minutes N] [--return URL]   a single-use setup link for the tenant's IT admin (default 5 min, at most 60)

 Directory
  users <slug> [--q text] [--status active|deactivated] [--count N] [--start N]
  groups <slug> [--q text] [--count N] [--start N]
  group <slug> <groupId>              a group and its members
  avatar <slug> <userId> <url|none>   set or clear TheStorage's avatar for a user (https:// only)
  export <slug> [> users.csv]         every user as CSV (RFC 4180), to standard output

 Logs and events
  events <slug> [--limit N] [--before ID] [--outcome success|failure]   the provisioning log, newest first
  changes <slug> [--after CURSOR] [--limit N] [--types t1,t2]        the change feed, oldest first
  webhooks listen|list|add|remove|rotate|test|deliveries …           change events out (npm run admin -- webhooks)
  audit [--limit N] [--before ID]     admin actions across tenants, newest first

 Guardrails
  guard <slug> [--enabled true|false] [--threshold N] [--percent N] [--window MIN]
                                      the deactivation hold's settings and state (set with the flags)
  held <slug>                         deactivations the hold keeps from TheStorage's app
  held release <slug>                 release them: their events enter the change feed in order

 Other
  token                               print the admin token (export ADMIN_TOKEN="$(npm run -s admin -- token)")
  help                                this text

Environment: SCIM_ADMIN_URL (default ${origin}), ADMIN_TOKEN (default: .dev.vars).`;

/** Flags that take no value. */
const SWITCHES = new Set(["json", "no-wait"]);

function options(args) {
  const positional = [];
  const flags = {};
  for (let i = 0; i < args.length; i++) {
    if (!args[i].startsWith("--")) positional.push(args[i]);
    else if (SWITCHES.has(args[i].slice(2))) flags[args[i].slice(2)] = true;
    else flags[args[i].slice(2)] = args[++i];
  }
  return { positional, flags };
}

/** A plain-text table: one header line, then one line per row; long cells are cut with "…". */
function table(rows, columns, empty = "(none)") {
  if (!rows.length) return console.log(empty);
  const cell = (value, max) => {
    const text = value === null || value === undefined || value === "" ? "—" : String(value).replace(/\s+/g, " ");
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  };
  const cells = rows.map((row) => columns.map(([, get, max = 40]) => cell(get(row), max)));
  const widths = columns.map(([title], i) => Math.max(title.length, ...cells.map((r) => r[i].length)));
  const line = (values) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join("  ");
  console.log(line(columns.map(([title]) => title)));
  for (const r of cells) console.log(line(r));
}

/** "1–25 of 80 (next page: --start 26)" under a paged list. */
function pageLine(startIndex, shown, total) {
  const last = startIndex + shown - 1;
  if (shown) console.log(`\n${startIndex}–${last} of ${total}${last < total ? ` (next page: --start ${last + 1})` : ""}`);
}

const time = (at) => (at ? `${at.slice(0, 19).replace("T", " ")}Z` : "");

async function call(method, path, body) {
  const response = await fetch(`${origin}/admin/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  }).catch((error) => {
    console.error(`✗ Cannot reach ${origin} (${error.cause?.code ?? error.message}). Is \`npm start\` running?`);
    process.exit(1);
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { detail: text.slice(0, 300) };
  }
  return { status: response.status, json };
}

function fail(result) {
  console.error(`✗ ${result.status} ${result.json?.title ?? ""}: ${result.json?.detail ?? JSON.stringify(result.json)}`);
  process.exit(1);
}

/** "3600", "30m", "12h", "7d" → seconds (the API refuses anything over 7 days, and says so). */
function seconds(value) {
  const match = /^(\d+)([smhd]?)$/.exec(String(value ?? "").trim());
  if (!match) usageError(`✗ --keep-previous takes seconds or a duration such as 30m, 12h or 7d; got '${value}'.`);
  return Number(match[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2]];
}

const print = (value) => console.log(JSON.stringify(value, null, 2));
const query = (flags) => new URLSearchParams(Object.entries(flags).filter(([, v]) => v !== undefined)).toString();

function showToken({ token: scimToken, endpoint }) {
  console.log(`
  Base URL   ${endpoint}
  API Token  ${scimToken}

  The token is shown this once; only its hash is kept. Paste both into Okta's
  "SCIM 2.0 Test App (Header Auth)" › Provisioning › Integration, then Test API Credentials.`);
}

const COMMANDS = new Set(["setup", "tenants", "tenant", "move", "scim", "link", "users", "groups", "group", "avatar", "export", "events", "changes", "webhooks", "audit", "token", "guard", "held"]);

/** Usage to stderr and a non-zero exit: the command was incomplete or its subcommand unknown. */
function usageError(text = USAGE) {
  console.error(text);
  process.exit(2);
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const { positional, flags } = options(rest);
  if (!command || command === "help" || command === "--help" || command === "-h") return console.log(USAGE);
  if (!COMMANDS.has(command)) {
    console.error(`✗ Unknown command '${command}'. Run \`npm run admin -- help\` for the list.`);
    process.exit(2);
  }
  if (!token) {
    console.error("✗ No admin token: set ADMIN_TOKEN or run `npm start` once to create .dev.vars.");
    process.exit(1);
  }
  const [a, b, c] = positional;
  switch (command) {
    case "setup": {
      if (!a) return usageError();
      const created = await call("POST", "/tenants", { slug: a, name: flags.name, database: flags.database });
      if (created.status !== 201 && created.status !== 409) fail(created);
      const enabled = await call("POST", `/tenants/${a}/scim`, { provider: flags.provider });
      if (enabled.status === 409) {
        console.log(`SCIM is already on for '${a}'. To get a new token: npm run admin -- scim regenerate ${a}`);
        return;
      }
      if (enabled.status !== 201) fail(enabled);
      return showToken(enabled.json);
    }
    case "tenants": {
      const result = await call("GET", "/tenants");
      if (result.status !== 200) fail(result);
      if (flags.json) return print(result.json);
      return table(result.json.tenants, [["SLUG", (t) => t.slug], ["NAME", (t) => t.name, 32], ["SCIM", (t) => (t.scim.enabled ? `on · ${t.scim.provider}` : "off")], ["LAST SYNC", (t) => time(t.scim.lastUsedAt)], ["DATABASE", (t) => t.database], ["ENDPOINT", (t) => t.endpoint, 80]], "No tenants yet: npm run admin -- setup <slug>");
    }
    case "tenant": {
      if (a === "delete") {
        const result = await call("DELETE", `/tenants/${b}`);
        if (result.status === 204) return console.log(`Tenant '${b}' deleted: token revoked, every row erased.`);
        return result.status === 202 ? console.log(`Tenant '${b}' deleted: ${result.json.detail}`) : fail(result);
      }
      const result =
        a === "create"
          ? await call("POST", "/tenants", { slug: b, name: flags.name, database: flags.database })
          : a === "show"
            ? await call("GET", `/tenants/${b}`)
            : null;
      if (!result || !b) return usageError();
      return result.status < 300 ? print(result.json) : fail(result);
    }
    case "move": {
      if (!a) return usageError();
      const line = (m) => `${m.state.padEnd(12)} ${String(m.progress.percent).padStart(3)}%  ${m.progress.rowsCopied}/${m.progress.rowsTotal} rows copied, ${m.progress.changesApplied} changes caught up, ${m.progress.rowsErased} old rows erased${m.writesRefusedMs !== null ? `; writes refused for ${m.writesRefusedMs} ms` : ""}${m.error ? ` (last error: ${m.error})` : ""}`;
      const status = !b;
      let result = status ? await call("GET", `/tenants/${a}/move`) : await call("POST", `/tenants/${a}/move`, { database: b });
      if (result.status !== 200 && result.status !== 202) fail(result);
      if (flags.json) return print(result.json);
      if (result.json.state === "none") return console.log(`'${a}' has never been moved; it lives in ${result.json.database}.`);
      console.log(`Move ${result.json.id}: ${result.json.from} → ${result.json.to}`);
      console.log(line(result.json));
      if (status || flags["no-wait"]) return;
      // Done for clients once switched; erasing the old copy follows in the background.
      while (!["switched", "erasing", "done", "failed"].includes(result.json.state)) {
        await new Promise((r) => setTimeout(r, 1000));
        result = await call("GET", `/tenants/${a}/move`);
        if (result.status !== 200) fail(result);
        console.log(line(result.json));
      }
      if (result.json.state === "failed") process.exit(1);
      return console.log(`'${a}' now lives in ${result.json.to}; writes were refused for ${result.json.writesRefusedMs} ms. Its rows in ${result.json.from} are erased in the background (npm run admin -- move ${a}).`);
    }
    case "scim": {
      if (a === "enable" || a === "regenerate") {
        const keep = flags["keep-previous"] === undefined ? undefined : seconds(flags["keep-previous"]);
        const result =
          a === "enable"
            ? await call("POST", `/tenants/${b}/scim`, { provider: flags.provider })
            : await call("POST", `/tenants/${b}/scim/token`, keep === undefined ? undefined : { keepPreviousForSeconds: keep });
        if (result.status !== 201) return fail(result);
        showToken(result.json);
        if (a === "regenerate") {
          console.log(
            result.json.previousTokenExpiresAt
              ? `\n  The previous token keeps working until ${time(result.json.previousTokenExpiresAt)}: paste the new one before then.`
              : "\n  The previous token has stopped working.",
          );
        }
        return;
      }
      if (a === "disable") {
        const result = await call("DELETE", `/tenants/${b}/scim`);
        return result.status === 204 ? console.log(`SCIM is off for '${b}'; its token no longer works.`) : fail(result);
      }
      return usageError();
    }
    case "users": {
      if (!a) return usageError();
      const result = await call("GET", `/tenants/${a}/users?${query({ q: flags.q, status: flags.status, count: flags.count, startIndex: flags.start })}`);
      if (result.status !== 200) fail(result);
      if (flags.json) return print(result.json);
      const { users, totalResults, startIndex } = result.json;
      table(users, [["USERNAME", (u) => u.userName, 48], ["NAME", (u) => u.displayName, 32], ["STATUS", (u) => (u.active ? "active" : "deactivated")], ["ORIGIN", (u) => u.source ?? "local"], ["LAST CHANGE", (u) => time(u.updatedAt)], ["ID", (u) => u.id]], "No users.");
      return pageLine(startIndex, users.length, totalResults);
    }
    case "groups": {
      if (!a) return usageError();
      const result = await call("GET", `/tenants/${a}/groups?${query({ q: flags.q, count: flags.count, startIndex: flags.start })}`);
      if (result.status !== 200) fail(result);
      if (flags.json) return print(result.json);
      const { groups, totalResults, startIndex } = result.json;
      table(groups, [["GROUP", (g) => g.displayName, 48], ["MEMBERS", (g) => g.memberCount], ["ORIGIN", (g) => g.source ?? "local"], ["LAST CHANGE", (g) => time(g.updatedAt)], ["ID", (g) => g.id]], "No groups.");
      return pageLine(startIndex, groups.length, totalResults);
    }
    case "group": {
      if (!a || !b) return usageError();
      const result = await call("GET", `/tenants/${a}/groups/${encodeURIComponent(b)}`);
      if (result.status !== 200) fail(result);
      if (flags.json) return print(result.json);
      console.log(`${result.json.displayName} (${result.json.memberCount} members)\n`);
      return table(result.json.members, [["USERNAME", (m) => m.userName, 48], ["NAME", (m) => m.displayName, 32], ["STATUS", (m) => (m.active ? "active" : "deactivated")], ["ID", (m) => m.id]], "No members.");
    }
    case "export": {
      if (!a) return usageError();
      const response = await fetch(`${origin}/admin/v1/tenants/${a}/users/export`, { headers: { Authorization: `Bearer ${token}` } }).catch((error) => {
        console.error(`✗ Cannot reach ${origin} (${error.cause?.code ?? error.message}). Is \`npm start\` running?`);
        process.exit(1);
      });
      if (response.status !== 200) {
        const text = await response.text();
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = { detail: text.slice(0, 300) };
        }
        fail({ status: response.status, json });
      }
      for await (const chunk of response.body) process.stdout.write(chunk);
      return;
    }
    case "changes": {
      if (!a) return usageError();
      const result = await call("GET", `/tenants/${a}/changes?${query({ after: flags.after, limit: flags.limit, types: flags.types })}`);
      if (result.status !== 200) fail(result);
      if (flags.json) return print(result.json);
      const subject = (d) => (d.group && d.user ? `${d.group.displayName ?? d.group.id} ← ${d.user.userName ?? d.user.id}` : (d.user?.userName ?? d.group?.displayName ?? d.connection?.provider ?? ""));
      table(result.json.data, [["TIME", (e) => time(e.occurredAt)], ["TYPE", (e) => e.type, 24], ["SUBJECT", (e) => subject(e.data ?? {}), 48], ["ID", (e) => e.id]], "No new events.");
      if (result.json.nextCursor) console.log(`\nNext: --after ${result.json.nextCursor}`);
      return;
    }
    case "avatar": {
      const result = await call("PATCH", `/tenants/${a}/users/${b}`, { avatarUrl: c === "none" ? null : c });
      return result.status === 200 ? print(result.json) : fail(result);
    }
    case "events": {
      if (!a) return usageError();
      const result = await call("GET", `/tenants/${a}/events?${query({ limit: flags.limit, before: flags.before, outcome: flags.outcome })}`);
      if (result.status !== 200) fail(result);
      if (flags.json) return print(result.json);
      const events = result.json.events;
      table(events, [["TIME", (e) => time(e.at)], ["ACTION", (e) => e.action, 20], ["OK", (e) => (e.outcome === "success" ? "✓" : "✕")], ["STATUS", (e) => e.status], ["TARGET", (e) => e.userName, 40], ["DETAIL", (e) => e.detail, 60]], "No events.");
      if (events.length) console.log(`\nOlder: --before ${events[events.length - 1].id}`);
      return;
    }
    case "link": {
      if (!a) return usageError();
      const minutes = flags.minutes === undefined ? undefined : Number(flags.minutes);
      const result = await call("POST", `/tenants/${a}/setup-links`, { expiresInMinutes: minutes, returnUrl: flags.return });
      if (result.status !== 201) fail(result);
      return console.log(`
  Setup link  ${result.json.url}
  Expires     ${result.json.expiresAt}

  Works once. Send it to ${a}'s IT admin: it opens the console for this tenant alone.`);
    }
    case "webhooks": {
      const WEBHOOKS_USAGE = `Usage: npm run admin -- webhooks <subcommand>

  listen <slug> [--port N] [--events t1,t2]   run a local receiver on 127.0.0.1:N (default 8790), register it,
                                              verify and print every delivery; Ctrl-C removes the webhook
  list <slug>
  add <slug> <url> [--events t1,t2]           prints the signing secret once
  remove <slug> <id>
  rotate <slug> <id>                          new signing secret; the old one stops signing at once
  test <slug> <id>                            send a webhook.test event to that webhook
  deliveries <slug> <id> [--limit N]          delivery attempts, newest first`;
      const events = flags.events ? String(flags.events).split(",").map((t) => t.trim()).filter(Boolean) : undefined;
      const done = (result, ok, show = print) => (result.status === ok ? show(result.json) : fail(result));
      if (a === "list" && b) return done(await call("GET", `/tenants/${b}/webhooks`), 200);
      if (a === "add" && b && c) return done(await call("POST", `/tenants/${b}/webhooks`, { url: c, events }), 201);
      if (a === "remove" && b && c) return done(await call("DELETE", `/tenants/${b}/webhooks/${c}`), 204, () => console.log(`Webhook ${c} removed.`));
      if (a === "rotate" && b && c) return done(await call("POST", `/tenants/${b}/webhooks/${c}/secret`), 201);
      if (a === "test" && b && c) return done(await call("POST", `/tenants/${b}/webhooks/${c}/test`), 202);
      if (a === "deliveries" && b && c) return done(await call("GET", `/tenants/${b}/webhooks/${c}/deliveries?${query({ limit: flags.limit })}`), 200);
      if (!a) return console.log(WEBHOOKS_USAGE);
      if (a !== "listen" || !b) return usageError(WEBHOOKS_USAGE);

      // listen: a receiver that checks every delivery's Standard Webhooks signature, as an app would.
      const { createServer } = await import("node:http");
      const { randomUUID } = await import("node:crypto");
      const { Webhook } = await import("standardwebhooks");
      const port = Number(flags.port || 8790);
      const path = `/webhooks/${randomUUID()}`;
      let verifier = null;
      const seen = new Set();
      const server = createServer((req, res) => {
        const chunks = [];
        req.on("data", (chunk) => chunks.push(chunk));
        req.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (req.method !== "POST" || req.url !== path || !verifier) {
            res.writeHead(404).end();
            return;
          }
          try {
            const event = verifier.verify(body, req.headers);
            const id = req.headers["webhook-id"];
            const d = event.data ?? {};
            const name = d.user?.userName ?? d.group?.displayName ?? d.connection?.provider ?? (d.test ? "test event" : "");
            const who = d.group && d.user ? `${d.group.displayName ?? d.group.id} ← ${d.user.userName ?? d.user.id}` : name;
            console.log(`${new Date().toISOString().slice(11, 19)}  ✓ ${event.type.padEnd(24)} ${id}  ${who}${seen.has(id) ? "  (again: already seen, a receiver would skip it)" : ""}`);
            seen.add(id);
            res.writeHead(204).end();
          } catch (error) {
            console.log(`${new Date().toISOString().slice(11, 19)}  ✗ signature check failed (${error.message}); answered 400`);
            res.writeHead(400).end();
          }
        });
      });
      await new Promise((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve)).catch((error) => {
        console.error(`✗ Cannot listen on 127.0.0.1:${port} (${error.code ?? error.message}). Pick another with --port N.`);
        process.exit(1);
      });
      const url = `http://127.0.0.1:${port}${path}`;
      const created = await call("POST", `/tenants/${b}/webhooks`, { url, events });
      if (created.status !== 201) {
        server.close();
        fail(created);
      }
      verifier = new Webhook(created.json.secret);
      console.log(`Listening on ${url}\nWebhook ${created.json.id} registered for '${b}' (${created.json.events ? created.json.events.join(", ") : "all events"}). Make a change in your IdP or the console; Ctrl-C to stop.`);
      const stop = async () => {
        const removed = await call("DELETE", `/tenants/${b}/webhooks/${created.json.id}`);
        console.log(removed.status === 204 ? `\nWebhook ${created.json.id} removed.` : `\n✗ Could not remove webhook ${created.json.id} (${removed.status}); remove it with: npm run admin -- webhooks remove ${b} ${created.json.id}`);
        server.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      return new Promise(() => {});
    }
    case "guard": {
      if (!a) return usageError();
      const setting = ["enabled", "threshold", "percent", "window"].some((f) => flags[f] !== undefined);
      let result = await call("GET", `/tenants/${a}/guard`);
      if (result.status !== 200) fail(result);
      if (setting) {
        const now = result.json;
        const number = (value, fallback) => (value === undefined ? fallback : Number(value));
        result = await call("PUT", `/tenants/${a}/guard`, {
          enabled: flags.enabled === undefined ? now.enabled : flags.enabled !== "false",
          threshold: number(flags.threshold, now.threshold),
          percent: number(flags.percent, now.percent),
          windowMinutes: number(flags.window, now.windowMinutes),
        });
        if (result.status !== 200) fail(result);
      }
      if (flags.json) return print(result.json);
      const g = result.json;
      console.log(
        `Deactivation hold ${g.enabled ? "on" : "off"}: trips above the larger of ${g.threshold} users and ${g.percent}% of ${g.activeUsers} active users within ${g.windowMinutes} minutes.`,
      );
      return console.log(g.tripped ? `TRIPPED at ${time(g.trippedAt)}: ${g.held} held (npm run admin -- held ${a}).` : "Not tripped; nothing held.");
    }
    case "held": {
      if (a === "release") {
        if (!b) return usageError();
        const result = await call("POST", `/tenants/${b}/held/release`);
        if (result.status !== 200 && result.status !== 202) fail(result);
        return console.log(
          `Released ${result.json.released} held change events into the feed.${result.json.remaining ? ` ${result.json.remaining} remain: run it again.` : " The hold is reset."}`,
        );
      }
      if (!a) return usageError();
      const result = await call("GET", `/tenants/${a}/held?${query({ limit: flags.limit ?? 500 })}`);
      if (result.status !== 200) fail(result);
      if (flags.json) return print(result.json);
      if (!result.json.count) return console.log("Nothing held.");
      console.log(`${result.json.summary}\n`);
      return table(result.json.held, [["AT", (h) => time(h.occurredAt)], ["CHANGE", (h) => (h.type === "user.deleted" ? "deleted" : "deactivated")], ["USERNAME", (h) => h.user.userName, 48], ["ID", (h) => h.user.id]]);
    }
    case "audit": {
      const result = await call("GET", `/audit?${query({ limit: flags.limit, before: flags.before })}`);
      if (result.status !== 200) fail(result);
      if (flags.json) return print(result.json);
      const events = result.json.events;
      const by = (actor) => [actor.type, actor.email ?? actor.id].filter(Boolean).join(" · ");
      table(events, [["TIME", (e) => time(e.at)], ["ACTION", (e) => e.action, 22], ["OK", (e) => (e.outcome === "success" ? "✓" : "✕")], ["TENANT", (e) => e.tenant], ["BY", (e) => by(e.actor), 36], ["DETAIL", (e) => e.detail, 60]], "No admin actions yet.");
      if (events.length) console.log(`\nOlder: --before ${events[events.length - 1].id}`);
      return;
    }
    case "token":
      return console.log(token);
  }
}

await main();

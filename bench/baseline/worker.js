/**
 * Baseline for `npm run bench`: the D1 work of a SCIM user create, a `userName eq` lookup and a
 * deactivating PATCH, written directly against the D1 binding. Same statements as the service (src/repo/users.ts,
 * src/repo/events.ts), same request and response shapes, nothing else: no router, no auth
 * lookup, no rate limiter, no Durable Object, no group-membership read.
 */
const TENANT_ID = "00000000-0000-4000-8000-00000000b1b1";
const TOKEN_PREFIX = "baseline";
const SCIM_JSON = { "Content-Type": "application/scim+json" };

const USER_COLUMNS =
  "tenant_id, id, user_name, user_name_norm, external_id, display_name, email, active, data, source, avatar_url, version, created_at, updated_at";

function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { ...SCIM_JSON, ...headers } });
}

function error(status, detail) {
  return json({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: String(status), detail }, status);
}

const foldCase = (s) => s.normalize("NFKC").toLowerCase();

function toResource(row, origin) {
  const { externalId, ...attributes } = JSON.parse(row.data);
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    id: row.id,
    ...(externalId !== undefined ? { externalId } : {}),
    ...attributes,
    groups: [],
    meta: {
      resourceType: "User",
      created: row.created_at,
      lastModified: row.updated_at,
      location: `${origin}/Users/${row.id}`,
      version: `W/"${row.version}"`,
    },
  };
}

async function createUser(request, env, origin) {
  const body = await request.json();
  if (typeof body.userName !== "string" || !body.userName) return error(400, "userName is required");
  // The stored document: what SCIM owns (no schemas, password or groups).
  const { schemas, password, groups, id: _id, meta, ...doc } = body;
  if (doc.active === undefined) doc.active = true;
  const emails = Array.isArray(doc.emails) ? doc.emails : [];
  const email = (emails.find((e) => e.primary === true) ?? emails[0])?.value;
  const now = new Date().toISOString();
  const row = {
    tenant_id: TENANT_ID,
    id: crypto.randomUUID(),
    user_name: doc.userName,
    user_name_norm: foldCase(doc.userName),
    external_id: doc.externalId ?? null,
    display_name: doc.displayName ?? null,
    email: email ? String(email).toLowerCase() : null,
    active: doc.active !== false ? 1 : 0,
    data: JSON.stringify(doc),
    source: "okta",
    avatar_url: null,
    version: 1,
    created_at: now,
    updated_at: now,
  };
  const [inserted] = await env.DB.batch([
    env.DB.prepare(`INSERT INTO users (${USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`).bind(
      row.tenant_id, row.id, row.user_name, row.user_name_norm, row.external_id, row.display_name, row.email,
      row.active, row.data, row.source, row.avatar_url, row.version, row.created_at, row.updated_at,
    ),
    env.DB.prepare(
      `INSERT INTO events (tenant_id, at, action, resource_type, resource_id, target, outcome, status, detail, token_prefix)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)`,
    ).bind(TENANT_ID, now, "user.create", "User", row.id, row.user_name, "success", 201, "created", TOKEN_PREFIX, row.id),
  ]);
  if (!(inserted.meta.changes > 0)) return error(409, `A user with userName '${row.user_name}' already exists.`);
  return json(toResource(row, origin), 201, { Location: `${origin}/Users/${row.id}`, ETag: 'W/"1"' });
}

async function findUsers(url, env, origin) {
  const filter = url.searchParams.get("filter") ?? "";
  const match = /^userName eq "((?:[^"\\]|\\.)*)"$/i.exec(filter.trim());
  if (!match) return error(400, "baseline supports only filter=userName eq \"…\"");
  const norm = foldCase(JSON.parse(`"${match[1]}"`));
  const startIndex = Math.max(1, Number(url.searchParams.get("startIndex") ?? 1) || 1);
  const count = Math.min(100, Math.max(0, Number(url.searchParams.get("count") ?? 100) || 0));
  // Like listUsers: the total and the page, concurrently.
  const [total, page] = await Promise.all([
    env.DB.prepare("SELECT count(*) AS total FROM users WHERE tenant_id = ? AND user_name_norm = ?").bind(TENANT_ID, norm).first("total"),
    env.DB.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE tenant_id = ? AND user_name_norm = ? ORDER BY created_at, id LIMIT ? OFFSET ?`)
      .bind(TENANT_ID, norm, count, startIndex - 1)
      .all(),
  ]);
  const resources = page.results.map((row) => toResource(row, origin));
  return json({
    schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
    totalResults: total ?? 0,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  });
}

/**
 * The floor PATCH: one guarded UPDATE (the version compare-and-swap every write to an existing
 * resource needs), returning the row, with no read before it and no log or change event.
 */
async function patchUser(request, env, origin, id) {
  const body = await request.json();
  const op = Array.isArray(body.Operations) ? body.Operations[0] : null;
  const active = op?.value?.active;
  if (typeof active !== "boolean") return error(400, "baseline supports only {op: replace, value: {active: bool}}");
  const now = new Date().toISOString();
  const row = await env.DB.prepare(
    `UPDATE users SET active = ?, data = json_set(data, '$.active', json(?)), version = version + 1, updated_at = ?
     WHERE tenant_id = ? AND id = ? AND version = (SELECT version FROM users WHERE tenant_id = ? AND id = ?)
     RETURNING ${USER_COLUMNS}`,
  )
    .bind(active ? 1 : 0, active ? "true" : "false", now, TENANT_ID, id, TENANT_ID, id)
    .first();
  if (!row) return error(404, `User '${id}' not found.`);
  return json(toResource(row, origin), 200, { ETag: `W/"${row.version}"` });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const origin = url.origin;
    if (url.pathname === "/healthz") return json({ status: "ok" });
    if (url.pathname === "/Users" && request.method === "POST") return createUser(request, env, origin);
    if (url.pathname === "/Users" && request.method === "GET") return findUsers(url, env, origin);
    const byId = /^\/Users\/([^/]+)$/.exec(url.pathname);
    if (byId && request.method === "PATCH") return patchUser(request, env, origin, decodeURIComponent(byId[1]));
    return error(404, `baseline has no ${request.method} ${url.pathname}`);
  },
};

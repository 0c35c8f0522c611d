/**
 * Bench users: Okta-shaped SCIM bodies for the HTTP push, and SQL rows for the fast seed that go
 * straight into the local D1 (matching src/db/tenant/schema.ts column for column).
 */
import { randomBytes, randomUUID } from "node:crypto";

const GIVEN = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Linus", "Radia", "Tim", "Hedy", "Donald", "Katherine", "John"];
const FAMILY = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen", "Torvalds", "Perlman", "Berners-Lee", "Lamarr", "Knuth", "Johnson", "Backus"];

/** The i-th bench person. userNames are mixed-case on purpose: lookups go through the case fold. */
export function person(i, prefix = "bench") {
  const givenName = GIVEN[i % GIVEN.length];
  const familyName = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length];
  const userName = `${givenName}.${familyName}.${prefix}${String(i).padStart(6, "0")}@Example.com`;
  return { i, givenName, familyName, userName, email: userName.toLowerCase(), displayName: `${givenName} ${familyName}`, externalId: `00u${i.toString(36).padStart(8, "0")}${prefix.slice(0, 4)}` };
}

/** What Okta POSTs to /Users when it provisions a new user. */
export function oktaCreateBody(p) {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: p.userName,
    name: { givenName: p.givenName, familyName: p.familyName },
    emails: [{ primary: true, value: p.email, type: "work" }],
    displayName: p.displayName,
    locale: "en-US",
    externalId: p.externalId,
    groups: [],
    password: randomBytes(12).toString("base64url"),
    active: true,
  };
}

/** Okta's pre-create lookup: exact query string shape. */
export function userNameFilterPath(userName) {
  return `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`;
}

const sqlString = (v) => (v === null || v === undefined ? "NULL" : `'${String(v).replace(/'/g, "''")}'`);

/**
 * INSERT statements for `people` into the tenant database (`rowsPerStatement` rows each). Returns
 * { sql, ids } with the generated user ids in `people` order. created_at/updated_at are distinct ISO
 * strings with milliseconds, after `startMs`, so list order (created_at, id) is seed order.
 */
export function seedSql(tenantId, people, { startMs = Date.now(), rowsPerStatement = 100 } = {}) {
  const ids = [];
  const statements = [];
  const columns = "tenant_id, id, user_name, user_name_norm, external_id, display_name, email, active, data, source, avatar_url, version, created_at, updated_at";
  for (let at = 0; at < people.length; at += rowsPerStatement) {
    const values = [];
    for (const p of people.slice(at, at + rowsPerStatement)) {
      const id = randomUUID();
      ids.push(id);
      const when = new Date(startMs + ids.length).toISOString();
      const data = {
        userName: p.userName,
        name: { givenName: p.givenName, familyName: p.familyName },
        emails: [{ primary: true, value: p.email, type: "work" }],
        displayName: p.displayName,
        active: true,
        externalId: p.externalId,
      };
      values.push(
        `(${[tenantId, id, p.userName, p.userName.normalize("NFKC").toLowerCase(), p.externalId, p.displayName, p.email.toLowerCase()].map(sqlString).join(", ")}, 1, ${sqlString(JSON.stringify(data))}, 'okta', NULL, 1, ${sqlString(when)}, ${sqlString(when)})`,
      );
    }
    statements.push(`INSERT INTO users (${columns}) VALUES\n${values.join(",\n")};`);
  }
  return { sql: statements.join("\n") + "\n", ids };
}

/**
 * Sign-in storage (design.md §4e). CONTROL_DB: the tenant's connection, read together with the
 * tenant in one query. Tenant database: the sign-in itself in one batch (one transaction, one round
 * trip) — consume the attempt's state, match and link the user, issue the ticket, stamp
 * lastSignInAt, write the provisioning-log row — and the ticket's redemption in another.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import { scimTokens, ssoConnections, tenants, type SsoConnectionRow, type TenantRow } from "../db/control/schema";
import { ssoTickets, type UserRow } from "../db/tenant/schema";
import type { MatchKeys } from "../sso/core";
import type { TenantDb } from "../tenancy/tenant-db";
import type { ControlDb } from "./control";
import { runBatch } from "./batch";
import { heldUserSql } from "./guard";
import { clipDetail, insertEventWhen, type NewEvent } from "./events";

export async function upsertConnection(db: ControlDb, row: SsoConnectionRow): Promise<SsoConnectionRow> {
  const { tenantId: _, createdAt: __, ...changes } = row;
  const [saved] = await db.insert(ssoConnections).values(row).onConflictDoUpdate({ target: ssoConnections.tenantId, set: changes }).returning();
  return saved!;
}

export async function getConnection(db: ControlDb, tenantId: string): Promise<SsoConnectionRow | null> {
  const rows = await db.select().from(ssoConnections).where(eq(ssoConnections.tenantId, tenantId)).limit(1);
  return rows[0] ?? null;
}

export async function deleteConnection(db: ControlDb, tenantId: string): Promise<boolean> {
  const rows = await db.delete(ssoConnections).where(eq(ssoConnections.tenantId, tenantId)).returning({ tenantId: ssoConnections.tenantId });
  return rows.length > 0;
}

export interface TenantSignIn {
  tenant: TenantRow;
  connection: SsoConnectionRow | null;
  /** SCIM is on (a live token): JIT is then never allowed. */
  scimEnabled: boolean;
}

/** The tenant (not being deleted), its connection and whether SCIM is on: one query. */
export async function tenantForSignIn(db: ControlDb, where: { slug: string } | { id: string }): Promise<TenantSignIn | null> {
  const rows = await db
    .select({ tenant: tenants, connection: ssoConnections, tokenId: scimTokens.id })
    .from(tenants)
    .leftJoin(ssoConnections, eq(ssoConnections.tenantId, tenants.id))
    .leftJoin(scimTokens, and(eq(scimTokens.tenantId, tenants.id), isNull(scimTokens.revokedAt)))
    .where(and("slug" in where ? eq(tenants.slug, where.slug) : eq(tenants.id, where.id), isNull(tenants.deletingAt)))
    .limit(1);
  const row = rows[0];
  return row ? { tenant: row.tenant, connection: row.connection, scimEnabled: row.tokenId !== null } : null;
}

/** Which provisioning-log row the batch writes for each outcome (it knows the outcome only inside SQL). */
export interface SignInLog {
  /** Who, when nobody matched (the ID token's username or email). */
  claimedName: string;
  success: string;
  deactivated: string;
  /** Null: no row when nobody matched (a JIT connection logs that itself). */
  notProvisioned: string | null;
}

export interface SignInWrite {
  tenantId: string;
  keys: MatchKeys;
  /** The attempt's state: consumed here, once. */
  state: string;
  attemptExpiresAt: string;
  now: string;
  /** The ticket to issue if the matched user is active; null for the console's test sign-in (nothing is written but the state). */
  ticket: { digest: string; expiresAt: string; protocol: string } | null;
  /** The provisioning-log row; null for the test sign-in (logged by its caller). */
  log: SignInLog | null;
  /** False only for the second batch of a JIT sign-in: the state was consumed by the first. */
  consume?: boolean;
  /** More single-use keys consumed with `state` (SAML: the assertion ID beside the request's attempt). */
  alsoConsume?: { state: string; expiresAt: string }[];
}

export interface SignInResult {
  /** The matched user (by the stored link, else the first-sign-in rules), active or not; null when none. */
  user: UserRow | null;
}

const linkOf = (w: SignInWrite) => sql`l.tenant_id = ${w.tenantId} AND l.issuer = ${w.keys.issuer} AND l.subject = ${w.keys.subject}`;

/** The first-sign-in candidates in priority order: externalId (sub, oid), then userName (username, email). */
function candidates(w: SignInWrite) {
  // An empty key list matches nothing (SAML matches by userName only): never `IN ('')`.
  const inList = (values: string[]) => (values.length ? sql`IN (${sql.join(values.map((v) => sql`${v}`), sql`, `)})` : sql`IN (SELECT NULL WHERE 0)`);
  return sql`SELECT id, 0 AS p FROM users WHERE tenant_id = ${w.tenantId} AND external_id ${inList(w.keys.externalIds)}
    UNION ALL
    SELECT id, 1 AS p FROM users WHERE tenant_id = ${w.tenantId} AND user_name_norm ${inList(w.keys.userNames)}`;
}

/** A users row as D1 returns it from raw SQL (snake_case columns), as drizzle would map it. */
function userOf(r: Record<string, unknown> | undefined): UserRow | null {
  if (!r) return null;
  return {
    tenantId: r.tenant_id as string,
    id: r.id as string,
    userName: r.user_name as string,
    userNameNorm: r.user_name_norm as string,
    externalId: (r.external_id as string | null) ?? null,
    displayName: (r.display_name as string | null) ?? null,
    email: (r.email as string | null) ?? null,
    // As TheStorage's app sees the user: a deactivation the guard holds does not count yet (§4g).
    active: r.active === 1 || r.active === true || r.held === 1,
    data: JSON.parse(r.data as string) as UserRow["data"],
    source: (r.source as string | null) ?? null,
    avatarUrl: (r.avatar_url as string | null) ?? null,
    version: r.version as number,
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
    role: (r.role as string | null) ?? null,
    idpRole: (r.idp_role as string | null) ?? null,
    lastSignInAt: (r.last_sign_in_at as string | null) ?? null,
  };
}

/**
 * The sign-in, atomically. Throws a UNIQUE violation on `sso_attempts_used.state` when the attempt
 * was already answered (a replayed callback): then nothing at all was written.
 */
export async function signInBatch(db: TenantDb, w: SignInWrite): Promise<SignInResult> {
  const consumes = [{ state: w.state, expiresAt: w.attemptExpiresAt }, ...(w.alsoConsume ?? [])].map(
    (k) => sql`INSERT INTO sso_attempts_used (state, tenant_id, expires_at) VALUES (${k.state}, ${w.tenantId}, ${k.expiresAt})`,
  );
  const tidy = [
    sql`DELETE FROM sso_attempts_used WHERE state IN (SELECT state FROM sso_attempts_used WHERE tenant_id = ${w.tenantId} AND expires_at < ${w.now} LIMIT 20)`,
    sql`DELETE FROM sso_tickets WHERE digest IN (SELECT digest FROM sso_tickets WHERE tenant_id = ${w.tenantId} AND expires_at < ${w.now} LIMIT 20)`,
  ];
  const linkedUsers = sql`SELECT u.*, ${heldUserSql("u")} AS held FROM sso_links l JOIN users u ON u.tenant_id = l.tenant_id AND u.id = l.user_id WHERE ${linkOf(w)} LIMIT 1`;
  if (!w.ticket) {
    // Test sign-in: the stored link's user, else the first candidate; nothing linked, nothing issued.
    const results = await runBatch(db, [
      ...consumes,
      linkedUsers,
      sql`SELECT u.*, ${heldUserSql("u")} AS held FROM users u WHERE u.tenant_id = ${w.tenantId} AND u.id = (SELECT id FROM (${candidates(w)}) ORDER BY p LIMIT 1)`,
      ...tidy,
    ]);
    const [linked, first] = results.slice(consumes.length);
    return { user: userOf(linked!.results[0] as Record<string, unknown>) ?? userOf(first!.results[0] as Record<string, unknown>) };
  }
  const t = w.ticket;
  const linkedUser = sql`SELECT u.id, (u.active = 1 OR ${heldUserSql("u")}) AS active, u.user_name FROM sso_links l JOIN users u ON u.tenant_id = l.tenant_id AND u.id = l.user_id WHERE ${linkOf(w)}`;
  const statements = [
    ...(w.consume === false ? [] : consumes),
    // A link to a user SCIM has since deleted is dropped, so the re-provisioned user can be matched.
    sql`DELETE FROM sso_links AS l WHERE ${linkOf(w)} AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = l.tenant_id AND u.id = l.user_id)`,
    // First sign-in: link the best candidate (OR IGNORE: a link exists already, or that user is linked to another subject).
    sql`INSERT OR IGNORE INTO sso_links (tenant_id, issuer, subject, user_id, created_at)
      SELECT ${w.tenantId}, ${w.keys.issuer}, ${w.keys.subject}, id, ${w.now} FROM (${candidates(w)}) ORDER BY p LIMIT 1`,
    linkedUsers,
    sql`INSERT INTO sso_tickets (digest, tenant_id, user_id, issuer, subject, protocol, created_at, expires_at)
      SELECT ${t.digest}, ${w.tenantId}, m.id, ${w.keys.issuer}, ${w.keys.subject}, ${t.protocol}, ${w.now}, ${t.expiresAt} FROM (${linkedUser}) m WHERE m.active = 1`,
    sql`UPDATE users SET last_sign_in_at = ${w.now} WHERE tenant_id = ${w.tenantId} AND id = (SELECT m.id FROM (${linkedUser}) m WHERE m.active = 1)`,
    ...(w.log
      ? [
          sql`INSERT INTO events (tenant_id, at, action, resource_type, resource_id, target, outcome, status, detail, token_prefix, actor)
            SELECT ${w.tenantId}, ${w.now}, 'sso.sign_in', 'User', m.id, COALESCE(m.user_name, ${w.log.claimedName}),
              CASE WHEN m.active = 1 THEN 'success' ELSE 'failure' END,
              CASE WHEN m.active = 1 THEN 303 ELSE 403 END,
              CASE WHEN m.active = 1 THEN ${clipDetail(w.log.success)} WHEN m.id IS NULL THEN ${clipDetail(w.log.notProvisioned ?? "")} ELSE ${clipDetail(w.log.deactivated)} END,
              NULL, NULL
            FROM (SELECT 1) AS one LEFT JOIN (${linkedUser}) m ON 1 = 1
            WHERE m.id IS NOT NULL OR ${w.log.notProvisioned !== null ? 1 : 0} = 1`,
        ]
      : []),
    ...tidy,
  ];
  const results = await runBatch(db, statements);
  const linked = results[(w.consume === false ? 0 : consumes.length) + 2]!;
  return { user: userOf(linked.results[0] as Record<string, unknown>) };
}

export interface Redeemed {
  ticket: typeof ssoTickets.$inferSelect;
  user: UserRow | null;
  groups: { id: string; displayName: string }[];
}

/** Consumes the ticket (whatever its age) and reads its user and groups, atomically; null when no such ticket. */
export async function redeemTicket(db: TenantDb, tenantId: string, digest: string): Promise<Redeemed | null> {
  const ticketUser = sql`(SELECT user_id FROM sso_tickets WHERE digest = ${digest} AND tenant_id = ${tenantId})`;
  const [userRows, groupRows, deleted] = await runBatch(db, [
    sql`SELECT * FROM users WHERE tenant_id = ${tenantId} AND id = ${ticketUser}`,
    // Read through the member's rows (group_members_tenant_member), never every membership of the tenant:
    // without statistics SQLite prefers the covering (tenant_id, group_id, …) index, a scan of the tenant.
    sql`SELECT g.id AS id, g.display_name AS displayName FROM group_members gm INDEXED BY group_members_tenant_member CROSS JOIN groups g
      WHERE gm.tenant_id = ${tenantId} AND gm.member_id = ${ticketUser} AND g.tenant_id = ${tenantId} AND g.id = gm.group_id
      ORDER BY g.display_name_norm`,
    db.delete(ssoTickets).where(and(eq(ssoTickets.digest, digest), eq(ssoTickets.tenantId, tenantId))).returning(),
  ]);
  const t = deleted!.results[0] as Record<string, string> | undefined;
  if (!t) return null;
  return {
    ticket: { digest: t.digest!, tenantId: t.tenant_id!, userId: t.user_id!, issuer: t.issuer!, subject: t.subject!, protocol: t.protocol!, createdAt: t.created_at!, expiresAt: t.expires_at! },
    user: userOf(userRows!.results[0] as Record<string, unknown>),
    groups: groupRows!.results as { id: string; displayName: string }[],
  };
}

/**
 * Inserts a refusal's log row unless one with the same detail prefix (`refused (<reason>)`) was
 * logged for the tenant since `since`; reads only that window's rows (`events_at`, as
 * insertEventUnlessRecent does).
 */
export async function insertRefusalUnlessRecent(db: TenantDb, event: NewEvent, prefix: string, since: string): Promise<void> {
  await db.run(
    insertEventWhen(
      event,
      sql`NOT EXISTS (SELECT 1 FROM events WHERE at > ${since} AND +tenant_id = ${event.tenantId} AND action = ${event.action} AND substr(detail, 1, ${prefix.length}) = ${prefix})`,
    ),
  );
}

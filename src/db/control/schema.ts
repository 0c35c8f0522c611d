/** Control plane (CONTROL_DB): which tenants exist, where their data lives, and their SCIM token digests. */
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { CustomAttribute } from "../../attributes/core";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  /** Name of the D1 binding that holds this tenant's data; resolved only in src/tenancy. */
  database: text("database").notNull(),
  createdAt: text("created_at").notNull(),
  /** Set when deletion starts: the tenant is gone for every lookup from then on, while its rows are erased. */
  deletingAt: text("deleting_at"),
  /** The tenant's custom user attributes (src/attributes; migrations/control/0006). */
  userAttributes: text("user_attributes", { mode: "json" }).$type<CustomAttribute[]>().notNull().default([]),
});

export const scimTokens = sqliteTable(
  "scim_tokens",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** Hex SHA-256 of the raw token: the only form of the secret that is ever stored. */
    digest: text("digest").notNull().unique(),
    /** First 12 characters (`tsscim_` + 5), for recognising a token in the UI and the log. */
    prefix: text("prefix").notNull(),
    /** The IdP this token was issued for; becomes the `source` badge of users it creates. */
    provider: text("provider").notNull(),
    createdAt: text("created_at").notNull(),
    lastUsedAt: text("last_used_at"),
    /** When it stopped (or stops) working: in the future while a rotated-away token overlaps the new one (design.md §3). */
    revokedAt: text("revoked_at"),
  },
  (t) => [
    // One live token per tenant: a racing second enable fails on this index instead of minting two.
    uniqueIndex("scim_tokens_one_live_per_tenant").on(t.tenantId).where(sql`revoked_at IS NULL`),
    index("scim_tokens_tenant").on(t.tenantId),
    // Tokens still working after being rotated away (revoked_at in the future: token overlap, migrations/control/0005).
    index("scim_tokens_tenant_revoked_at").on(t.tenantId, t.revokedAt),
  ],
);

/** Single-use links that open a console session scoped to one tenant (design.md §4c). */
export const setupLinks = sqliteTable(
  "setup_links",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    /** Hex SHA-256 of the link's secret: the secret itself is only in the URL handed out. */
    digest: text("digest").notNull().unique(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    usedAt: text("used_at"),
    returnUrl: text("return_url"),
    /** The actor that created it, as JSON. */
    createdBy: text("created_by", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [index("setup_links_tenant").on(t.tenantId)],
);

/** Admin actions across tenants (tenant create and delete, console sign-in, …): `GET /admin/v1/audit`. */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: text("at").notNull(),
    tenantId: text("tenant_id"),
    tenantSlug: text("tenant_slug"),
    action: text("action").notNull(),
    /** `{"type":"admin-token"|"access"|"setup-link"|"console","id"?,"email"?}` */
    actor: text("actor", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    outcome: text("outcome", { enum: ["success", "failure"] }).notNull(),
    detail: text("detail").notNull().default(""),
    ip: text("ip"),
  },
  (t) => [index("audit_events_tenant").on(t.tenantId, t.id), index("audit_events_at").on(t.at)],
);

/**
 * A tenant's sign-in connection to its IdP (design.md §4e; migrations/control/0004). The client secret
 * is AES-GCM ciphertext (src/events/secret-box.ts); `metadata` holds what the issuer's discovery
 * document said when the connection was saved (endpoints, JWKS URI, signing algorithms). A SAML
 * connection keeps the IdP's entity ID in `issuer`, empty client columns, and in `metadata` its SSO
 * URL, signing certificates and whether IdP-initiated sign-in is allowed (src/sso/service.ts).
 */
export const ssoConnections = sqliteTable("sso_connections", {
  tenantId: text("tenant_id").primaryKey(),
  protocol: text("protocol", { enum: ["oidc", "saml"] }).notNull(),
  issuer: text("issuer").notNull(),
  clientId: text("client_id").notNull(),
  clientSecretCiphertext: text("client_secret_ciphertext").notNull(),
  jit: integer("jit", { mode: "boolean" }).notNull().default(false),
  defaultReturnTo: text("default_return_to"),
  metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  createdAt: text("created_at").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** A tenant's move to another tenant D1 database (design.md §4h Placement; src/placement). */
export const tenantMoves = sqliteTable(
  "tenant_moves",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    tenantSlug: text("tenant_slug").notNull(),
    fromDatabase: text("from_database").notNull(),
    toDatabase: text("to_database").notNull(),
    /** preparing → copying → catching_up → switched → erasing → done; or rolling_back → failed. */
    state: text("state").notNull(),
    /** Copy position: index into the copied tables, and the last primary key copied (JSON array). */
    tableIndex: integer("table_index").notNull().default(0),
    afterKey: text("after_key"),
    rowsCopied: integer("rows_copied").notNull().default(0),
    changesApplied: integer("changes_applied").notNull().default(0),
    rowsErased: integer("rows_erased").notNull().default(0),
    /** The tenant's rows when the move started (progress denominator). */
    rowsTotal: integer("rows_total").notNull().default(0),
    steps: integer("steps").notNull().default(0),
    /** Consecutive failed steps; past a limit the move rolls back. */
    failures: integer("failures").notNull().default(0),
    actor: text("actor", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    startedAt: text("started_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** When writes started being refused (the final catch-up), and when the tenant switched database. */
    frozenAt: text("frozen_at"),
    switchedAt: text("switched_at"),
    finishedAt: text("finished_at"),
    /** How long writes were refused: switchedAt − frozenAt. */
    writesRefusedMs: integer("writes_refused_ms"),
    error: text("error"),
  },
  (t) => [
    uniqueIndex("tenant_moves_one_active").on(t.tenantId).where(sql`finished_at IS NULL`),
    index("tenant_moves_tenant_started").on(t.tenantId, t.startedAt),
    index("tenant_moves_unfinished").on(t.startedAt).where(sql`finished_at IS NULL`),
  ],
);

export const controlSchema = { tenants, scimTokens, setupLinks, auditEvents, ssoConnections, tenantMoves };
export type TenantRow = typeof tenants.$inferSelect;
export type ScimTokenRow = typeof scimTokens.$inferSelect;
export type SetupLinkRow = typeof setupLinks.$inferSelect;
export type AuditEventRow = typeof auditEvents.$inferSelect;
export type SsoConnectionRow = typeof ssoConnections.$inferSelect;
export type TenantMoveRow = typeof tenantMoves.$inferSelect;

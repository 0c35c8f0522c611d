/**
 * Tenant data: one schema, applied to every tenant D1 database (migrations/tenant). Several tenants
 * may share one database (the default binding), so every row carries `tenant_id` and every query
 * is scoped by it.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** The SCIM-owned attributes of a resource, exactly as the sanitiser produced them (no id, meta or groups). */
export type ScimDocument = Record<string, unknown>;

export const users = sqliteTable(
  "users",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").primaryKey(),
    /** As sent by the IdP; returned exactly so. */
    userName: text("user_name").notNull(),
    /** `foldCase(userName)`: the case-insensitive unique key and the `userName eq` lookup column. */
    userNameNorm: text("user_name_norm").notNull(),
    externalId: text("external_id"),
    displayName: text("display_name"),
    /** The primary (else first) email, lower-cased: the admin list shows and searches it. */
    email: text("email"),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    /** Every SCIM-owned attribute (core and enterprise extension), as JSON. */
    data: text("data", { mode: "json" }).$type<ScimDocument>().notNull(),
    /** The origin badge: the provider of the token that created the user (`okta`, `entra`, …); null for local users. */
    source: text("source"),
    /** TheStorage-owned: never written by SCIM, exposed read-only as `photos[type eq "photo"]`. */
    avatarUrl: text("avatar_url"),
    /** Bumped by every write; the ETag is `W/"<version>"`. */
    version: integer("version").notNull().default(1),
    /** ISO 8601 with milliseconds (`Date#toISOString`), so text order is time order. */
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("users_tenant_user_name_norm").on(t.tenantId, t.userNameNorm),
    index("users_tenant_external_id").on(t.tenantId, t.externalId),
    index("users_tenant_created").on(t.tenantId, t.createdAt, t.id),
    index("users_tenant_active_created").on(t.tenantId, t.active, t.createdAt, t.id),
    // Member lookups by primary key within the tenant (migrations/tenant/0003).
    index("users_tenant_id").on(t.tenantId, t.id),
    index("users_tenant_updated").on(t.tenantId, t.updatedAt, t.id),
    index("users_tenant_title").on(t.tenantId, sql`json_extract(${t.data}, '$.title')`),
  ],
);

export const groups = sqliteTable(
  "groups",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").primaryKey(),
    displayName: text("display_name").notNull(),
    displayNameNorm: text("display_name_norm").notNull(),
    externalId: text("external_id"),
    /** SCIM-owned attributes other than members (which live in group_members). */
    data: text("data", { mode: "json" }).$type<ScimDocument>().notNull(),
    source: text("source"),
    version: integer("version").notNull().default(1),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("groups_tenant_display_name_norm").on(t.tenantId, t.displayNameNorm),
    index("groups_tenant_external_id").on(t.tenantId, t.externalId),
    index("groups_tenant_created").on(t.tenantId, t.createdAt, t.id),
  ],
);

/** Membership as rows: adds and removes are idempotent single statements, never a read-modify-write of a list. */
export const groupMembers = sqliteTable(
  "group_members",
  {
    tenantId: text("tenant_id").notNull(),
    groupId: text("group_id").notNull(),
    memberId: text("member_id").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.groupId, t.memberId] }),
    index("group_members_tenant_member").on(t.tenantId, t.memberId),
    index("group_members_tenant_group").on(t.tenantId, t.groupId, t.createdAt, t.memberId),
  ],
);

/**
 * Totals kept by triggers (migrations/tenant/0003) on users and groups: an unfiltered list page's
 * `totalResults` is one row, not a count over the tenant. `resource` is `users` or `groups`.
 */
export const resourceCounts = sqliteTable(
  "resource_counts",
  {
    tenantId: text("tenant_id").notNull(),
    resource: text("resource", { enum: ["users", "groups"] }).notNull(),
    n: integer("n").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.resource] })],
);

/** Members per group, kept by triggers on group_members: GET /Groups bounds a page's members by it. */
export const groupSizes = sqliteTable("group_sizes", {
  groupId: text("group_id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  members: integer("members").notNull(),
});

// users_text (the trigram FTS5 index for substring filters) is a virtual table kept by triggers;
// it is queried only through raw SQL (src/scim/filter/sql.ts textCandidates), so drizzle does not model it.

/** The provisioning log: every SCIM write, refused ones included. Never a token, never a password. */
export const events = sqliteTable(
  "events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id").notNull(),
    at: text("at").notNull(),
    /** e.g. `user.create`, `user.update`, `user.deactivate`, `group.members`. */
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    /** userName or group displayName, for reading the log without a join. */
    target: text("target"),
    outcome: text("outcome", { enum: ["success", "failure"] }).notNull(),
    status: integer("status").notNull(),
    detail: text("detail").notNull().default(""),
    tokenPrefix: text("token_prefix"),
    /**
     * Who did it when it was not a SCIM token: an admin action's actor as JSON
     * (`{"type":"admin-token"|"access"|"setup-link"|"console","id"?,"email"?}`); null for SCIM writes.
     */
    actor: text("actor", { mode: "json" }).$type<AdminActor>(),
  },
  (t) => [index("events_tenant_id").on(t.tenantId, t.id), index("events_at").on(t.at)],
);

/** The actor of an admin action (design.md §4c). */
export interface AdminActor {
  type: "admin-token" | "access" | "setup-link" | "console";
  id?: string;
  email?: string;
}

/**
 * Change events: the transactional outbox and the change feed. A row is written in the same D1
 * batch as the change it describes, so it exists if and only if that change committed.
 */
export const changeEvents = sqliteTable(
  "change_events",
  {
    /** Feed order and cursor: strictly increasing per database. */
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    /** `evt_<32 hex>`: the `webhook-id` of every delivery attempt and the id in the feed. */
    id: text("id").notNull().unique(),
    tenantId: text("tenant_id").notNull(),
    /** `user.created`, `group.user_added`, `connection.token_rotated`, … (design.md §4b). */
    type: text("type").notNull(),
    occurredAt: text("occurred_at").notNull(),
    resourceId: text("resource_id"),
    /** The resource's version after the change (receivers drop stale events by it). */
    version: integer("version"),
    /** The payload's `data`: `tenant`, `version` and the resource (`user`, `group`, both, or `connection`). */
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** The provisioning-log row (events.id) of the write that produced it, for linking the two. */
    logId: integer("log_id"),
    /** When it was handed to the delivery queue; null until then (the sweep re-sends those). */
    dispatchedAt: text("dispatched_at"),
  },
  (t) => [
    index("change_events_tenant_seq").on(t.tenantId, t.seq),
    // The dispatcher's claim: a tenant's oldest undispatched events, however many it has dispatched.
    index("change_events_undispatched_tenant").on(t.tenantId, t.seq).where(sql`dispatched_at IS NULL`),
    index("change_events_occurred").on(t.occurredAt),
  ],
);

/** Webhook endpoints of a tenant. The signing secret is stored encrypted (AES-GCM), never in clear. */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    url: text("url").notNull(),
    /** Event types to send; null means all. */
    events: text("events", { mode: "json" }).$type<string[] | null>(),
    /** `v1.<iv base64url>.<ciphertext base64url>` of the `whsec_…` secret, under the WEBHOOK_SECRET_KEY secret. */
    secretCiphertext: text("secret_ciphertext").notNull(),
    createdAt: text("created_at").notNull(),
    secretRotatedAt: text("secret_rotated_at"),
    /** Who added it: the operator, or the customer's IT admin (a setup-link session), who may change only theirs. */
    createdBy: text("created_by", { enum: ["operator", "customer"] }).notNull().default("operator"),
  },
  (t) => [index("webhooks_tenant").on(t.tenantId)],
);

/**
 * Deliveries handed to the queue whose first attempt is not recorded yet: a dispatch run inserts
 * one per (event, webhook) in the transaction that marks the event dispatched; the consumer deletes
 * it when it records the attempt. One still here after a while was lost between outbox and
 * receiver (a crash, a lost queue message), and the minute sweep hands it to the queue again.
 */
export const webhookPending = sqliteTable(
  "webhook_pending",
  {
    eventId: text("event_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    /** When it was (last) handed to the queue. */
    queuedAt: text("queued_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.webhookId] }), index("webhook_pending_queued").on(t.queuedAt)],
);

/** One row per delivery attempt (and one per dead-lettered delivery), newest last. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    attempt: integer("attempt").notNull(),
    /** `delivered`, `failed` (will be retried) or `dead` (retries exhausted: in the dead-letter queue). */
    status: text("status", { enum: ["delivered", "failed", "dead"] }).notNull(),
    httpStatus: integer("http_status"),
    at: text("at").notNull(),
    error: text("error"),
    nextAttemptAt: text("next_attempt_at"),
  },
  (t) => [index("webhook_deliveries_tenant_webhook").on(t.tenantId, t.webhookId, t.id), index("webhook_deliveries_at").on(t.at)],
);

/**
 * Copies of the live SCIM token digests of the tenants in this database (CONTROL_DB stays the
 * source of truth), so a SCIM request can verify its token in the same D1 batch as its data.
 */
export const tenantTokens = sqliteTable(
  "tenant_tokens",
  {
    digest: text("digest").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    tokenId: text("token_id").notNull(),
    prefix: text("prefix").notNull(),
    provider: text("provider").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("tenant_tokens_tenant").on(t.tenantId)],
);

/** Keys of a moving tenant's rows changed during its copy (src/placement; triggers created by the move write them). */
export const placementChanges = sqliteTable(
  "placement_changes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    moveId: text("move_id").notNull(),
    tbl: text("tbl").notNull(),
    key: text("key").notNull(),
  },
  (t) => [index("placement_changes_move").on(t.moveId, t.id)],
);

export const tenantSchema = { users, groups, groupMembers, resourceCounts, groupSizes, events, changeEvents, webhooks, webhookPending, webhookDeliveries, tenantTokens, placementChanges };
export type UserRow = typeof users.$inferSelect;
export type GroupRow = typeof groups.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type ChangeEventRow = typeof changeEvents.$inferSelect;
export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type TenantTokenRow = typeof tenantTokens.$inferSelect;


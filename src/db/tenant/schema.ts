/**
 * Tenant data: one schema, applied to every tenant D1 database (migrations/tenant). Several tenants
 * may share one database (the default binding), so every row carries `tenant_id` and every query
 * is scoped by it.
 */
import { sql } from "drizzle-orm";
import { customType, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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
    /**
     * The effective role (design.md §4f), kept by every write that can change it (src/roles); null
     * only for users older than migration 0012, who read as the deployment's DEFAULT_ROLE.
     */
    role: text("role"),
    /** The catalogue role the IdP pushed in `roles` (primary first) at the user's last write. */
    idpRole: text("idp_role"),
    /** Bumped by every write; the ETag is `W/"<version>"`. */
    version: integer("version").notNull().default(1),
    /** ISO 8601 with milliseconds (`Date#toISOString`), so text order is time order. */
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    /** TheStorage-owned: when the user last signed in through the tenant's IdP (design.md §4e); null if never. */
    lastSignInAt: text("last_sign_in_at"),
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
    index("users_tenant_role").on(t.tenantId, t.role),
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

/**
 * A large membership push in progress (migrations/tenant/0010): its commit point, the guard of its
 * chunks, and what they did so far. Gone once the push is finished (src/services/group-push.ts).
 */
export const groupPushes = sqliteTable(
  "group_pushes",
  {
    pushId: text("push_id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    groupId: text("group_id").notNull(),
    logId: integer("log_id"),
    startedAt: text("started_at").notNull(),
    added: integer("added").notNull().default(0),
    removed: integer("removed").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    /** The first few skipped ids (a JSON array), for the log's detail. */
    skippedSample: text("skipped_sample").notNull().default("[]"),
    /** The chunk to apply next: chunk k runs only while this is k, so each runs exactly once. */
    nextChunk: integer("next_chunk").notNull().default(0),
  },
  (t) => [index("group_pushes_tenant_group").on(t.tenantId, t.groupId)],
);

/** A tenant's default role (migrations/tenant/0012); absent: the deployment's DEFAULT_ROLE. */
export const roleSettings = sqliteTable("role_settings", {
  tenantId: text("tenant_id").primaryKey(),
  defaultRole: text("default_role").notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** Role mapping rules in the admin's order: the first whose group holds the user decides. */
export const roleRules = sqliteTable(
  "role_rules",
  {
    tenantId: text("tenant_id").notNull(),
    position: integer("position").notNull(),
    groupId: text("group_id").notNull(),
    role: text("role").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.position] }), index("role_rules_tenant_group").on(t.tenantId, t.groupId)],
);

/**
 * A column declared without a type, as migrations/tenant/0012 declares `user_custom_values.value`:
 * no type affinity, so a number stays a number and a string a string, and `value > 2` compares
 * numbers as numbers (a TEXT column would turn 10 into '10', which sorts before '2').
 */
const untyped = customType<{ data: string | number | null }>({ dataType: () => "" });

/**
 * Custom attribute values as rows (migrations/tenant/0012), kept by triggers on users from the
 * extension object; read only by filters (src/scim/filter/sql.ts customCandidates). Text lower-cased.
 */
export const userCustomValues = sqliteTable(
  "user_custom_values",
  {
    userRowid: integer("user_rowid").notNull(),
    name: text("name").notNull(),
    value: untyped("value"),
  },
  (t) => [index("user_custom_values_name_value").on(t.name, t.value, t.userRowid), index("user_custom_values_user").on(t.userRowid)],
);

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

/** The columns of a change event, shared by the outbox (change_events) and the held ones (held_changes). */
function changeEventColumns() {
  return {
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
  };
}

/**
 * Change events: the transactional outbox and the change feed. A row is written in the same D1
 * batch as the change it describes, so it exists if and only if that change committed.
 */
export const changeEvents = sqliteTable(
  "change_events",
  changeEventColumns(),
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
 * Deliveries not finished yet: a dispatch run inserts one per (event, webhook) in the transaction
 * that marks the event dispatched; the consumer deletes it when the delivery succeeds, is dropped or
 * is dead, and after a failed attempt moves `queued_at` to the retry's due time. One still here a
 * while after it was due was lost between outbox and receiver (a crash, a lost queue message), and
 * the minute sweep hands it to the queue again.
 */
export const webhookPending = sqliteTable(
  "webhook_pending",
  {
    eventId: text("event_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    /** When it was (last) handed to the queue, or when its retry is due there (a failed attempt's nextAttemptAt). */
    queuedAt: text("queued_at").notNull(),
    /** Attempts made so far: a re-sent retry carries this count, so backoff and dead-lettering go on from it. */
    attempts: integer("attempts").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.webhookId] }), index("webhook_pending_queued").on(t.queuedAt)],
);

/** One row per delivery attempt (and one per dead delivery), newest last. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    attempt: integer("attempt").notNull(),
    /** `delivered`, `failed` (will be retried) or `dead` (retries exhausted, or the event no longer stored). */
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
    /** A token rotated away with an overlap works until then (migrations/tenant/0009); null for the live token. */
    expiresAt: text("expires_at"),
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

/** Sign-in links (design.md §4e): (issuer, subject) → user, stored on the user's first sign-in. */
export const ssoLinks = sqliteTable(
  "sso_links",
  {
    tenantId: text("tenant_id").notNull(),
    issuer: text("issuer").notNull(),
    subject: text("subject").notNull(),
    userId: text("user_id").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.issuer, t.subject] }),
    uniqueIndex("sso_links_tenant_issuer_user").on(t.tenantId, t.issuer, t.userId),
  ],
);

/** Sign-in attempts already answered, by `state`: a replayed callback fails on the key. */
export const ssoAttemptsUsed = sqliteTable(
  "sso_attempts_used",
  {
    state: text("state").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [index("sso_attempts_used_tenant_expires").on(t.tenantId, t.expiresAt)],
);

/** One-time sign-in tickets (60 s), by SHA-256 digest; redemption deletes the row. */
export const ssoTickets = sqliteTable(
  "sso_tickets",
  {
    digest: text("digest").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    userId: text("user_id").notNull(),
    issuer: text("issuer").notNull(),
    subject: text("subject").notNull(),
    protocol: text("protocol").notNull(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [index("sso_tickets_tenant_expires").on(t.tenantId, t.expiresAt)],
);

/**
 * The deactivation hold (design.md §4g, migrations/tenant/0009): settings, whether it tripped, and
 * the tenant's active users (kept by triggers on users), one row per tenant; absent means defaults.
 */
export const deactivationGuard = sqliteTable("deactivation_guard", {
  tenantId: text("tenant_id").primaryKey(),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  threshold: integer("threshold").notNull().default(50),
  percent: integer("percent").notNull().default(10),
  windowMinutes: integer("window_minutes").notNull().default(10),
  activeUsers: integer("active_users").notNull().default(0),
  /** Set while the guard holds deactivations (until an admin releases them). */
  trippedAt: text("tripped_at"),
  /** The write that tripped it (a random id), so that write alone emits connection.guard_tripped. */
  tripId: text("trip_id"),
  /** The window counts only what came after the last release. */
  releasedAt: text("released_at"),
});

/** Deactivations and deletions of active users, counted over the guard's window. */
export const deactivationWindow = sqliteTable(
  "deactivation_window",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    tenantId: text("tenant_id").notNull(),
    at: text("at").notNull(),
    userId: text("user_id").notNull(),
  },
  (t) => [index("deactivation_window_tenant_at").on(t.tenantId, t.at)],
);

/** Change events held by a tripped guard: change_events' columns; Release moves them there in `seq` order. */
export const heldChanges = sqliteTable(
  "held_changes",
  changeEventColumns(),
  (t) => [index("held_changes_tenant_resource").on(t.tenantId, t.resourceId), index("held_changes_tenant_seq").on(t.tenantId, t.seq)],
);

/** Connection health (design.md §4g, migrations/tenant/0009): one row per tenant, written off the response path. */
export const connectionHealth = sqliteTable("connection_health", {
  tenantId: text("tenant_id").primaryKey(),
  /** The state last emitted as connection.health_changed (`never_connected`, `healthy`, `failing`, `rejected_credentials`). */
  state: text("state").notNull().default("never_connected"),
  stateChangedAt: text("state_changed_at"),
  /** The flush that changed it (a random id), so that flush alone emits the event. */
  stateChangeId: text("state_change_id"),
  firstRequestAt: text("first_request_at"),
  /** e.g. `GET /Users`. */
  firstRequest: text("first_request"),
  firstProvider: text("first_provider"),
  firstStatus: integer("first_status"),
  lastRequestAt: text("last_request_at"),
  lastRequest: text("last_request"),
  lastSuccessAt: text("last_success_at"),
  lastFailureAt: text("last_failure_at"),
  lastFailureStatus: integer("last_failure_status"),
  /** The last revoked or rotated-away token of this tenant still presented, and when. */
  refusedPrefix: text("refused_prefix"),
  refusedAt: text("refused_at"),
});

/** SCIM requests and failures per tenant in 5-minute buckets (ISO start), for the last hour's error rate. */
export const connectionRequests = sqliteTable(
  "connection_requests",
  {
    tenantId: text("tenant_id").notNull(),
    bucket: text("bucket").notNull(),
    requests: integer("requests").notNull().default(0),
    failures: integer("failures").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.bucket] })],
);

export const tenantSchema = {
  users,
  groups,
  groupMembers,
  resourceCounts,
  groupSizes,
  groupPushes,
  events,
  changeEvents,
  webhooks,
  webhookPending,
  webhookDeliveries,
  tenantTokens,
  roleSettings,
  roleRules,
  ssoLinks,
  ssoAttemptsUsed,
  ssoTickets,
  deactivationGuard,
  deactivationWindow,
  heldChanges,
  connectionHealth,
  connectionRequests,
  placementChanges,
};
export type UserRow = typeof users.$inferSelect;
export type GroupRow = typeof groups.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type ChangeEventRow = typeof changeEvents.$inferSelect;
export type WebhookRow = typeof webhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type TenantTokenRow = typeof tenantTokens.$inferSelect;
export type DeactivationGuardRow = typeof deactivationGuard.$inferSelect;
export type HeldChangeRow = typeof heldChanges.$inferSelect;
export type ConnectionHealthRow = typeof connectionHealth.$inferSelect;


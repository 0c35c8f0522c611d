/**
 * Tenant data: one schema, applied to every tenant D1 database (migrations/tenant). Several tenants
 * may share one database (the default binding), so every row carries `tenant_id` and every query
 * is scoped by it.
 */
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
  (t) => [primaryKey({ columns: [t.groupId, t.memberId] }), index("group_members_tenant_member").on(t.tenantId, t.memberId)],
);

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
  },
  (t) => [index("events_tenant_id").on(t.tenantId, t.id)],
);

export const tenantSchema = { users, groups, groupMembers, events };
export type UserRow = typeof users.$inferSelect;
export type GroupRow = typeof groups.$inferSelect;
export type EventRow = typeof events.$inferSelect;


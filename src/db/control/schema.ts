/** Control plane (CONTROL_DB): which tenants exist, where their data lives, and their SCIM token digests. */
import { sql } from "drizzle-orm";
import { index, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  /** Name of the D1 binding that holds this tenant's data; resolved only in src/tenancy. */
  database: text("database").notNull(),
  createdAt: text("created_at").notNull(),
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
    revokedAt: text("revoked_at"),
  },
  (t) => [
    // One live token per tenant: a racing second enable fails on this index instead of minting two.
    uniqueIndex("scim_tokens_one_live_per_tenant").on(t.tenantId).where(sql`revoked_at IS NULL`),
    index("scim_tokens_tenant").on(t.tenantId),
  ],
);

export const controlSchema = { tenants, scimTokens };
export type TenantRow = typeof tenants.$inferSelect;
export type ScimTokenRow = typeof scimTokens.$inferSelect;

-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- Token overlap (design.md §3, §4g): a token rotated away with `keepPreviousForSeconds` keeps working
-- until its `revoked_at`, which then lies in the future. A tenant's overlapping token is found
-- (tenant_id = ? AND revoked_at > now, latest first) through this index, for the tenant list too.
CREATE INDEX `scim_tokens_tenant_revoked_at` ON `scim_tokens` (`tenant_id`,`revoked_at`);

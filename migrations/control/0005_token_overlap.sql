-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- Token overlap (design.md §3, §4g): a token rotated away with `keepPreviousForSeconds` keeps working
-- until its `revoked_at`, which then lies in the future. The tenant list and page find those tokens
-- (revoked_at > now) through this index instead of reading every revoked token.
CREATE INDEX `scim_tokens_revoked_at` ON `scim_tokens` (`revoked_at`);

-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- Guardrails (design.md §4g, issue 20).
-- 1. Token overlap: the copy of a token rotated away with an overlap expires with it; a live token's copy has none.
ALTER TABLE `tenant_tokens` ADD `expires_at` text;

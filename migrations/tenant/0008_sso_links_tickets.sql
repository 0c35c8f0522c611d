-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- Sign-in through the customer's IdP (design.md §4e).
-- 1. When a user last signed in through the IdP (the console's "SSO" mark and lastSignInAt).
ALTER TABLE `users` ADD `last_sign_in_at` text;
--> statement-breakpoint
-- 2. The link stored on a user's first sign-in: (issuer, subject) → user, matched first from then on.
--    One subject per user per issuer, so a second IdP account cannot take over a linked user.
CREATE TABLE `sso_links` (
	`tenant_id` text NOT NULL,
	`issuer` text NOT NULL,
	`subject` text NOT NULL,
	`user_id` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `issuer`, `subject`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `sso_links_tenant_issuer_user` ON `sso_links` (`tenant_id`,`issuer`,`user_id`);
--> statement-breakpoint
-- 3. Sign-in attempts already answered (their `state`): a replayed callback fails on the primary key.
--    Kept until the attempt would have expired anyway; each callback deletes a few expired rows.
CREATE TABLE `sso_attempts_used` (
	`state` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`expires_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sso_attempts_used_tenant_expires` ON `sso_attempts_used` (`tenant_id`,`expires_at`);
--> statement-breakpoint
-- 4. One-time tickets (60 s): only their SHA-256 digest is stored; redemption deletes the row.
CREATE TABLE `sso_tickets` (
	`digest` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`user_id` text NOT NULL,
	`issuer` text NOT NULL,
	`subject` text NOT NULL,
	`protocol` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sso_tickets_tenant_expires` ON `sso_tickets` (`tenant_id`,`expires_at`);

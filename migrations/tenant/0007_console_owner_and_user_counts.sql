-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- 1. Who added a webhook: the operator (admin API, operator console) or the customer's IT admin
--    (a setup-link session). A setup-link session may change only the webhooks it added.
ALTER TABLE `webhooks` ADD `created_by` text DEFAULT 'operator' NOT NULL;
--> statement-breakpoint
-- 2. Users per tenant, kept in the batches that create and delete users (src/repo/users.ts), so the
--    tenant list reads one row per tenant instead of counting its users. (Not triggers: D1 counts a
--    trigger's writes in meta.changes, which the write paths read.)
CREATE TABLE `user_counts` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`users` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
INSERT INTO `user_counts` (`tenant_id`, `users`) SELECT `tenant_id`, count(*) FROM `users` GROUP BY `tenant_id`;
--> statement-breakpoint
-- 3. The console's status filter pages in creation order without reading the other status's rows.
CREATE INDEX `users_tenant_active_created` ON `users` (`tenant_id`,`active`,`created_at`,`id`);

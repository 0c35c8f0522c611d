-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- 1. Who added a webhook: the operator (admin API, operator console) or the customer's IT admin
--    (a setup-link session). A setup-link session may change only the webhooks it added.
ALTER TABLE `webhooks` ADD `created_by` text DEFAULT 'operator' NOT NULL;
--> statement-breakpoint
-- 2. The console's status filter pages in creation order without reading the other status's rows.
CREATE INDEX `users_tenant_active_created` ON `users` (`tenant_id`,`active`,`created_at`,`id`);

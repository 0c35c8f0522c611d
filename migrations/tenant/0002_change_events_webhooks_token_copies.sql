CREATE TABLE `change_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`type` text NOT NULL,
	`occurred_at` text NOT NULL,
	`resource_id` text,
	`version` integer,
	`data` text NOT NULL,
	`log_id` integer,
	`dispatched_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `change_events_id_unique` ON `change_events` (`id`);--> statement-breakpoint
CREATE INDEX `change_events_tenant_seq` ON `change_events` (`tenant_id`,`seq`);--> statement-breakpoint
CREATE INDEX `change_events_undispatched` ON `change_events` (`seq`) WHERE dispatched_at IS NULL;--> statement-breakpoint
CREATE INDEX `change_events_occurred` ON `change_events` (`occurred_at`);--> statement-breakpoint
CREATE TABLE `tenant_tokens` (
	`digest` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`token_id` text NOT NULL,
	`prefix` text NOT NULL,
	`provider` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tenant_tokens_tenant` ON `tenant_tokens` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`webhook_id` text NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`attempt` integer NOT NULL,
	`status` text NOT NULL,
	`http_status` integer,
	`at` text NOT NULL,
	`error` text,
	`next_attempt_at` text
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_tenant_webhook` ON `webhook_deliveries` (`tenant_id`,`webhook_id`,`id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_at` ON `webhook_deliveries` (`at`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text,
	`secret_ciphertext` text NOT NULL,
	`created_at` text NOT NULL,
	`secret_rotated_at` text
);
--> statement-breakpoint
CREATE INDEX `webhooks_tenant` ON `webhooks` (`tenant_id`);--> statement-breakpoint
ALTER TABLE `events` ADD `actor` text;--> statement-breakpoint
CREATE INDEX `events_at` ON `events` (`at`);
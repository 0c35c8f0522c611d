CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` text NOT NULL,
	`tenant_id` text,
	`tenant_slug` text,
	`action` text NOT NULL,
	`actor` text NOT NULL,
	`outcome` text NOT NULL,
	`detail` text DEFAULT '' NOT NULL,
	`ip` text
);
--> statement-breakpoint
CREATE INDEX `audit_events_tenant` ON `audit_events` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_at` ON `audit_events` (`at`);--> statement-breakpoint
CREATE TABLE `auth_failures` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ip` text NOT NULL,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `auth_failures_ip_at` ON `auth_failures` (`ip`,`at`);--> statement-breakpoint
CREATE INDEX `auth_failures_at` ON `auth_failures` (`at`);--> statement-breakpoint
CREATE TABLE `setup_links` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`digest` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text NOT NULL,
	`used_at` text,
	`return_url` text,
	`created_by` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `setup_links_digest_unique` ON `setup_links` (`digest`);--> statement-breakpoint
CREATE INDEX `setup_links_tenant` ON `setup_links` (`tenant_id`);--> statement-breakpoint
ALTER TABLE `tenants` ADD `deleting_at` text;
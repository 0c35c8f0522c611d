CREATE TABLE `scim_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`digest` text NOT NULL,
	`prefix` text NOT NULL,
	`provider` text NOT NULL,
	`created_at` text NOT NULL,
	`last_used_at` text,
	`revoked_at` text,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `scim_tokens_digest_unique` ON `scim_tokens` (`digest`);--> statement-breakpoint
CREATE UNIQUE INDEX `scim_tokens_one_live_per_tenant` ON `scim_tokens` (`tenant_id`) WHERE revoked_at IS NULL;--> statement-breakpoint
CREATE INDEX `scim_tokens_tenant` ON `scim_tokens` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`database` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tenants_slug_unique` ON `tenants` (`slug`);
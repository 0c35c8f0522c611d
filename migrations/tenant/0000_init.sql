CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`at` text NOT NULL,
	`action` text NOT NULL,
	`resource_type` text NOT NULL,
	`resource_id` text,
	`target` text,
	`outcome` text NOT NULL,
	`status` integer NOT NULL,
	`detail` text DEFAULT '' NOT NULL,
	`token_prefix` text
);
--> statement-breakpoint
CREATE INDEX `events_tenant_id` ON `events` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `group_members` (
	`tenant_id` text NOT NULL,
	`group_id` text NOT NULL,
	`member_id` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`group_id`, `member_id`)
);
--> statement-breakpoint
CREATE INDEX `group_members_tenant_member` ON `group_members` (`tenant_id`,`member_id`);--> statement-breakpoint
CREATE TABLE `groups` (
	`tenant_id` text NOT NULL,
	`id` text PRIMARY KEY NOT NULL,
	`display_name` text NOT NULL,
	`display_name_norm` text NOT NULL,
	`external_id` text,
	`data` text NOT NULL,
	`source` text,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `groups_tenant_display_name_norm` ON `groups` (`tenant_id`,`display_name_norm`);--> statement-breakpoint
CREATE INDEX `groups_tenant_external_id` ON `groups` (`tenant_id`,`external_id`);--> statement-breakpoint
CREATE INDEX `groups_tenant_created` ON `groups` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `users` (
	`tenant_id` text NOT NULL,
	`id` text PRIMARY KEY NOT NULL,
	`user_name` text NOT NULL,
	`user_name_norm` text NOT NULL,
	`external_id` text,
	`display_name` text,
	`email` text,
	`active` integer DEFAULT true NOT NULL,
	`data` text NOT NULL,
	`source` text,
	`avatar_url` text,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_tenant_user_name_norm` ON `users` (`tenant_id`,`user_name_norm`);--> statement-breakpoint
CREATE INDEX `users_tenant_external_id` ON `users` (`tenant_id`,`external_id`);--> statement-breakpoint
CREATE INDEX `users_tenant_email` ON `users` (`tenant_id`,`email`);--> statement-breakpoint
CREATE INDEX `users_tenant_created` ON `users` (`tenant_id`,`created_at`,`id`);
-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- Guardrails (design.md §4g, issue 20).
-- 1. Token overlap: the copy of a token rotated away with an overlap expires with it; a live token's copy has none.
ALTER TABLE `tenant_tokens` ADD `expires_at` text;
--> statement-breakpoint
-- 2. The deactivation hold (design.md §4g): per-tenant settings and state, and the count of active
--    users it compares a wave with, kept by triggers on users (a percentage of active users without
--    counting them on every deactivation).
CREATE TABLE `deactivation_guard` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`enabled` integer DEFAULT 1 NOT NULL,
	`threshold` integer DEFAULT 50 NOT NULL,
	`percent` integer DEFAULT 10 NOT NULL,
	`window_minutes` integer DEFAULT 10 NOT NULL,
	`active_users` integer DEFAULT 0 NOT NULL,
	`tripped_at` text,
	`trip_id` text,
	`released_at` text
);
--> statement-breakpoint
INSERT INTO `deactivation_guard` (`tenant_id`, `active_users`) SELECT `tenant_id`, count(*) FROM `users` WHERE `active` = 1 GROUP BY `tenant_id`;
--> statement-breakpoint
CREATE TRIGGER `users_guard_active_insert` AFTER INSERT ON `users` WHEN new.`active` = 1 BEGIN
	INSERT INTO `deactivation_guard` (`tenant_id`, `active_users`) VALUES (new.`tenant_id`, 1) ON CONFLICT DO UPDATE SET `active_users` = `active_users` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `users_guard_active_update` AFTER UPDATE OF `active` ON `users` WHEN old.`active` IS NOT new.`active` BEGIN
	INSERT INTO `deactivation_guard` (`tenant_id`, `active_users`) VALUES (new.`tenant_id`, CASE WHEN new.`active` = 1 THEN 1 ELSE 0 END)
		ON CONFLICT DO UPDATE SET `active_users` = max(0, `active_users` + CASE WHEN new.`active` = 1 THEN 1 ELSE -1 END);
END;
--> statement-breakpoint
CREATE TRIGGER `users_guard_active_delete` AFTER DELETE ON `users` WHEN old.`active` = 1 BEGIN
	UPDATE `deactivation_guard` SET `active_users` = max(0, `active_users` - 1) WHERE `tenant_id` = old.`tenant_id`;
END;
--> statement-breakpoint
-- Deactivations and deletions of active users, counted over the guard's window; pruned as it goes.
CREATE TABLE `deactivation_window` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`tenant_id` text NOT NULL,
	`at` text NOT NULL,
	`user_id` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `deactivation_window_tenant_at` ON `deactivation_window` (`tenant_id`,`at`);
--> statement-breakpoint
-- Change events held by a tripped guard: the same columns as change_events; Release moves them
-- there, in `seq` order, keeping id and occurred_at.
CREATE TABLE `held_changes` (
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
CREATE UNIQUE INDEX `held_changes_id_unique` ON `held_changes` (`id`);
--> statement-breakpoint
CREATE INDEX `held_changes_tenant_resource` ON `held_changes` (`tenant_id`,`resource_id`);
--> statement-breakpoint
CREATE INDEX `held_changes_tenant_seq` ON `held_changes` (`tenant_id`,`seq`);
--> statement-breakpoint
-- 3. Connection health (design.md §4g): one row per tenant (first and last request, last success,
--    the last revoked token presented, the state last emitted) and request counts in 5-minute
--    buckets for the error rate of the last hour. Written off the response path.
CREATE TABLE `connection_health` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`state` text DEFAULT 'never_connected' NOT NULL,
	`state_changed_at` text,
	`state_change_id` text,
	`first_request_at` text,
	`first_request` text,
	`first_provider` text,
	`first_status` integer,
	`last_request_at` text,
	`last_request` text,
	`last_success_at` text,
	`last_failure_at` text,
	`last_failure_status` integer,
	`refused_prefix` text,
	`refused_at` text
);
--> statement-breakpoint
CREATE TABLE `connection_requests` (
	`tenant_id` text NOT NULL,
	`bucket` text NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `bucket`)
);

CREATE TABLE `webhook_pending` (
	`event_id` text NOT NULL,
	`webhook_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`queued_at` text NOT NULL,
	PRIMARY KEY(`event_id`, `webhook_id`)
);
--> statement-breakpoint
CREATE INDEX `webhook_pending_queued` ON `webhook_pending` (`queued_at`);--> statement-breakpoint
DROP INDEX `change_events_undispatched`;--> statement-breakpoint
CREATE INDEX `change_events_undispatched_tenant` ON `change_events` (`tenant_id`,`seq`) WHERE dispatched_at IS NULL;

-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- Placement (design.md §4h): a tenant's move from one tenant D1 database to another, run in bounded
-- steps by the PlacementMover Durable Object. The row is the move's state: a step reads it, does
-- one bounded piece of work, and records how far it got, so a killed step resumes where it was.
CREATE TABLE `tenant_moves` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`tenant_slug` text NOT NULL,
	`from_database` text NOT NULL,
	`to_database` text NOT NULL,
	`state` text NOT NULL,
	`table_index` integer DEFAULT 0 NOT NULL,
	`after_key` text,
	`rows_copied` integer DEFAULT 0 NOT NULL,
	`changes_applied` integer DEFAULT 0 NOT NULL,
	`rows_erased` integer DEFAULT 0 NOT NULL,
	`rows_total` integer DEFAULT 0 NOT NULL,
	`steps` integer DEFAULT 0 NOT NULL,
	`failures` integer DEFAULT 0 NOT NULL,
	`actor` text NOT NULL,
	`started_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`frozen_at` text,
	`switched_at` text,
	`finished_at` text,
	`writes_refused_ms` integer,
	`error` text
);
--> statement-breakpoint
-- One unfinished move per tenant: a second POST while one runs meets this index (409).
CREATE UNIQUE INDEX `tenant_moves_one_active` ON `tenant_moves` (`tenant_id`) WHERE `finished_at` IS NULL;
--> statement-breakpoint
CREATE INDEX `tenant_moves_tenant_started` ON `tenant_moves` (`tenant_id`, `started_at`);
--> statement-breakpoint
CREATE INDEX `tenant_moves_unfinished` ON `tenant_moves` (`started_at`) WHERE `finished_at` IS NULL;

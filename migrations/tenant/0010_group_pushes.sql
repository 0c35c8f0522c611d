-- Large group writes (design.md §4h): a Push Now of up to 100,000 members is applied in bounded
-- chunks by the group's ScimWriter Durable Object. This row is the push's commit point: written in
-- the same batch as the group's version bump and the write's log row, it says the push happened and
-- must be carried to the end (by the object, or by its alarm after a crash); every chunk is guarded
-- by it and by its number (`next_chunk`), so each chunk is applied exactly once, and the row goes in
-- the batch that finishes the push. It counts what the chunks did, for the log row's final detail.
CREATE TABLE `group_pushes` (
	`push_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`group_id` text NOT NULL,
	`log_id` integer,
	`started_at` text NOT NULL,
	`added` integer DEFAULT 0 NOT NULL,
	`removed` integer DEFAULT 0 NOT NULL,
	`skipped` integer DEFAULT 0 NOT NULL,
	`skipped_sample` text DEFAULT '[]' NOT NULL,
	`next_chunk` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `group_pushes_tenant_group` ON `group_pushes` (`tenant_id`,`group_id`);

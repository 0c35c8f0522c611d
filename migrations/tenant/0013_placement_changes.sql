-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- Placement (design.md §4h): while a tenant is copied to another database, triggers that the move
-- creates on the source database (and drops when it ends) record here the key of every row of the
-- tenant that changes, so the copy catches up with writes that kept arriving; a row is deleted
-- once applied to the target. Keys are JSON arrays of the table's primary-key values.
CREATE TABLE `placement_changes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`move_id` text NOT NULL,
	`tbl` text NOT NULL,
	`key` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `placement_changes_move` ON `placement_changes` (`move_id`, `id`);

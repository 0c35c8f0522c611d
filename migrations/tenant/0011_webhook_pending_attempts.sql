-- A delivery stays pending until it succeeds or is dead: while a retry waits, `queued_at` is when
-- that retry is due and `attempts` how many attempts it has had, so the sweep re-sends a retry the
-- queue lost (issue 23) with its count.
ALTER TABLE `webhook_pending` ADD `attempts` integer DEFAULT 0 NOT NULL;

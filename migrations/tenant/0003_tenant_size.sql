-- Every request's cost independent of the tenant's size (design.md §4h).
--
-- Primary-key member lookups: with only (tenant_id, created_at, id), `tenant_id = ? AND id IN (…)`
-- walked the tenant's whole index; (tenant_id, id) serves both terms.
CREATE INDEX `users_tenant_id` ON `users` (`tenant_id`,`id`);--> statement-breakpoint
-- A group's members in the order added, without a sort (and without walking other groups' rows).
CREATE INDEX `group_members_tenant_group` ON `group_members` (`tenant_id`,`group_id`,`created_at`,`member_id`);--> statement-breakpoint
-- `meta.lastModified gt …` and sortBy=meta.lastModified.
CREATE INDEX `users_tenant_updated` ON `users` (`tenant_id`,`updated_at`,`id`);--> statement-breakpoint
-- `title pr` (the attribute clients filter with `pr`): the filter's `IS NOT NULL` prefix meets this index.
CREATE INDEX `users_tenant_title` ON `users` (`tenant_id`, json_extract(`data`, '$.title'));--> statement-breakpoint
-- Maintained totals: an unfiltered list page reads one row instead of counting the tenant.
CREATE TABLE `resource_counts` (
	`tenant_id` text NOT NULL,
	`resource` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `resource`)
);
--> statement-breakpoint
INSERT INTO `resource_counts` (`tenant_id`, `resource`, `n`) SELECT `tenant_id`, 'users', count(*) FROM `users` GROUP BY `tenant_id`;--> statement-breakpoint
INSERT INTO `resource_counts` (`tenant_id`, `resource`, `n`) SELECT `tenant_id`, 'groups', count(*) FROM `groups` GROUP BY `tenant_id`;--> statement-breakpoint
CREATE TRIGGER `users_count_insert` AFTER INSERT ON `users` BEGIN
	INSERT INTO `resource_counts` (`tenant_id`, `resource`, `n`) VALUES (new.`tenant_id`, 'users', 1) ON CONFLICT DO UPDATE SET `n` = `n` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `users_count_delete` AFTER DELETE ON `users` BEGIN
	UPDATE `resource_counts` SET `n` = `n` - 1 WHERE `tenant_id` = old.`tenant_id` AND `resource` = 'users';
END;--> statement-breakpoint
CREATE TRIGGER `groups_count_insert` AFTER INSERT ON `groups` BEGIN
	INSERT INTO `resource_counts` (`tenant_id`, `resource`, `n`) VALUES (new.`tenant_id`, 'groups', 1) ON CONFLICT DO UPDATE SET `n` = `n` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `groups_count_delete` AFTER DELETE ON `groups` BEGIN
	UPDATE `resource_counts` SET `n` = `n` - 1 WHERE `tenant_id` = old.`tenant_id` AND `resource` = 'groups';
END;--> statement-breakpoint
-- Member counts per group: GET /Groups bounds a page by members, the console shows the count.
CREATE TABLE `group_sizes` (
	`group_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`members` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `group_sizes` (`group_id`, `tenant_id`, `members`) SELECT `group_id`, `tenant_id`, count(*) FROM `group_members` GROUP BY `group_id`;--> statement-breakpoint
CREATE TRIGGER `group_members_size_insert` AFTER INSERT ON `group_members` BEGIN
	INSERT INTO `group_sizes` (`group_id`, `tenant_id`, `members`) VALUES (new.`group_id`, new.`tenant_id`, 1) ON CONFLICT DO UPDATE SET `members` = `members` + 1;
END;--> statement-breakpoint
CREATE TRIGGER `group_members_size_delete` AFTER DELETE ON `group_members` BEGIN
	UPDATE `group_sizes` SET `members` = `members` - 1 WHERE `group_id` = old.`group_id`;
END;--> statement-breakpoint
CREATE TRIGGER `groups_size_delete` AFTER DELETE ON `groups` BEGIN
	DELETE FROM `group_sizes` WHERE `group_id` = old.`id`;
END;--> statement-breakpoint
-- Substring filters (`co`, `sw`, `ew`) and the admin search: a trigram index of the text attributes
-- they read, used to find candidates; the exact predicate still decides each row. Contentless (it
-- holds only the index) and kept by triggers, keyed by the users row's rowid. Emails are joined by
-- a line feed (a candidate spanning two is rejected by the exact predicate).
CREATE VIRTUAL TABLE `users_text` USING fts5(
	`user_name`, `display_name`, `email`, `emails`, `given_name`, `family_name`, `middle_name`, `formatted`,
	content='', contentless_delete=1, tokenize='trigram'
);--> statement-breakpoint
INSERT INTO `users_text` (`rowid`, `user_name`, `display_name`, `email`, `emails`, `given_name`, `family_name`, `middle_name`, `formatted`)
	SELECT `rowid`, `user_name_norm`, coalesce(`display_name`, '') || char(10) || coalesce(json_extract(`data`, '$.displayName'), ''), `email`,
		(SELECT group_concat(json_extract(e.value, '$.value'), char(10)) FROM json_each(`data`, '$.emails') e WHERE e.type = 'object'),
		json_extract(`data`, '$.name.givenName'), json_extract(`data`, '$.name.familyName'), json_extract(`data`, '$.name.middleName'), json_extract(`data`, '$.name.formatted')
	FROM `users`;--> statement-breakpoint
CREATE TRIGGER `users_text_insert` AFTER INSERT ON `users` BEGIN
	INSERT INTO `users_text` (`rowid`, `user_name`, `display_name`, `email`, `emails`, `given_name`, `family_name`, `middle_name`, `formatted`)
	VALUES (new.`rowid`, new.`user_name_norm`, coalesce(new.`display_name`, '') || char(10) || coalesce(json_extract(new.`data`, '$.displayName'), ''), new.`email`,
		(SELECT group_concat(json_extract(e.value, '$.value'), char(10)) FROM json_each(new.`data`, '$.emails') e WHERE e.type = 'object'),
		json_extract(new.`data`, '$.name.givenName'), json_extract(new.`data`, '$.name.familyName'), json_extract(new.`data`, '$.name.middleName'), json_extract(new.`data`, '$.name.formatted'));
END;--> statement-breakpoint
CREATE TRIGGER `users_text_update` AFTER UPDATE OF `user_name_norm`, `display_name`, `email`, `data` ON `users` BEGIN
	DELETE FROM `users_text` WHERE `rowid` = old.`rowid`;
	INSERT INTO `users_text` (`rowid`, `user_name`, `display_name`, `email`, `emails`, `given_name`, `family_name`, `middle_name`, `formatted`)
	VALUES (new.`rowid`, new.`user_name_norm`, coalesce(new.`display_name`, '') || char(10) || coalesce(json_extract(new.`data`, '$.displayName'), ''), new.`email`,
		(SELECT group_concat(json_extract(e.value, '$.value'), char(10)) FROM json_each(new.`data`, '$.emails') e WHERE e.type = 'object'),
		json_extract(new.`data`, '$.name.givenName'), json_extract(new.`data`, '$.name.familyName'), json_extract(new.`data`, '$.name.middleName'), json_extract(new.`data`, '$.name.formatted'));
END;--> statement-breakpoint
CREATE TRIGGER `users_text_delete` AFTER DELETE ON `users` BEGIN
	DELETE FROM `users_text` WHERE `rowid` = old.`rowid`;
END;

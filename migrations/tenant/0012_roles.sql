-- Roles (design.md §4f). `role`: the user's effective role, kept by every write that can change it;
-- null only for users provisioned before this migration, who read as the deployment's DEFAULT_ROLE
-- until the tenant's first role-mapping save materialises them. `idp_role`: the catalogue role the
-- IdP pushed in the user's SCIM `roles` (primary first), as of the user's last write.
ALTER TABLE `users` ADD `role` text;--> statement-breakpoint
ALTER TABLE `users` ADD `idp_role` text;--> statement-breakpoint
-- A tenant's default role (absent: the deployment's DEFAULT_ROLE).
CREATE TABLE `role_settings` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`default_role` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
-- Mapping rules in the admin's order: the first whose group holds the user decides.
CREATE TABLE `role_rules` (
	`tenant_id` text NOT NULL,
	`position` integer NOT NULL,
	`group_id` text NOT NULL,
	`role` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `position`)
);
--> statement-breakpoint
-- "Is this group mapped?": the membership writes' short-circuit, one index probe.
CREATE INDEX `role_rules_tenant_group` ON `role_rules` (`tenant_id`,`group_id`);--> statement-breakpoint
-- "Who is a member of this group?" from the user's side, for the role of one user: already served by
-- group_members_tenant_member (tenant_id, member_id); the users-by-role count for the console:
CREATE INDEX `users_tenant_role` ON `users` (`tenant_id`,`role`);
--> statement-breakpoint
-- Custom attribute values (the tenant's extension object, src/attributes) as rows, kept by triggers
-- on users: a filter on one (`…:User:costCenter eq "x"`, `…:clearance gt 2`) finds its candidates
-- here instead of walking the tenant; the exact predicate still decides each row. Text is stored
-- lower-cased (SCIM compares it case-insensitively); a list gives one row per element. Keyed by the
-- users row's rowid, like users_text; a user's rows go with it (the delete trigger), so tenant
-- erasure needs no entry for this table.
CREATE TABLE `user_custom_values` (
	`user_rowid` integer NOT NULL,
	`name` text NOT NULL,
	`value`
);
--> statement-breakpoint
CREATE INDEX `user_custom_values_name_value` ON `user_custom_values` (`name`, `value`, `user_rowid`);--> statement-breakpoint
CREATE INDEX `user_custom_values_user` ON `user_custom_values` (`user_rowid`);--> statement-breakpoint
CREATE TRIGGER `users_custom_insert` AFTER INSERT ON `users` WHEN json_type(new.`data`, '$."urn:ietf:params:scim:schemas:extension:thestorage:2.0:User"') = 'object' BEGIN
	INSERT INTO `user_custom_values` (`user_rowid`, `name`, `value`)
	SELECT new.`rowid`, a.key, CASE WHEN a.type = 'text' THEN lower(a.atom) ELSE a.atom END
		FROM json_each(new.`data`, '$."urn:ietf:params:scim:schemas:extension:thestorage:2.0:User"') a WHERE a.type <> 'array'
	UNION ALL
	SELECT new.`rowid`, a.key, CASE WHEN v.type = 'text' THEN lower(v.atom) ELSE v.atom END
		FROM json_each(new.`data`, '$."urn:ietf:params:scim:schemas:extension:thestorage:2.0:User"') a, json_each(a.value) v WHERE a.type = 'array';
END;--> statement-breakpoint
CREATE TRIGGER `users_custom_update` AFTER UPDATE OF `data` ON `users`
	WHEN json_type(old.`data`, '$."urn:ietf:params:scim:schemas:extension:thestorage:2.0:User"') = 'object' OR json_type(new.`data`, '$."urn:ietf:params:scim:schemas:extension:thestorage:2.0:User"') = 'object' BEGIN
	DELETE FROM `user_custom_values` WHERE `user_rowid` = old.`rowid`;
	INSERT INTO `user_custom_values` (`user_rowid`, `name`, `value`)
	SELECT new.`rowid`, a.key, CASE WHEN a.type = 'text' THEN lower(a.atom) ELSE a.atom END
		FROM json_each(new.`data`, '$."urn:ietf:params:scim:schemas:extension:thestorage:2.0:User"') a WHERE a.type <> 'array'
	UNION ALL
	SELECT new.`rowid`, a.key, CASE WHEN v.type = 'text' THEN lower(v.atom) ELSE v.atom END
		FROM json_each(new.`data`, '$."urn:ietf:params:scim:schemas:extension:thestorage:2.0:User"') a, json_each(a.value) v WHERE a.type = 'array';
END;--> statement-breakpoint
CREATE TRIGGER `users_custom_delete` AFTER DELETE ON `users` BEGIN
	DELETE FROM `user_custom_values` WHERE `user_rowid` = old.`rowid`;
END;

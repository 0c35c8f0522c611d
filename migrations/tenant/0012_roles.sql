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

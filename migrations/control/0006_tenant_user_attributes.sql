-- Custom user attributes per tenant (design.md §4f): their definitions, as JSON
-- `[{"name","type","multiValued","description"?}]`, travel with the tenant row that every SCIM
-- request already resolves, so discovery, validation, filters and sorting need no extra read.
ALTER TABLE `tenants` ADD `user_attributes` text DEFAULT '[]' NOT NULL;

-- The admin authentication throttle now counts failures in a Durable Object per client IP
-- (src/durable/auth-throttle.ts), which counts atomically; this table raced under concurrency.
DROP INDEX IF EXISTS `auth_failures_ip_at`;--> statement-breakpoint
DROP INDEX IF EXISTS `auth_failures_at`;--> statement-breakpoint
DROP TABLE IF EXISTS `auth_failures`;

-- Hand-written (see GUIDE: no drizzle-kit generate in parallel branches); the lead regenerates meta.
-- Sign-in through the customer's IdP (design.md §4e): one connection per tenant. Kept beside the
-- tenant row so `start` reads tenant and connection in one query. The client secret is AES-GCM
-- ciphertext (src/events/secret-box.ts, additional data `sso:<tenant id>`), never clear text.
-- The issuer's endpoints are read from its discovery document when the connection is saved.
CREATE TABLE `sso_connections` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`protocol` text NOT NULL,
	`issuer` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret_ciphertext` text NOT NULL,
	`jit` integer DEFAULT false NOT NULL,
	`default_return_to` text,
	`metadata` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);

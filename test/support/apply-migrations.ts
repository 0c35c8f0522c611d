import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Setup files run before each test file (idempotent): every database starts migrated.
await applyD1Migrations(env.CONTROL_DB, env.CONTROL_MIGRATIONS);
await applyD1Migrations(env.TENANT_DEFAULT, env.TENANT_MIGRATIONS);
await applyD1Migrations(env.TENANT_DEMO, env.TENANT_MIGRATIONS);

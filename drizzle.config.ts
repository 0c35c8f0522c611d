// drizzle-kit: control-plane schema → migrations/control (applied to CONTROL_DB).
// The tenant schema has its own config, drizzle.tenant.config.ts (applied to every TENANT_* binding).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/control/schema.ts",
  out: "./migrations/control",
  strict: true,
  // Timestamped names (20261205123000_name.sql) sort after the hand-numbered 0000–0007 files, which
  // wrangler applies in name order, and cannot take a number an existing file has (README, Migrations).
  migrations: { prefix: "timestamp" },
});

// drizzle-kit: tenant-data schema → migrations/tenant (applied to every TENANT_* binding).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/tenant/schema.ts",
  out: "./migrations/tenant",
  strict: true,
  // Timestamped names (20261205123000_name.sql) sort after the hand-numbered 0000–0013 files, which
  // wrangler applies in name order, and cannot take a number an existing file has (README, Migrations).
  migrations: { prefix: "timestamp" },
});

// drizzle-kit: tenant-data schema → migrations/tenant (applied to every TENANT_* binding).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/tenant/schema.ts",
  out: "./migrations/tenant",
  strict: true,
});

// drizzle-kit: control-plane schema → migrations/control (applied to CONTROL_DB).
// The tenant schema has its own config, drizzle.tenant.config.ts (applied to every TENANT_* binding).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/control/schema.ts",
  out: "./migrations/control",
  strict: true,
});

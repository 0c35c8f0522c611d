import type { ScimWriter } from "./durable/scim-writer";

/** The Worker's bindings (wrangler.toml). Tenant databases are reached by name in src/tenancy only. */
export interface Env {
  CONTROL_DB: D1Database;
  TENANT_DEFAULT: D1Database;
  TENANT_DEMO: D1Database;
  SCIM_WRITER: DurableObjectNamespace<ScimWriter>;
  SCIM_RATE_LIMIT: RateLimit;
  /** Secret. Unset → every admin route answers 503. */
  ADMIN_TOKEN?: string;
  PUBLIC_BASE_URL?: string;
}

import type { AuthThrottle } from "./durable/auth-throttle";
import type { ScimWriter } from "./durable/scim-writer";
import type { PlacementMover } from "./placement/mover-object";

/** The Worker's bindings (wrangler.toml). Tenant databases are reached by name in src/tenancy only. */
export interface Env {
  CONTROL_DB: D1Database;
  TENANT_DEFAULT: D1Database;
  TENANT_DEMO: D1Database;
  SCIM_WRITER: DurableObjectNamespace<ScimWriter>;
  SCIM_RATE_LIMIT: RateLimit;
  /** The admin authentication throttle: one object per client IP. */
  AUTH_THROTTLE: DurableObjectNamespace<AuthThrottle>;
  /** Secret. Unset → every admin route answers 503. */
  ADMIN_TOKEN?: string;
  PUBLIC_BASE_URL?: string;
  /** Change events out: the producer of the delivery queue. */
  EVENTS_QUEUE: Queue<unknown>;
  /** Secret: base64 of 32 bytes, the AES-GCM key of webhook secrets at rest. */
  WEBHOOK_SECRET_KEY?: string;
  WEBHOOK_RETRY_BASE_SECONDS?: string;
  /** The longest delay between two attempts (default and at most 43,200: the Queue's 12 hours). */
  WEBHOOK_RETRY_MAX_SECONDS?: string;
  /** Attempts per webhook delivery before it is dead (default 13). */
  WEBHOOK_MAX_ATTEMPTS?: string;
  /** "true" on a local run: webhook URLs may be http://127.0.0.1 or http://localhost. */
  WEBHOOK_ALLOW_LOOPBACK?: string;
  EVENT_RETENTION_DAYS?: string;
  /** Cloudflare Access: team domain and application AUD; both set turns Access on. */
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  /** Sign-in through the customer's IdP: comma-separated origins a sign-in may return to (`return_to`). */
  SIGN_IN_RETURN_ORIGINS?: string;
  /** The role catalogue, comma-separated, lowest first (design.md §4f); and the default role. */
  ROLES?: string;
  DEFAULT_ROLE?: string;
  /** Connection health: seconds an isolate coalesces a tenant's same-outcome requests before writing them (default 10; 0: every request). */
  HEALTH_FLUSH_SECONDS?: string;
  /** Runs tenant moves between tenant databases (src/placement): one object per move. */
  PLACEMENT_MOVER: DurableObjectNamespace<PlacementMover>;
  /** Seconds between a moved tenant's switch and erasing its rows from the old database (default 90). */
  PLACEMENT_ERASE_DELAY_SECONDS?: string;
}

// Types for `env` from "cloudflare:workers" in tests: the Worker's bindings plus the migrations
// that vitest.config.ts passes in.
import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      CONTROL_MIGRATIONS: D1Migration[];
      TENANT_MIGRATIONS: D1Migration[];
      TIGHT_RATE_LIMIT: RateLimit;
      /** The ScimDirectory entrypoint of this worker, bound as a consumer would (vitest.config.ts). */
      DIRECTORY: Service<import("../../src/rpc/directory").ScimDirectory>;
    }
    interface GlobalProps {
      mainModule: typeof import("../../src/index");
      durableNamespaces: "ScimWriter";
    }
  }
}

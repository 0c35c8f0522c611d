import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { kCurrentWorker } from "miniflare";
import { defineConfig } from "vitest/config";

/**
 * Four projects:
 * - `unit`: the pure SCIM core (src/scim), run in Node: no bindings, fast.
 * - `workers`: everything through the Worker's HTTP surface, inside workerd with real D1, Durable
 *   Objects, Queues, the rate-limit binding and a service binding to the RPC entrypoint from
 *   wrangler.toml. Storage is isolated per test file.
 * - `dead-letter`: the same, with two attempts per webhook delivery, for the real path to a dead delivery.
 * - `e2e`: the admin console driven in headless Chromium against a real `wrangler dev`.
 */
export default defineConfig(async () => {
  const control = await readD1Migrations(path.join(import.meta.dirname, "migrations/control"));
  const tenant = await readD1Migrations(path.join(import.meta.dirname, "migrations/tenant"));

  /** A project in workerd with the Worker's bindings from wrangler.toml plus the tests' own. */
  const workersProject = (name: string, include: string[], bindings: Record<string, string> = {}) => ({
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ADMIN_TOKEN: "test-admin-token-0123456789abcdef",
            CONTROL_MIGRATIONS: control,
            TENANT_MIGRATIONS: tenant,
            WEBHOOK_SECRET_KEY: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            WEBHOOK_RETRY_BASE_SECONDS: "1",
            WEBHOOK_ALLOW_LOOPBACK: "true",
            SIGN_IN_RETURN_ORIGINS: "https://app.thestorage.test, https://other.thestorage.test:8443",
            // Connection health written on every request, so tests read it without waiting.
            HEALTH_FLUSH_SECONDS: "0",
            // A moved tenant's old rows are erased at once (no isolate in a test outlives the switch).
            PLACEMENT_ERASE_DELAY_SECONDS: "0",
            ...bindings,
          },
          // A second, tight Rate Limiting binding that the rate-limit test swaps in for
          // SCIM_RATE_LIMIT, so the 429 path runs for real without slowing every other test.
          ratelimits: { TIGHT_RATE_LIMIT: { namespace_id: "1002", simple: { limit: 20, period: 10 } } },
          // The ScimDirectory RPC entrypoint through a real service binding, as TheStorage's
          // Workers bind it (`[[services]] … entrypoint = "ScimDirectory"`): this worker, that export.
          serviceBindings: { DIRECTORY: { name: kCurrentWorker, entrypoint: "ScimDirectory" } },
        },
      }),
    ],
    test: { name, include, setupFiles: ["./test/support/apply-migrations.ts"], testTimeout: 60_000, hookTimeout: 60_000 },
  });

  return {
    test: {
      projects: [
        {
          test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
        },
        workersProject("workers", ["test/integration/**/*.test.ts"]),
        // A permanent webhook failure through the real Queue: two attempts per delivery here (13 in
        // wrangler.toml), so the retries run out in seconds and the delivery ends dead.
        workersProject("dead-letter", ["test/dead-letter/**/*.test.ts"], { WEBHOOK_MAX_ATTEMPTS: "2" }),
        {
          // The admin console in headless Debian Chromium against `wrangler dev` (test/e2e).
          test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], environment: "node", testTimeout: 120_000, hookTimeout: 180_000 },
        },
      ],
    },
  };
});

/** Worker entry: the app, the hourly job, the Durable Object class the runtime instantiates, and the RPC entrypoint for TheStorage's Workers. */
import { createApp } from "./app";
import type { Env } from "./env";
import { RETENTION_CRON, runRetention } from "./jobs/retention";
import { syncTokenCopies } from "./services/token-copies";

export { ScimWriter } from "./durable/scim-writer";
export { ScimDirectory } from "./rpc/directory";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, _ctx) {
    if (controller.cron === RETENTION_CRON) await runRetention(env);
    // Hourly: tenant-DB token copies back in step with CONTROL_DB (a live token without a copy still works meanwhile).
    if (controller.cron === RETENTION_CRON) await syncTokenCopies(env);
  },
} satisfies ExportedHandler<Env>;

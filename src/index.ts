/** Worker entry: the app, the hourly job, the Durable Object class the runtime instantiates, and the RPC entrypoint for TheStorage's Workers. */
import { createApp } from "./app";
import type { Env } from "./env";
import { RETENTION_CRON, runRetention } from "./jobs/retention";

export { ScimWriter } from "./durable/scim-writer";
export { ScimDirectory } from "./rpc/directory";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, _ctx) {
    if (controller.cron === RETENTION_CRON) await runRetention(env);
  },
} satisfies ExportedHandler<Env>;

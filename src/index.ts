/** Worker entry: the app, the hourly job, and the Durable Object class the runtime instantiates. */
import { createApp } from "./app";
import type { Env } from "./env";
import { RETENTION_CRON, runRetention } from "./jobs/retention";

export { ScimWriter } from "./durable/scim-writer";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(controller, env, _ctx) {
    if (controller.cron === RETENTION_CRON) await runRetention(env);
  },
} satisfies ExportedHandler<Env>;

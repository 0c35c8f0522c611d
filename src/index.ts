/** Worker entry: HTTP (the app), the delivery queues' consumer, the crons, the Durable Object classes, and the RPC entrypoint for TheStorage's Workers. */
import { createApp } from "./app";
import type { Env } from "./env";
import { handleQueue } from "./events/queue";
import { handleScheduled } from "./jobs/scheduled";

export { AuthThrottle } from "./durable/auth-throttle";
export { ScimWriter } from "./durable/scim-writer";
export { PlacementMover } from "./placement/mover-object";
export { ScimDirectory } from "./rpc/directory";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: (batch, env, _ctx) => handleQueue(batch, env),
  scheduled: (controller, env, ctx) => handleScheduled(controller, env, ctx),
} satisfies ExportedHandler<Env, unknown>;

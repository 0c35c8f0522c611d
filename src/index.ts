/** Worker entry: the app, the Durable Object class the runtime instantiates, and the RPC entrypoint for TheStorage's Workers. */
import { createApp } from "./app";

export { ScimWriter } from "./durable/scim-writer";
export { ScimDirectory } from "./rpc/directory";

export default createApp();

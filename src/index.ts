/** Worker entry: the app, and the Durable Object class the runtime instantiates. */
import { createApp } from "./app";

export { ScimWriter } from "./durable/scim-writer";

export default createApp();

/** The console's API reference page (/admin/api): the admin API's OpenAPI document, rendered. Mounted after the session middleware. */
import { Hono } from "hono";
import { publicOrigin } from "../lib/hono";
import { adminApiDocument } from "../routes/admin";
import { ApiReferencePage, type ApiDocument } from "./pages/api-reference";
import type { ConsoleEnv } from "./routes";
import { pageCtx } from "./ui";

// Operator only: the session middleware answers 403 to a tenant-scoped (setup-link) session here.
export const apiReferenceRoutes = new Hono<ConsoleEnv>()
  .get("/api", (c) => {
    const doc = adminApiDocument(publicOrigin(c.env, c.req.url)) as unknown as ApiDocument;
    return c.html(<ApiReferencePage ctx={pageCtx(c)} doc={doc} />);
  })
  // The same document /admin/v1/openapi.json serves, to the console session (no bearer token in a browser).
  .get("/api/openapi.json", (c) => c.json(adminApiDocument(publicOrigin(c.env, c.req.url))));

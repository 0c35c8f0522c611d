/** The admin console, mounted at /admin by src/app.ts (after the /admin/v1 JSON API). */
export { consoleRoutes } from "./routes";

/** GET /favicon.ico: a small SVG mark, public and cached for a week, so browsers stop logging 404s. */
import { createRouter } from "../lib/hono";

const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#2450c9"/><path d="M8 10h16v3H17.5v11h-3V13H8z" fill="#fff"/></svg>`;

export const faviconRoutes = createRouter().get("/favicon.ico", (c) =>
  c.body(FAVICON_SVG, 200, { "Content-Type": "image/svg+xml", "Cache-Control": "public, max-age=604800" }),
);

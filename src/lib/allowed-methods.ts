/**
 * Which methods a router serves at a path, from its own route table, so a known path asked with
 * another method answers 405 with `Allow` (RFC 9110 §15.5.6) instead of 404. Middleware (`use`,
 * registered as ALL) does not count; a GET route serves HEAD too, as Hono does.
 */
import type { Hono } from "hono";

type Pattern = { regex: RegExp; method: string };

function patternOf(path: string): RegExp {
  const source = path
    .split("/")
    .map((segment) => (segment === "*" ? ".*" : segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}/?$`);
}

/** A lookup over `router`'s routes (read once, on first use: routers are complete by then). */
export function allowedMethodsOf(router: Pick<Hono<any>, "routes">): (path: string) => string[] {
  let patterns: Pattern[] | undefined;
  return (path) => {
    patterns ??= router.routes.filter((r) => r.method !== "ALL").map((r) => ({ regex: patternOf(r.path), method: r.method }));
    const methods = new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}

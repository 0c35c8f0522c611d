/**
 * `Server-Timing` on every SCIM response, errors included (design.md §4d):
 * `storage;dur=<ms>;desc="rt=<n>"` with n the sequential storage round trips on the request's
 * critical path (see StorageMeter), and `total`. Mounted ahead of the body limit so that a 413
 * carries it too.
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../lib/hono";
import { StorageMeter } from "../lib/storage-meter";

export function serverTimingValue(storage: { roundTrips: number; durationMs: number }, totalMs: number): string {
  return `storage;dur=${storage.durationMs.toFixed(1)};desc="rt=${storage.roundTrips}", total;dur=${totalMs.toFixed(1)}`;
}

export const scimServerTiming = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  const meter = new StorageMeter();
  c.set("storageMeter", meter);
  await next();
  c.res.headers.append("Server-Timing", serverTimingValue(meter.stop(), performance.now() - started));
});

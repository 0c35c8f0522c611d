/**
 * The admin authentication throttle (design.md §4c): after THROTTLE_LIMIT failures from one client IP
 * within THROTTLE_WINDOW_MS, every attempt from that IP (right credentials included) is refused with
 * 429 until the oldest failure leaves the window. Covers the /admin/v1 bearer and Access assertion,
 * console sign-in and setup-link redemption. The count lives in a Durable Object per IP
 * (src/durable/auth-throttle.ts), which counts atomically: a concurrent burst of wrong credentials
 * gets at most THROTTLE_LIMIT 401s. Each attempt costs one call to it: right credentials ask whether
 * the IP is throttled (`throttledFor`), wrong ones are counted in the same call that says whether
 * they still could be (`recordAuthFailure`).
 */
import type { Context } from "hono";
import type { Env } from "../env";

export const THROTTLE_LIMIT = 10;
export const THROTTLE_WINDOW_MS = 10 * 60 * 1000;
/** Requests without CF-Connecting-IP (local runs, tests) share one bucket. */
export const UNKNOWN_IP = "unknown";

export function clientIp(c: Context): string {
  return c.req.header("CF-Connecting-IP")?.trim().slice(0, 64) || UNKNOWN_IP;
}

/**
 * Seconds until the oldest of `failures` (epoch ms, oldest first) leaves the window (1 to the
 * window's length), or null when not throttled. Pure. Clamped above too: a failure stamped by a
 * clock a moment ahead of `now` (workerd's time only moves across I/O) must not promise 601 s.
 */
export function retryAfterSeconds(failures: readonly number[], now: number): number | null {
  if (failures.length < THROTTLE_LIMIT) return null;
  const leavesAt = failures[0]! + THROTTLE_WINDOW_MS;
  return Math.min(THROTTLE_WINDOW_MS / 1000, Math.max(1, Math.ceil((leavesAt - now) / 1000)));
}

function counter(env: Env, ip: string) {
  return env.AUTH_THROTTLE.get(env.AUTH_THROTTLE.idFromName(ip));
}

/** Null when `ip` may try to authenticate, else the Retry-After seconds. */
export async function throttledFor(env: Env, ip: string, now = Date.now()): Promise<number | null> {
  return counter(env, ip).check(now);
}

/**
 * Counts a failed attempt from `ip`. Null: counted, answer 401. A number: the IP was already over
 * budget (nothing counted): answer 429 with that Retry-After instead.
 */
export async function recordAuthFailure(env: Env, ip: string, now = Date.now()): Promise<number | null> {
  return counter(env, ip).fail(now);
}

export function throttleMessage(seconds: number): string {
  return `Too many failed admin sign-in attempts from this network address. Try again in ${seconds} seconds.`;
}

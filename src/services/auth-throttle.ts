/**
 * The admin authentication throttle (design.md §4c): after THROTTLE_LIMIT failures from one client IP
 * within THROTTLE_WINDOW_MS, every attempt from that IP (right credentials included) is refused with
 * 429 until the oldest failure leaves the window. Covers the /admin/v1 bearer and Access assertion,
 * console sign-in and setup-link redemption. Only failures write; each attempt reads one count.
 */
import type { Context } from "hono";
import type { Env } from "../env";
import { insertAuthFailure, recentFailures } from "../repo/auth-failures";
import { controlDb } from "../repo/control";

export const THROTTLE_LIMIT = 10;
export const THROTTLE_WINDOW_MS = 10 * 60 * 1000;
/** Requests without CF-Connecting-IP (local runs, tests) share one bucket. */
export const UNKNOWN_IP = "unknown";

export function clientIp(c: Context): string {
  return c.req.header("CF-Connecting-IP")?.trim().slice(0, 64) || UNKNOWN_IP;
}

/** Seconds until the oldest failure leaves the window (at least 1), or null when not throttled. Pure. */
export function retryAfterSeconds(failures: { count: number; oldest: string | null }, now: number): number | null {
  if (failures.count < THROTTLE_LIMIT || !failures.oldest) return null;
  const leavesAt = Date.parse(failures.oldest) + THROTTLE_WINDOW_MS;
  return Math.max(1, Math.ceil((leavesAt - now) / 1000));
}

/** Null when `ip` may try to authenticate, else the Retry-After seconds. */
export async function throttledFor(env: Env, ip: string, now = Date.now()): Promise<number | null> {
  const failures = await recentFailures(controlDb(env.CONTROL_DB), ip, new Date(now - THROTTLE_WINDOW_MS).toISOString());
  return retryAfterSeconds(failures, now);
}

export async function recordAuthFailure(env: Env, ip: string, now = Date.now()): Promise<void> {
  await insertAuthFailure(controlDb(env.CONTROL_DB), ip, new Date(now).toISOString());
}

export function throttleMessage(seconds: number): string {
  return `Too many failed admin sign-in attempts from this network address. Try again in ${seconds} seconds.`;
}

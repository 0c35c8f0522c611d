/**
 * One instance per client IP: the admin authentication throttle's counter (design.md §4c). A Durable
 * Object runs one call at a time and these methods never await, so "check, then count" is atomic: of
 * any burst of wrong credentials from one IP, at most THROTTLE_LIMIT are counted (and answered 401);
 * the rest are told to wait. D1 could not promise that (a read then an insert races), nor could the
 * Rate Limiting binding (per location, eventually consistent).
 *
 * State is the times of the failures still inside the window, oldest first, at most THROTTLE_LIMIT of
 * them. It is written through to the object's storage (the answer waits for it: a failure the caller
 * was told counted survives an eviction), and an alarm erases it once the window has passed, so no IP
 * is kept longer than ten minutes.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { retryAfterSeconds, THROTTLE_LIMIT, THROTTLE_WINDOW_MS } from "../services/auth-throttle";

const KEY = "failures";

export class AuthThrottle extends DurableObject<Env> {
  #failures: number[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      this.#failures = (await ctx.storage.get<number[]>(KEY)) ?? [];
    });
  }

  #inWindow(now: number): number[] {
    this.#failures = this.#failures.filter((at) => at > now - THROTTLE_WINDOW_MS);
    return this.#failures;
  }

  /** Seconds to wait when `now` is throttled, else null. Reads only. */
  check(now: number): number | null {
    return retryAfterSeconds(this.#inWindow(now), now);
  }

  /**
   * A failed attempt. Null: it was counted (the caller answers 401). A number: the budget was already
   * spent, nothing is counted, and the caller answers 429 with that Retry-After.
   */
  fail(now: number): number | null {
    const failures = this.#inWindow(now);
    const wait = retryAfterSeconds(failures, now);
    if (wait !== null) return wait;
    failures.push(now);
    void this.ctx.storage.put(KEY, failures);
    void this.ctx.storage.setAlarm(failures[0]! + THROTTLE_WINDOW_MS);
    return null;
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    const failures = this.#inWindow(now);
    if (failures.length === 0) await this.ctx.storage.deleteAll();
    else await this.ctx.storage.setAlarm(failures[0]! + THROTTLE_WINDOW_MS);
  }
}

import { describe, expect, it } from "vitest";
import { retryAfterSeconds, THROTTLE_LIMIT, THROTTLE_WINDOW_MS } from "../../src/services/auth-throttle";

describe("admin sign-in throttle: Retry-After", () => {
  const now = Date.parse("2026-12-05T08:00:00.000Z");
  const failures = (oldest: number) => Array.from({ length: THROTTLE_LIMIT }, (_, i) => oldest + i);

  it("is null under the limit", () => {
    expect(retryAfterSeconds(failures(now).slice(1), now)).toBeNull();
  });

  it("counts down to when the oldest failure leaves the window, at least 1", () => {
    expect(retryAfterSeconds(failures(now - 60_000), now)).toBe(THROTTLE_WINDOW_MS / 1000 - 60);
    expect(retryAfterSeconds(failures(now - THROTTLE_WINDOW_MS + 10), now)).toBe(1);
  });

  it("never promises more than the window, even when a failure was stamped a moment after `now`", () => {
    expect(retryAfterSeconds(failures(now + 400), now)).toBe(THROTTLE_WINDOW_MS / 1000);
  });
});

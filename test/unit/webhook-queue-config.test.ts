import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_DELIVERY_ATTEMPTS, MAX_RETRY_DELAY_SECONDS, maxDeliveryAttempts, retryDelaySeconds } from "../../src/events/deliver";
import type { Env } from "../../src/env";

describe("delivery queue settings", () => {
  it("takes the last attempt from WEBHOOK_MAX_ATTEMPTS (13 in wrangler.toml and by default); a failed invocation still dead-letters into the DLQ its consumer reads", () => {
    const toml = readFileSync(join(import.meta.dirname, "..", "..", "wrangler.toml"), "utf8");
    expect(Number(/^WEBHOOK_MAX_ATTEMPTS = "(\d+)"/m.exec(toml)![1])).toBe(MAX_DELIVERY_ATTEMPTS);
    expect([undefined, "", "0", "-1", "2.5", "many"].map((v) => maxDeliveryAttempts({ WEBHOOK_MAX_ATTEMPTS: v }))).toEqual(Array(6).fill(MAX_DELIVERY_ATTEMPTS));
    expect(maxDeliveryAttempts({ WEBHOOK_MAX_ATTEMPTS: "2" })).toBe(2);
    const consumer = /\[\[queues\.consumers\]\]\s*\nqueue = "thestorage-scim-events"\n([\s\S]*?)(?:\n\n|$)/.exec(toml)![1]!;
    expect(consumer).toContain('dead_letter_queue = "thestorage-scim-events-dlq"');
    expect(toml).toMatch(/\[\[queues\.consumers\]\]\s*\nqueue = "thestorage-scim-events-dlq"/);
  });

  it("backs off exponentially from WEBHOOK_RETRY_BASE_SECONDS, capped at 12 hours", () => {
    const env = (base?: string) => ({ WEBHOOK_RETRY_BASE_SECONDS: base }) as Env;
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(env("5"), n))).toEqual([5, 10, 20, 40]);
    expect(retryDelaySeconds(env("60"), 12)).toBe(MAX_RETRY_DELAY_SECONDS);
    expect(retryDelaySeconds(env(undefined), 1)).toBe(60);
    expect(retryDelaySeconds(env("nonsense"), 2)).toBe(120);
  });

  it("waits at most WEBHOOK_RETRY_MAX_SECONDS between two attempts, and never more than the Queue's 12 hours", () => {
    const env = (cap?: string) => ({ WEBHOOK_RETRY_BASE_SECONDS: "5", WEBHOOK_RETRY_MAX_SECONDS: cap }) as Env;
    expect([1, 2, 3, 4, 5, 12].map((n) => retryDelaySeconds(env("20"), n))).toEqual([5, 10, 20, 20, 20, 20]);
    expect(retryDelaySeconds(env("999999"), 20)).toBe(MAX_RETRY_DELAY_SECONDS);
    expect([undefined, "", "0", "-5", "soon"].map((cap) => retryDelaySeconds(env(cap), 20))).toEqual(Array(5).fill(MAX_RETRY_DELAY_SECONDS));
    expect(retryDelaySeconds({ WEBHOOK_RETRY_BASE_SECONDS: "60", WEBHOOK_RETRY_MAX_SECONDS: "30" } as Env, 1)).toBe(30);
  });
});

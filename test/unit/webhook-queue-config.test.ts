import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_DELIVERY_ATTEMPTS, MAX_RETRY_DELAY_SECONDS, retryDelaySeconds } from "../../src/events/queue";
import type { Env } from "../../src/env";

describe("delivery queue settings", () => {
  it("knows the last attempt from wrangler.toml's max_retries, and dead-letters into the DLQ its consumer reads", () => {
    const toml = readFileSync(join(import.meta.dirname, "..", "..", "wrangler.toml"), "utf8");
    const consumer = /\[\[queues\.consumers\]\]\s*\nqueue = "thestorage-scim-events"\n([\s\S]*?)(?:\n\n|$)/.exec(toml)![1]!;
    expect(Number(/max_retries = (\d+)/.exec(consumer)![1])).toBe(MAX_DELIVERY_ATTEMPTS - 1);
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
});

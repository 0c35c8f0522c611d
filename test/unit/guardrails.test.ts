// Guardrails' pure core (src/guardrails/core.ts): the hold's limit and words, the health states,
// what counts as a failed push, and the per-isolate coalescing of health writes.
import { describe, expect, it } from "vitest";
import { firstRequestText, guardSettingsInput, HealthAccumulator, healthState, heldBanner, holdLimit, isFailureStatus } from "../../src/guardrails/core";

const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 17, 3, s)).toISOString();

describe("deactivation hold core", () => {
  it("allows the larger of the threshold and the percentage of active users", () => {
    expect(holdLimit({ threshold: 50, percent: 10 }, 100)).toBe(50);
    expect(holdLimit({ threshold: 50, percent: 10 }, 2140)).toBe(214);
    expect(holdLimit({ threshold: 5, percent: 10 }, 59)).toBe(5);
  });

  it("says what is held, from whom and over how long", () => {
    expect(heldBanner({ users: 214, firstAt: at(0), lastAt: new Date(Date.parse(at(0)) + 3 * 60_000).toISOString() }, "okta")).toBe("Held: 214 deactivations from Okta in 3 minutes");
    expect(heldBanner({ users: 1, firstAt: at(0), lastAt: at(0) }, "entra")).toBe("Held: 1 deactivation from Entra ID in under a minute");
    expect(heldBanner({ users: 3, firstAt: null, lastAt: null }, null)).toBe("Held: 3 deactivations from the identity provider");
  });

  it("validates settings: whole numbers in range, no unknown keys, defaults from §4g", () => {
    expect(guardSettingsInput.parse({})).toEqual({ enabled: true, threshold: 50, percent: 10, windowMinutes: 10 });
    for (const bad of [{ threshold: 0 }, { percent: 0 }, { percent: 101 }, { windowMinutes: 1441 }, { threshold: 1.5 }, { other: 1 }]) {
      expect(guardSettingsInput.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe("connection health core", () => {
  it("counts server errors, invalid requests, too-large bodies and rate limits as failed pushes, not 404/409/412", () => {
    for (const s of [500, 503, 400, 413, 429]) expect(isFailureStatus(s), String(s)).toBe(true);
    for (const s of [200, 201, 204, 304, 404, 409, 412]) expect(isFailureStatus(s), String(s)).toBe(false);
  });

  it("derives the state from the facts", () => {
    const base = { firstRequestAt: null, lastSuccessAt: null, refusedAt: null, requests1h: 0, failures1h: 0 };
    expect(healthState(base)).toBe("never_connected");
    expect(healthState({ ...base, firstRequestAt: at(0), lastSuccessAt: at(0), requests1h: 1 })).toBe("healthy");
    expect(healthState({ ...base, firstRequestAt: at(0), requests1h: 1, failures1h: 1 })).toBe("failing"); // never succeeded
    expect(healthState({ ...base, firstRequestAt: at(0), lastSuccessAt: at(0), requests1h: 12, failures1h: 3 })).toBe("failing");
    expect(healthState({ ...base, firstRequestAt: at(0), lastSuccessAt: at(0), requests1h: 13, failures1h: 3 })).toBe("healthy");
    expect(healthState({ ...base, firstRequestAt: at(0), lastSuccessAt: at(0), requests1h: 4, failures1h: 2 })).toBe("healthy"); // too few to call
    expect(healthState({ ...base, firstRequestAt: at(0), lastSuccessAt: at(1), refusedAt: at(2), requests1h: 1 })).toBe("rejected_credentials");
    expect(healthState({ ...base, firstRequestAt: at(0), lastSuccessAt: at(3), refusedAt: at(2), requests1h: 1 })).toBe("healthy");
    expect(healthState({ ...base, refusedAt: at(2) })).toBe("rejected_credentials");
  });

  it("words the first request as the setup page shows it", () => {
    expect(firstRequestText({ at: at(12), request: "GET /Users", provider: "okta" })).toBe("Received GET /Users from Okta at 17:03:12 UTC");
  });
});

describe("HealthAccumulator", () => {
  const sample = (s: number, status = 200) => ({ at: at(s), request: "GET /Users", provider: "okta", status });

  it("writes the first sample and every change of outcome at once, coalesces the rest and schedules them once", () => {
    const acc = new HealthAccumulator();
    const first = acc.add("t", sample(0), 0, 10_000);
    expect(first.flush).toMatchObject({ requests: 1, failures: 0, first: { request: "GET /Users", status: 200 }, lastSuccessAt: at(0) });
    const second = acc.add("t", sample(1), 1000, 10_000);
    expect(second).toEqual({ flush: null, scheduleAfterMs: 9000 });
    expect(acc.add("t", sample(2), 2000, 10_000)).toEqual({ flush: null, scheduleAfterMs: null }); // already scheduled
    const failed = acc.add("t", sample(3, 500), 3000, 10_000); // the outcome turned: written at once, with what waited
    expect(failed.flush).toMatchObject({ requests: 3, failures: 1, first: null, lastSuccessAt: at(2), lastFailureAt: at(3), lastFailureStatus: 500 });
    expect(acc.take("t", 4000)).toBeNull();
    expect(acc.add("t", sample(5, 500), 5000, 10_000).flush).toBeNull();
    expect(acc.take("t", 13_000)).toMatchObject({ requests: 1, failures: 1 });
  });

  it("writes every sample with an interval of 0, and keeps tenants apart", () => {
    const acc = new HealthAccumulator();
    expect(acc.add("a", sample(0), 0, 0).flush?.requests).toBe(1);
    expect(acc.add("a", sample(0), 0, 0).flush?.requests).toBe(1);
    expect(acc.add("b", sample(0), 0, 10_000).flush?.first).not.toBeNull();
  });
});

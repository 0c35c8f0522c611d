/**
 * Guardrails' pure core (design.md §4g): the deactivation hold's settings and words, and the
 * connection-health state machine. No `env`, no I/O: unit-tested in test/unit/guardrails.test.ts.
 */
import { z } from "zod";

const PROVIDER_LABELS: Record<string, string> = {
  okta: "Okta",
  entra: "Entra ID",
  onelogin: "OneLogin",
  jumpcloud: "JumpCloud",
  google: "Google Workspace",
  generic: "the identity provider",
};

export function providerName(provider: string | null | undefined): string {
  return (provider && PROVIDER_LABELS[provider]) || provider || "the identity provider";
}

/** `PUT /admin/v1/tenants/{slug}/guard`. */
export const guardSettingsInput = z
  .object({
    enabled: z.boolean().default(true).describe("Off: deactivations are never held (one already held stays held until released)."),
    threshold: z.number().int().min(1).max(1_000_000).default(50).describe("Users: the guard trips above the larger of this and `percent`."),
    percent: z.number().int().min(1).max(100).default(10).describe("% of the active users before the wave."),
    windowMinutes: z.number().int().min(1).max(1440).default(10).describe("The window deactivations and deletions are counted over (at most a day)."),
  })
  .strict();
export type GuardSettingsInput = z.infer<typeof guardSettingsInput>;

/** How many deactivations a window lets through before the guard trips: the larger of the two. */
export function holdLimit(settings: { threshold: number; percent: number }, activeBeforeWave: number): number {
  return Math.max(settings.threshold, Math.floor((activeBeforeWave * settings.percent) / 100));
}

export function trippedDetail(provider: string): string {
  return (
    `Deactivation hold tripped: more deactivations and deletions from ${providerName(provider)} than the guard allows in its window. ` +
    "Further ones are applied to the directory and answered as usual, but TheStorage's app keeps those users active until an admin releases them (Settings › User Provisioning)."
  );
}

function duration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return "under a minute";
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.round(minutes / 60);
  return `${hours} hours`;
}

/** The banner: "Held: 214 deactivations from Okta in 3 minutes". */
export function heldBanner(held: { users: number; firstAt: string | null; lastAt: string | null }, provider: string | null | undefined): string {
  const span = held.firstAt && held.lastAt ? ` in ${duration(Date.parse(held.lastAt) - Date.parse(held.firstAt))}` : "";
  return `Held: ${held.users} deactivation${held.users === 1 ? "" : "s"} from ${providerName(provider)}${span}`;
}

// ── Connection health ────────────────────────────────────────────────────────────────────────

export const HEALTH_STATES = ["never_connected", "healthy", "failing", "rejected_credentials"] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/**
 * A SCIM answer that means the IdP's push did not go through: a server error, an invalid request
 * (a mapping the IdP keeps sending wrong), a body too large, or a rate limit. 404, 409 and 412 are
 * ordinary protocol answers (a lookup that found nothing, a user that already exists, a stale ETag).
 */
export function isFailureStatus(status: number): boolean {
  return status >= 500 || status === 400 || status === 413 || status === 429;
}

/** The error rate above which (with at least FAILING_MIN_FAILURES failures in the hour) a connection is failing. */
export const FAILING_RATE = 0.25;
export const FAILING_MIN_FAILURES = 3;

export interface HealthFacts {
  firstRequestAt: string | null;
  lastSuccessAt: string | null;
  refusedAt: string | null;
  requests1h: number;
  failures1h: number;
}

export function errorRate(requests: number, failures: number): number | null {
  return requests > 0 ? Math.round((failures / requests) * 1000) / 1000 : null;
}

/**
 * The state (design.md §4g): `rejected_credentials` while a revoked token was presented after the
 * last success; `failing` when the last hour's error rate is at least 25 % with 3 failures or more,
 * or when requests came but none ever succeeded; `never_connected` before any request; else `healthy`.
 */
export function healthState(facts: HealthFacts): HealthState {
  if (facts.refusedAt && (!facts.lastSuccessAt || facts.refusedAt > facts.lastSuccessAt)) return "rejected_credentials";
  if (!facts.firstRequestAt) return "never_connected";
  if (!facts.lastSuccessAt) return "failing";
  if (facts.failures1h >= FAILING_MIN_FAILURES && facts.failures1h / Math.max(1, facts.requests1h) >= FAILING_RATE) return "failing";
  return "healthy";
}

/** "Received GET /Users from Okta at 17:03:12" (UTC). */
export function firstRequestText(first: { at: string; request: string; provider: string | null }): string {
  return `Received ${first.request} from ${providerName(first.provider)} at ${first.at.slice(11, 19)} UTC`;
}

/** What one isolate has seen of a tenant's requests and not written yet. */
export interface HealthFlush {
  requests: number;
  failures: number;
  /** The first request this isolate saw (the database keeps only the very first of all). */
  first: { at: string; request: string; provider: string; status: number } | null;
  lastRequestAt: string;
  lastRequest: string;
  lastSuccessAt: string | null;
  lastFailureAt: string | null;
  lastFailureStatus: number | null;
}

export interface HealthSample {
  at: string;
  request: string;
  provider: string;
  status: number;
}

/**
 * Coalesces one isolate's request samples per tenant, so a busy connection writes its health once
 * per interval rather than once per request: a sample is written at once when it is the first this
 * isolate saw for the tenant or its outcome (success / failure) differs from the last one written;
 * otherwise it waits, and `add` says to write the pending ones after `intervalMs` (the caller does,
 * off the response path). Nothing is lost but what an isolate that dies within the interval held.
 */
export class HealthAccumulator {
  #pending = new Map<string, HealthFlush>();
  #last = new Map<string, { at: number; failed: boolean }>();
  #scheduled = new Set<string>();

  constructor(private readonly max = 10_000) {}

  add(tenantId: string, sample: HealthSample, now: number, intervalMs: number): { flush: HealthFlush | null; scheduleAfterMs: number | null } {
    const failed = isFailureStatus(sample.status);
    const pending = this.#pending.get(tenantId);
    const merged: HealthFlush = {
      requests: (pending?.requests ?? 0) + 1,
      failures: (pending?.failures ?? 0) + (failed ? 1 : 0),
      first: pending?.first ?? (this.#last.has(tenantId) ? null : { at: sample.at, request: sample.request, provider: sample.provider, status: sample.status }),
      lastRequestAt: sample.at,
      lastRequest: sample.request,
      lastSuccessAt: failed ? (pending?.lastSuccessAt ?? null) : sample.at,
      lastFailureAt: failed ? sample.at : (pending?.lastFailureAt ?? null),
      lastFailureStatus: failed ? sample.status : (pending?.lastFailureStatus ?? null),
    };
    const last = this.#last.get(tenantId);
    if (!last || last.failed !== failed || now - last.at >= intervalMs) {
      this.#pending.delete(tenantId);
      if (this.#last.size >= this.max) this.#last.clear();
      this.#last.set(tenantId, { at: now, failed });
      return { flush: merged, scheduleAfterMs: null };
    }
    this.#pending.set(tenantId, merged);
    if (this.#scheduled.has(tenantId)) return { flush: null, scheduleAfterMs: null };
    this.#scheduled.add(tenantId);
    return { flush: null, scheduleAfterMs: Math.max(0, intervalMs - (now - last.at)) };
  }

  /** The pending samples of a tenant (for the scheduled write), and forgets them. */
  take(tenantId: string, now: number): HealthFlush | null {
    this.#scheduled.delete(tenantId);
    const pending = this.#pending.get(tenantId) ?? null;
    this.#pending.delete(tenantId);
    if (pending) this.#last.set(tenantId, { at: now, failed: pending.lastFailureAt === pending.lastRequestAt });
    return pending;
  }
}

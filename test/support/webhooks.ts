/**
 * Test support for webhooks: a recording receiver behind `globalThis.fetch` (the dispatch run after
 * a write and the queue consumer run in the tests' isolate, so their outbound POSTs reach this spy),
 * and helpers that put change events in the outbox the way a committed write does.
 */
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import { dispatchPending } from "../../src/events/dispatch";
import type { TenantRef } from "../../src/tenancy/tenant-db";
import { connectedTenant } from "./connection";
import { admin, type ScimTenant } from "./harness";

export interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
  json: any;
}

/** Receivers by URL: each answers from its script of statuses (the last repeats), recording every request. */
export class Receivers {
  readonly received: Received[] = [];
  private readonly scripts = new Map<string, number[]>();
  private readonly delays = new Map<string, number>();
  private readonly holds = new Map<string, { nth: number; seen: number; gate: Promise<void>; held: string[] }>();
  private inFlight = 0;
  /** The most requests this spy has held open at once. */
  maxInFlight = 0;
  private readonly spy;

  constructor() {
    const realFetch = globalThis.fetch;
    this.spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const script = this.scripts.get(request.url);
      if (!script) return realFetch(input, init);
      const body = await request.text();
      const headers = Object.fromEntries(request.headers);
      this.received.push({ url: request.url, headers, body, json: JSON.parse(body) });
      const hold = this.holds.get(request.url);
      if (hold && ++hold.seen === hold.nth) {
        hold.held.push(headers["webhook-id"]!);
        await hold.gate; // no answer, and no timeout either (the spy ignores the abort signal)
      }
      const status = script.length > 1 ? script.shift()! : script[0]!;
      this.inFlight += 1;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      await new Promise((resolve) => setTimeout(resolve, this.delays.get(request.url) ?? 0));
      this.inFlight -= 1;
      return new Response(status >= 400 ? `receiver says ${status}` : "ok", { status });
    });
  }

  /** A receiver URL answering `statuses` in turn (default: always 200). */
  add(statuses: number[] = [200], options: { delayMs?: number } = {}): string {
    const url = `http://127.0.0.1:9/hook/${crypto.randomUUID()}`;
    this.scripts.set(url, [...statuses]);
    if (options.delayMs) this.delays.set(url, options.delayMs);
    return url;
  }

  at(url: string): Received[] {
    return this.received.filter((r) => r.url === url);
  }

  /** Leaves the `nth` request to `url` unanswered until `release()`: whoever sent it is stuck in that I/O. */
  hold(url: string, nth: number): { held: string[]; release: () => void } {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const entry = { nth, seen: 0, gate, held: [] as string[] };
    this.holds.set(url, entry);
    return { held: entry.held, release: () => release() };
  }

  restore() {
    this.spy.mockRestore();
  }
}

export async function tenantRef(slug: string): Promise<TenantRef> {
  const row = await env.CONTROL_DB.prepare("SELECT id, slug, database FROM tenants WHERE slug = ?").bind(slug).first<TenantRef>();
  if (!row) throw new Error(`no tenant ${slug}`);
  return row;
}

export function eventId(): string {
  return `evt_${crypto.randomUUID().replace(/-/g, "")}`;
}

/** Writes a change_events row as a committed change would (no dispatch); returns its id. */
export async function insertChange(tenant: TenantRef, type: string, data: Record<string, unknown>, options: { occurredAt?: string } = {}): Promise<string> {
  const id = eventId();
  const db = (env as unknown as Record<string, D1Database>)[tenant.database]!;
  await db
    .prepare("INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data) VALUES (?, ?, ?, ?, ?, ?, ?)")
    .bind(id, tenant.id, type, options.occurredAt ?? new Date().toISOString(), (data.user as any)?.id ?? null, (data.version as number) ?? 1, JSON.stringify({ tenant: tenant.slug, ...data }))
    .run();
  return id;
}

/** A committed change handed to the queue, as the after-write middleware does. */
export async function commitChange(tenant: TenantRef, type: string, data: Record<string, unknown>): Promise<string> {
  const id = await insertChange(tenant, type, data);
  await dispatchPending(env, tenant);
  return id;
}

export async function addWebhook(slug: string, url: string, events?: string[]): Promise<{ id: string; secret: string }> {
  const created = await admin("POST", `/tenants/${slug}/webhooks`, events ? { url, events } : { url });
  if (created.status !== 201) throw new Error(`webhook create failed: ${created.status} ${created.text}`);
  return created.body;
}

export async function deliveries(slug: string, id: string): Promise<any[]> {
  const listed = await admin("GET", `/tenants/${slug}/webhooks/${id}/deliveries?limit=50`);
  if (listed.status !== 200) throw new Error(`deliveries failed: ${listed.status} ${listed.text}`);
  return listed.body.deliveries;
}

export const WAIT = { timeout: 20_000, interval: 100 };

/** Undispatched change events of a tenant. */
export async function undispatched(tenant: TenantRef): Promise<number> {
  const db = (env as unknown as Record<string, D1Database>)[tenant.database]!;
  const row = await db.prepare("SELECT count(*) AS n FROM change_events WHERE tenant_id = ? AND dispatched_at IS NULL").bind(tenant.id).first<{ n: number }>();
  return row!.n;
}

/**
 * A SCIM-enabled tenant whose own setup events (connection.enabled, and the first connection's
 * connection.health_changed) have been handed to the queue already, before any webhook exists, so a
 * test's receivers see only what the test does.
 */
export async function quietTenant(options: { database?: string } = {}): Promise<ScimTenant & { ref: TenantRef }> {
  const t = await connectedTenant(options);
  const ref = await tenantRef(t.slug);
  await vi.waitFor(async () => expect(await undispatched(ref)).toBe(0), WAIT);
  return { ...t, ref };
}

/**
 * The deactivation hold's admin side (design.md §4g): settings, the held list and Release, shared by
 * the admin API (src/guardrails/routes.ts) and the console. Admin actions are audited.
 */
import { z } from "zod";
import type { Env } from "../env";
import type { AdminActor } from "../lib/hono";
import { heldSummary, listHeld, readGuard, releaseHeldChunk, writeGuardSettings, type GuardState, type HeldSummary } from "../repo/guard";
import { recordAdminAction } from "../services/audit";
import { tenantDb, type TenantRef } from "../tenancy/tenant-db";
import { heldBanner, type GuardSettingsInput } from "./core";

type Caller = { actor: AdminActor; ip?: string | null };

export interface GuardView {
  enabled: boolean;
  threshold: number;
  percent: number;
  windowMinutes: number;
  tripped: boolean;
  trippedAt: string | null;
  activeUsers: number;
  held: number;
}

function viewOf(state: GuardState, held: HeldSummary): GuardView {
  return {
    enabled: state.enabled,
    threshold: state.threshold,
    percent: state.percent,
    windowMinutes: state.windowMinutes,
    tripped: state.trippedAt !== null,
    trippedAt: state.trippedAt,
    activeUsers: state.activeUsers,
    held: held.users,
  };
}

export async function getGuard(env: Env, tenant: TenantRef): Promise<GuardView> {
  const db = tenantDb(env, tenant);
  const [state, held] = await Promise.all([readGuard(db, tenant.id), heldSummary(db, tenant.id)]);
  return viewOf(state, held);
}

export async function putGuard(env: Env, tenant: TenantRef, input: GuardSettingsInput, by: Caller): Promise<GuardView> {
  const db = tenantDb(env, tenant);
  await writeGuardSettings(db, tenant.id, input);
  const view = await getGuard(env, tenant);
  const words = input.enabled
    ? `deactivation hold on: trips above the larger of ${input.threshold} users and ${input.percent}% of active users within ${input.windowMinutes} minutes`
    : "deactivation hold off";
  await recordAdminAction(env, { action: "guard.update", actor: by.actor, tenant, status: 200, detail: words, ip: by.ip ?? null });
  return view;
}

export const heldQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.coerce.number().int().min(0).default(0).describe("`nextCursor` of the previous page"),
});

export interface HeldUser {
  eventId: string;
  type: string;
  occurredAt: string;
  user: { id: string; userName: string | null; displayName: string | null };
}

export interface HeldView {
  tripped: boolean;
  trippedAt: string | null;
  /** "Held: 214 deactivations from Okta in 3 minutes" (null when nothing is held). */
  summary: string | null;
  count: number;
  firstAt: string | null;
  lastAt: string | null;
  held: HeldUser[];
  nextCursor: number | null;
}

export async function getHeld(env: Env, tenant: TenantRef, provider: string | null, query: z.infer<typeof heldQuery>): Promise<HeldView> {
  const db = tenantDb(env, tenant);
  const [state, summary, rows] = await Promise.all([readGuard(db, tenant.id), heldSummary(db, tenant.id), listHeld(db, tenant.id, query.limit + 1, query.after)]);
  const page = rows.slice(0, query.limit);
  return {
    tripped: state.trippedAt !== null,
    trippedAt: state.trippedAt,
    summary: summary.users ? heldBanner(summary, provider) : null,
    count: summary.users,
    firstAt: summary.firstAt,
    lastAt: summary.lastAt,
    held: page.map((row) => {
      const user = (row.data.user ?? {}) as { id?: string; userName?: string; displayName?: string };
      return { eventId: row.id, type: row.type, occurredAt: row.occurredAt, user: { id: user.id ?? row.resourceId ?? "", userName: user.userName ?? null, displayName: user.displayName ?? null } };
    }),
    nextCursor: rows.length > query.limit ? page.at(-1)!.seq : null,
  };
}

/** Held events moved per batch on release: a bounded INSERT … SELECT and DELETE each. */
export const RELEASE_CHUNK = 500;
/** Batches one release request runs before answering "call again" (202). */
const RELEASE_CHUNKS_PER_REQUEST = 40;

/**
 * Release: every held event enters the change feed, after everything already in it, in original
 * order with original ids and `occurredAt`; the guard un-trips once none is left. Audited.
 */
export async function releaseHeld(env: Env, tenant: TenantRef, by: Caller): Promise<{ released: number; remaining: number }> {
  const db = tenantDb(env, tenant);
  const before = await heldSummary(db, tenant.id);
  let released = 0;
  let remaining = before.events;
  for (let i = 0; i < RELEASE_CHUNKS_PER_REQUEST; i++) {
    const chunk = await releaseHeldChunk(db, tenant.id, RELEASE_CHUNK, new Date().toISOString());
    released += chunk.moved;
    remaining = chunk.remaining;
    if (remaining === 0 || chunk.moved === 0) break;
  }
  await recordAdminAction(env, {
    action: "guard.release",
    actor: by.actor,
    tenant,
    status: remaining ? 202 : 200,
    detail: `released ${before.users} held deactivation${before.users === 1 ? "" : "s"} (${released} change event${released === 1 ? "" : "s"}) into the change feed${remaining ? `; ${remaining} still held: release again` : ""}`,
    ip: by.ip ?? null,
  });
  return { released, remaining };
}

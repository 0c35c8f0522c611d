/** Failed admin authentications per client IP (CONTROL_DB `auth_failures`), for the throttle. */
import { and, count, eq, gt, min } from "drizzle-orm";
import { authFailures } from "../db/control/schema";
import type { ControlDb } from "./control";

/** Failures from `ip` after `since` (ISO): how many, and when the oldest was. One indexed read (ip, at). */
export async function recentFailures(db: ControlDb, ip: string, since: string): Promise<{ count: number; oldest: string | null }> {
  const rows = await db
    .select({ count: count(), oldest: min(authFailures.at) })
    .from(authFailures)
    .where(and(eq(authFailures.ip, ip), gt(authFailures.at, since)));
  return { count: rows[0]?.count ?? 0, oldest: rows[0]?.oldest ?? null };
}

export async function insertAuthFailure(db: ControlDb, ip: string, at: string): Promise<void> {
  await db.insert(authFailures).values({ ip, at });
}


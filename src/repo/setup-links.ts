/** Setup links in CONTROL_DB: single-use, expiring invitations for a customer's IT admin. */
import { and, eq, gt, isNull } from "drizzle-orm";
import { setupLinks, tenants, type SetupLinkRow, type TenantRow } from "../db/control/schema";
import type { ControlDb } from "./control";

export async function insertSetupLink(db: ControlDb, link: SetupLinkRow): Promise<void> {
  await db.insert(setupLinks).values(link);
}

/**
 * Marks the link with this digest used, if it is unused and unexpired at `now`: one guarded UPDATE,
 * so of two racing redemptions exactly one gets the row back.
 */
export async function claimSetupLink(db: ControlDb, digest: string, now: string): Promise<SetupLinkRow | null> {
  const rows = await db
    .update(setupLinks)
    .set({ usedAt: now })
    .where(and(eq(setupLinks.digest, digest), isNull(setupLinks.usedAt), gt(setupLinks.expiresAt, now)))
    .returning();
  return rows[0] ?? null;
}

export async function findSetupLink(db: ControlDb, digest: string): Promise<SetupLinkRow | null> {
  const rows = await db.select().from(setupLinks).where(eq(setupLinks.digest, digest)).limit(1);
  return rows[0] ?? null;
}

/** The tenant with this id, unless it is being deleted (then it is gone, as for every lookup). */
export async function getTenantById(db: ControlDb, id: string): Promise<TenantRow | null> {
  const rows = await db
    .select()
    .from(tenants)
    .where(and(eq(tenants.id, id), isNull(tenants.deletingAt)))
    .limit(1);
  return rows[0] ?? null;
}

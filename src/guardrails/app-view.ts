/**
 * The directory as TheStorage's app sees it while deactivations are held (design.md §4g): a user
 * whose deactivation or deletion is held is still active for the RPC and for sign-in. One indexed
 * read of `held_changes` per call (by user id), none when nothing is held.
 */
import type { UserPayload } from "../events/payload";
import { heldDeletedUser, heldUserIds, isDeactivationHeld as heldInDb } from "../repo/guard";
import type { TenantDb } from "../tenancy/tenant-db";

/**
 * For sign-in (src/sso, issue 19) and the RPC: true when the directory has this user deactivated
 * (or deleted) but the deactivation hold keeps it from TheStorage's app, which must then go on
 * treating the user as active until an admin releases the hold.
 */
export function isDeactivationHeld(db: TenantDb, tenantId: string, userId: string): Promise<boolean> {
  return heldInDb(db, tenantId, userId);
}

/** `users` as the app should see them: held ones active. */
export async function asAppSees(db: TenantDb, tenantId: string, users: UserPayload[]): Promise<UserPayload[]> {
  const inactive = users.filter((u) => !u.active).map((u) => u.id);
  if (inactive.length === 0) return users;
  const held = await heldUserIds(db, tenantId, inactive);
  return held.size ? users.map((u) => (held.has(u.id) ? { ...u, active: true } : u)) : users;
}

/** A user the directory no longer has, whose deletion is held: the app still sees it, active. */
export async function heldDeletion(db: TenantDb, tenantId: string, match: { id: string } | { userNameNorm: string }): Promise<UserPayload | null> {
  const user = await heldDeletedUser(db, tenantId, match);
  return user ? ({ ...(user as unknown as UserPayload), active: true } as UserPayload) : null;
}

/**
 * ScimDirectory: the provisioned directory for TheStorage's own Workers, over a service binding
 * (`[[services]] binding = "DIRECTORY", service = "thestorage-scim", entrypoint = "ScimDirectory"`).
 *
 * Every method takes the tenant's slug first and reads only that tenant's rows (tenants share
 * databases; every query is scoped by tenant_id). Answers are plain objects: users in the same
 * shape as a change event's `user` (src/events/payload.ts). An unknown tenant or bad argument
 * throws an Error whose message says what was wrong (RPC carries an error's name and message).
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import type { Env } from "../env";
import { groupPayload, userPayload, type GroupPayload, type UserPayload } from "../events/payload";
import { base64url, base64ToBytes } from "../lib/crypto";
import { parseInput } from "../lib/validate";
import { rolesOf } from "../roles/config";
import { getUser } from "../repo/users";
import { activeByNorm, groupsOfUser, userByNorm, usersAfter } from "../repo/directory";
import { changesQuery, readChanges, type ChangesPage } from "../services/changes";
import { requireTenantRef } from "../services/tenants";
import { foldCase } from "../scim/text";
import { redeemSignIn, type Redemption } from "../sso/service";
import { ApiError } from "../scim/errors";
import { tenantDb, type TenantRef } from "../tenancy/tenant-db";
import { asAppSees, heldDeletion, isDeactivationHeld } from "../guardrails/app-view";

export const DEFAULT_USERS_LIMIT = 100;
export const MAX_USERS_LIMIT = 500;

export interface UsersPage {
  users: UserPayload[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** listUsers' cursor: base64url of `[createdAt, id]` of the last user of the page. */
function encodeUserCursor(row: { createdAt: string; id: string }): string {
  return base64url(new TextEncoder().encode(JSON.stringify([row.createdAt, row.id])));
}

function decodeUserCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(new TextDecoder().decode(base64ToBytes(cursor))) as unknown[];
    if (typeof createdAt === "string" && typeof id === "string") return { createdAt, id };
  } catch {
    // fall through to the error below
  }
  throw new Error("listUsers: `cursor` is not a cursor of this directory; pass the nextCursor of a previous page, or omit it to start.");
}

function requireString(method: string, name: string, value: unknown): string {
  if (typeof value !== "string" || value === "") throw new Error(`${method}: \`${name}\` must be a non-empty string.`);
  return value;
}

export class ScimDirectory extends WorkerEntrypoint<Env> {
  private async tenant(method: string, slug: unknown): Promise<TenantRef> {
    return requireTenantRef(this.env.CONTROL_DB, requireString(method, "tenant", slug));
  }

  /** A user by SCIM id, or null. */
  async getUser(tenant: string, id: string): Promise<UserPayload | null> {
    const ref = await this.tenant("getUser", tenant);
    const db = tenantDb(this.env, ref);
    const row = await getUser(db, ref.id, requireString("getUser", "id", id));
    // A held deactivation or deletion (design.md §4g): the app keeps seeing the user active.
    if (!row) return heldDeletion(db, ref.id, { id });
    return (await asAppSees(db, ref.id, [userPayload(row, rolesOf(this.env).defaultRole)]))[0]!;
  }

  /** A user by userName, matched case-insensitively as SCIM does; null when there is none. */
  async findUserByUserName(tenant: string, userName: string): Promise<UserPayload | null> {
    const ref = await this.tenant("findUserByUserName", tenant);
    const db = tenantDb(this.env, ref);
    const norm = foldCase(requireString("findUserByUserName", "userName", userName));
    const row = await userByNorm(db, ref.id, norm);
    if (!row) return heldDeletion(db, ref.id, { userNameNorm: norm });
    return (await asAppSees(db, ref.id, [userPayload(row, rolesOf(this.env).defaultRole)]))[0]!;
  }

  /**
   * The sign-in check: true only for a provisioned, active user (one indexed read); false for unknown
   * users. A user whose deactivation or deletion the guard holds (design.md §4g) is still active.
   */
  async isActive(tenant: string, userName: string): Promise<boolean> {
    const ref = await this.tenant("isActive", tenant);
    const db = tenantDb(this.env, ref);
    const norm = foldCase(requireString("isActive", "userName", userName));
    const row = await activeByNorm(db, ref.id, norm);
    if (row?.active) return true;
    if (row) return isDeactivationHeld(db, ref.id, row.id);
    return (await heldDeletion(db, ref.id, { userNameNorm: norm })) !== null;
  }

  /** Every user of the tenant in a stable order (creation, then id), a page at a time. */
  async listUsers(tenant: string, options: { cursor?: string | null; limit?: number } = {}): Promise<UsersPage> {
    const ref = await this.tenant("listUsers", tenant);
    const limit = options.limit ?? DEFAULT_USERS_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_USERS_LIMIT) throw new Error(`listUsers: \`limit\` must be an integer from 1 to ${MAX_USERS_LIMIT}; got ${JSON.stringify(limit)}.`);
    const after = options.cursor ? decodeUserCursor(options.cursor) : null;
    const rows = await usersAfter(tenantDb(this.env, ref), ref.id, after, limit + 1);
    const page = rows.slice(0, limit);
    return { users: await asAppSees(tenantDb(this.env, ref), ref.id, page.map((row) => userPayload(row, rolesOf(this.env).defaultRole))), nextCursor: rows.length > limit ? encodeUserCursor(page.at(-1)!) : null };
  }

  /** The groups a user belongs to ([] for a user in no group or no such user). */
  async groupsOf(tenant: string, userId: string): Promise<GroupPayload[]> {
    const ref = await this.tenant("groupsOf", tenant);
    const rows = await groupsOfUser(tenantDb(this.env, ref), ref.id, requireString("groupsOf", "userId", userId));
    return rows.map(groupPayload);
  }

  /**
   * Redeems a one-time sign-in ticket (design.md §4e), exactly as POST /admin/v1/sign-ins/redeem:
   * who signed in; a used, expired (60 s) or unknown ticket throws an Error saying so.
   */
  async redeemSignIn(ticket: string): Promise<Redemption> {
    try {
      return await redeemSignIn(this.env, ticket);
    } catch (error) {
      if (error instanceof ApiError) throw new Error(`redeemSignIn: ${error.detail}`);
      throw error;
    }
  }

  /** The change feed, exactly as GET /admin/v1/tenants/{slug}/changes answers it. */
  async changes(tenant: string, options: { after?: string | null; limit?: number; types?: string[] | string } = {}): Promise<ChangesPage> {
    const ref = await this.tenant("changes", tenant);
    const query = parseInput(changesQuery, {
      after: options.after ?? undefined,
      limit: options.limit,
      types: Array.isArray(options.types) ? options.types.join(",") : options.types,
    });
    return readChanges(this.env, ref, query);
  }
}

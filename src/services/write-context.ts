/** What every write needs, and the provisioning-log bookkeeping that every write shares. */
import type { Actor, AdminActor } from "../lib/hono";
import type { ChangeEventType } from "../events/catalogue";
import type { NewChangeEvent } from "../repo/change-events";
import { insertEvent, type NewEvent } from "../repo/events";
import { ifMatchAllows } from "../scim/etag";
import { ApiError } from "../scim/errors";
import type { GroupRow, UserRow } from "../db/tenant/schema";
import type { PushJournal } from "./group-push";
import type { TenantDb, TenantRef } from "../tenancy/tenant-db";
import type { RoleCatalogue } from "../roles/catalogue";
import type { RoleScope } from "../repo/roles";

export interface WriteContext {
  db: TenantDb;
  tenant: TenantRef;
  actor: Actor;
  /** The ScimWriter's memory of its resource, so a write need not read it first (see there). */
  memory?: ResourceMemory;
  /** The ScimWriter's storage for a large push's plan (services/group-push.ts); without it, one batch. */
  journal?: PushJournal;
  /** The deployment's role catalogue (`[vars] ROLES`, `DEFAULT_ROLE`): writes keep each user's role. */
  roles: RoleCatalogue;
}

/** What the role statements of a write need (repo/roles). */
export function roleScope(ctx: Pick<WriteContext, "tenant" | "roles">): RoleScope {
  return { tenantId: ctx.tenant.id, tenantSlug: ctx.tenant.slug, catalogueDefault: ctx.roles.defaultRole, at: new Date().toISOString() };
}

/**
 * The current row of the one resource a ScimWriter owns, as its last read or successful write left
 * it. Every write from it is still guarded by the row's version, so a row changed behind the
 * writer's back (it shouldn't be) costs a re-read and a retry, never a lost update.
 */
export interface ResourceMemory {
  user?: UserRow;
  group?: GroupRow;
}

/**
 * The writer's memory of its row, where it may stand in for a read: on a write's first attempt
 * only, and only when If-Match agrees with it (a disagreement forgets it and is settled by D1).
 */
export function recall<K extends keyof ResourceMemory>(ctx: WriteContext, kind: K, id: string, ifMatch: string | undefined, attempt: number): ResourceMemory[K] {
  const row = ctx.memory?.[kind];
  if (attempt !== 0 || !row || row.id !== id) return undefined;
  if (ifMatchAllows(ifMatch, row.version)) return row;
  forget(ctx, kind);
  return undefined;
}

/** Drops the writer's memory of its row: the next write reads it from D1. */
export function forget(ctx: WriteContext, kind: keyof ResourceMemory): void {
  if (ctx.memory) ctx.memory[kind] = undefined;
}

export type ResourceType = "User" | "Group";

/** Admin writes (the console, the admin API) are logged like SCIM writes, attributed to the operator. */
export const OPERATOR: Actor = { tokenPrefix: "admin", provider: "admin" };

/** The write actor of an admin action by `admin`. */
export function adminWriteActor(admin: AdminActor): Actor {
  return { ...OPERATOR, admin };
}

/** Attempts of a compare-and-swap write before giving up (only a write from outside the DO can race it). */
export const CAS_ATTEMPTS = 3;

export function newEvent(
  ctx: WriteContext,
  resourceType: ResourceType,
  fields: Pick<NewEvent, "action" | "resourceId" | "target" | "outcome" | "status" | "detail">,
): NewEvent {
  return { tenantId: ctx.tenant.id, at: new Date().toISOString(), resourceType, tokenPrefix: ctx.actor.tokenPrefix, actor: ctx.actor.admin ?? null, ...fields };
}

/**
 * A change event (design.md §4b) for the write's own batch: `resource` is `{user}`, `{group}`,
 * `{group, user}` or `{connection}`; `version` is the resource's version after the change.
 */
export function newChange(ctx: Pick<WriteContext, "tenant">, type: ChangeEventType, resourceId: string | null, version: number | null, resource: Record<string, unknown>): NewChangeEvent {
  return { tenantId: ctx.tenant.id, type, occurredAt: new Date().toISOString(), resourceId, version, data: { tenant: ctx.tenant.slug, version, ...resource } };
}

/**
 * Runs a write; a refused or failed one is recorded in the log before the error goes back to the
 * client. Recording is best effort for unexpected errors (the database may be what failed), and
 * never replaces the original error.
 */
export async function logged<T>(
  ctx: WriteContext,
  resourceType: ResourceType,
  action: string,
  resourceId: () => string | null,
  target: () => string | null,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await write();
  } catch (error) {
    // A refused token is not the tenant's request: nothing to log, and nothing may be written for it.
    if (error instanceof ApiError && error.status === 401) throw error;
    const refused = error instanceof ApiError;
    const record = insertEvent(
      ctx.db,
      newEvent(ctx, resourceType, {
        action,
        resourceId: resourceId(),
        target: target(),
        outcome: "failure",
        status: refused ? error.status : 500,
        detail: refused ? error.detail : "internal error (the Worker log has it under the request id)",
      }),
    );
    if (refused) await record;
    else await Promise.resolve(record).catch(() => {});
    throw error;
  }
}

export function staleVersion(resource: string, version: number): ApiError {
  return new ApiError(412, `The ${resource} has changed (its ETag is W/"${version}"). Read it again and retry with that If-Match.`);
}

export function concurrentWrite(resource: string): ApiError {
  return new ApiError(409, `The ${resource} was changed concurrently by another writer. Retry the request.`);
}

/** Top-level attributes whose values differ between two documents, for the log's detail. */
export function changedAttributes(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

/** True when a write failed on the unique index of `table`.`column` (D1 reports it in the message or its cause). */
export function isUniqueViolation(error: unknown, table: string, column: string): boolean {
  const e = error as { message?: string; cause?: { message?: string } };
  return `${e?.message} ${e?.cause?.message}`.includes(`UNIQUE constraint failed: ${table}.tenant_id, ${table}.${column}`);
}

/**
 * User writes: validation, the version-guarded write and the provisioning event, together. Creates
 * run in the Worker (the unique index arbitrates); writes to an existing user run inside the
 * ScimWriter Durable Object for that user, one at a time.
 */
import type { UserRow } from "../db/tenant/schema";
import { clipDetail } from "../repo/events";
import { deleteUser as deleteUserRow, getUser, insertUser, logUnchangedUser, updateUser, type UserChanges } from "../repo/users";
import { ifMatchAllows } from "../scim/etag";
import { conflict, notFound } from "../scim/errors";
import { keyOf } from "../scim/json";
import { ignoredNote, patchResource } from "../scim/patch";
import type { ScimDocument } from "../scim/sanitize";
import { userTypeFor } from "../attributes/core";
import { patchableUser, userColumns, userDocument, type GroupRef } from "../scim/users";
import { userPayload } from "../events/payload";
import type { ChangeEventType } from "../events/catalogue";
import { pushedRole } from "../roles/catalogue";
import { holdFor } from "../guardrails/hold";
import { CAS_ATTEMPTS, changedAttributes, concurrentWrite, forget, isUniqueViolation, logged, newChange, newEvent, recall, roleScope, staleVersion, type WriteContext } from "./write-context";

/** A user as a write left it, with its group memberships as read in the write's own round trip. */
export type WrittenUser = UserRow & { groups: GroupRef[] };

const event = (ctx: WriteContext, fields: Parameters<typeof newEvent>[2]) => newEvent(ctx, "User", fields);

/** The change event of a committed user write: `row` as it is after the change. */
const userChange = (ctx: WriteContext, type: ChangeEventType, row: UserRow) => newChange(ctx, type, row.id, row.version, { user: userPayload(row) });

/** The log's action names the change; the change event's type follows it. */
const CHANGE_TYPE_OF_ACTION: Record<string, ChangeEventType> = { "user.deactivate": "user.deactivated", "user.reactivate": "user.reactivated" };

const uniquenessDetail = (userName: string) =>
  `A user with userName '${userName}' already exists in this tenant (userNames are unique regardless of case). Link the existing user instead of creating a new one.`;

function describeChange(before: ScimDocument, after: ScimDocument): { action: string; detail: string } {
  const changed = changedAttributes(before, after);
  const wasActive = before.active !== false;
  const isActive = after.active !== false;
  const action = wasActive && !isActive ? "user.deactivate" : !wasActive && isActive ? "user.reactivate" : "user.update";
  return { action, detail: changed.length ? `changed: ${changed.join(", ")}` : "no changes" };
}

export async function createUser(ctx: WriteContext, body: Record<string, unknown>): Promise<UserRow> {
  const target = typeof body.userName === "string" ? body.userName : null;
  return logged(ctx, "User", "user.create", () => null, () => target, async () => {
    const doc = userDocument(body, undefined, userTypeFor(ctx.tenant.attributes));
    if (doc.active === undefined) doc.active = true;
    const now = new Date().toISOString();
    const row: UserRow = {
      tenantId: ctx.tenant.id,
      id: crypto.randomUUID(),
      ...userColumns(doc),
      data: doc,
      source: ctx.actor.provider,
      avatarUrl: null,
      role: null,
      idpRole: pushedRole(doc.roles, ctx.roles),
      version: 1,
      createdAt: now,
      updatedAt: now,
      lastSignInAt: null,
    };
    const created = await insertUser(
      ctx.db,
      row,
      event(ctx, { action: "user.create", resourceId: row.id, target: row.userName, outcome: "success", status: 201, detail: "created" }),
      userChange(ctx, "user.created", row),
      roleScope(ctx),
    );
    if (!created) throw conflict(uniquenessDetail(row.userName));
    return { ...row, role: created.role };
  });
}

/**
 * Read, compute, compare-and-swap: the shared shape of every write to an existing user. `compute`
 * returns the new SCIM document and/or column changes (TheStorage-owned fields), and may throw an
 * ApiError; a document equal to the stored one is acknowledged without a new version.
 */
async function modifyUser(
  ctx: WriteContext,
  id: string,
  ifMatch: string | undefined,
  defaultAction: string,
  // `note`: appended to the log's detail (what a PATCH ignored).
  compute: (current: UserRow) => { doc?: ScimDocument; changes?: Omit<UserChanges, "updatedAt">; action?: string; detail?: string; note?: string },
): Promise<WrittenUser> {
  let target: string | null = null;
  return logged(ctx, "User", defaultAction, () => id, () => target, async () => {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      // The writer's memory first; a version mismatch or a refused precondition is re-checked against D1.
      const current = recall(ctx, "user", id, ifMatch, attempt) ?? (await getUser(ctx.db, ctx.tenant.id, id));
      if (!current) {
        forget(ctx, "user");
        throw notFound(`User '${id}' not found.`);
      }
      target = current.userName;
      if (!ifMatchAllows(ifMatch, current.version)) {
        throw staleVersion("user", current.version);
      }
      const result = compute(current);
      const doc = result.doc ?? current.data;
      const changes: UserChanges = {
        ...(result.doc ? { ...userColumns(doc), data: doc, idpRole: pushedRole(doc.roles, ctx.roles) } : {}),
        ...result.changes,
        updatedAt: new Date().toISOString(),
      };
      const described = result.doc
        ? { ...describeChange(current.data, doc), ...(result.action ? { action: result.action } : {}) }
        : { action: result.action ?? defaultAction, detail: result.detail ?? "" };
      const action = described.action;
      const detail = [described.detail, result.note].filter(Boolean).join("; ");

      if (result.doc && changedAttributes(current.data, doc).length === 0 && !result.changes) {
        // Nothing changed (Okta re-sends unchanged values): keep the version, still log the request.
        const groups = await logUnchangedUser(ctx.db, ctx.tenant.id, id, event(ctx, { action, resourceId: id, target, outcome: "success", status: 200, detail: clipDetail(["no changes", result.note].filter(Boolean).join("; ")) }));
        return { ...current, groups };
      }
      // A userName taken by another user fails the write on the unique index (caught below): no read first.
      const next: UserRow = { ...current, ...changes, version: current.version + 1 };
      let outcome: { written: boolean; groups: GroupRef[]; role: string };
      try {
        outcome = await updateUser(
          ctx.db,
          ctx.tenant.id,
          id,
          current.version,
          changes,
          event(ctx, { action, resourceId: id, target: changes.userName ?? target, outcome: "success", status: 200, detail: clipDetail(detail) }),
          userChange(ctx, CHANGE_TYPE_OF_ACTION[action] ?? "user.updated", next),
          { ...roleScope(ctx), previousRole: current.role ?? ctx.roles.defaultRole },
          // The deactivation hold (design.md §4g), in the same batch.
          holdFor(ctx, id, action === "user.deactivate" ? "deactivate" : action === "user.reactivate" ? "reactivate" : "other", {
            otherChanges: result.doc ? changedAttributes(current.data, doc).some((k) => k !== "active") || !!result.changes : false,
          }),
        );
      } catch (error) {
        if (isUniqueViolation(error, "users", "user_name_norm")) throw conflict(uniquenessDetail(String(changes.userName)));
        throw error;
      }
      if (outcome.written) {
        const written = { ...next, role: outcome.role };
        if (ctx.memory) ctx.memory.user = written;
        return { ...written, groups: outcome.groups };
      }
      forget(ctx, "user");
    }
    throw concurrentWrite("user");
  });
}

export function replaceUser(ctx: WriteContext, id: string, body: Record<string, unknown>, ifMatch?: string): Promise<WrittenUser> {
  return modifyUser(ctx, id, ifMatch, "user.update", (current) => {
    const doc = userDocument(body, current, userTypeFor(ctx.tenant.attributes));
    // A PUT that leaves `active` out must not silently reactivate or deactivate anyone.
    if (keyOf(body, "active") === undefined && current.data.active !== undefined) doc.active = current.data.active;
    return { doc };
  });
}

export function patchUser(ctx: WriteContext, id: string, body: Record<string, unknown>, ifMatch?: string): Promise<WrittenUser> {
  return modifyUser(ctx, id, ifMatch, "user.update", (current) => {
    const type = userTypeFor(ctx.tenant.attributes);
    const { resource: patched, ignored } = patchResource(patchableUser(current), body, type);
    const doc = userDocument(patched, current, type);
    // No defaulting of `active`: a PATCH that removes it leaves it removed (RFC 7644 §3.5.2.2).
    return { doc, note: ignoredNote(ignored) };
  });
}

/** TheStorage-owned: the avatar an operator set. Never written by SCIM; part of the representation (photos). */
export function setAvatar(ctx: WriteContext, id: string, avatarUrl: string | null): Promise<WrittenUser> {
  return modifyUser(ctx, id, undefined, "user.avatar", () => ({
    changes: { avatarUrl },
    action: "user.avatar",
    detail: avatarUrl ? "avatar set" : "avatar removed",
  }));
}

export async function deleteUser(ctx: WriteContext, id: string, ifMatch?: string): Promise<void> {
  let target: string | null = null;
  await logged(ctx, "User", "user.delete", () => id, () => target, async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      // The writer's memory on the first attempt; a miss on its version is settled by reading D1.
      const remembered = recall(ctx, "user", id, ifMatch, attempt);
      const current = remembered ?? (await getUser(ctx.db, ctx.tenant.id, id));
      forget(ctx, "user"); // deleted, refused or raced: either way the next write reads
      if (!current) throw notFound(`User '${id}' not found.`);
      target = current.userName;
      if (!ifMatchAllows(ifMatch, current.version)) {
        throw staleVersion("user", current.version);
      }
      const deleted = await deleteUserRow(
        ctx.db,
        ctx.tenant.id,
        ctx.tenant.slug,
        id,
        current.version,
        event(ctx, { action: "user.delete", resourceId: id, target, outcome: "success", status: 204, detail: "deleted; removed from its groups" }),
        // Versioned past the last write, so a receiver that saw that one still takes this.
        userChange(ctx, "user.deleted", { ...current, version: current.version + 1 }),
        // Deleting an active user counts for the deactivation hold (design.md §4g).
        holdFor(ctx, id, current.active ? "delete" : "other"),
      );
      if (deleted) return;
      if (!remembered) break;
    }
    throw concurrentWrite("user");
  });
}

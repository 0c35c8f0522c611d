/**
 * Group writes. Membership changes are computed against the stored member rows (a diff, so a
 * 5,000-member Push Now only writes what changed) and applied in the same atomic batch as the group
 * row and the event. A member id that is not a user of this tenant is skipped and named in the log,
 * so one stale id never loses the rest of a push (Okta does not retry a 400).
 */
import type { GroupRow } from "../db/tenant/schema";
import { clipDetail, insertEvent } from "../repo/events";
import { deleteGroup as deleteGroupRow, existingUserIds, getGroup, insertGroup, membersOfGroups, patchNamedMembers, updateGroup, type GroupChangeEvents, type GroupChanges } from "../repo/groups";
import { pagedMemberIds } from "../repo/group-push";
import { isLargePush, runPush } from "./group-push";
import { ifMatchAllows } from "../scim/etag";
import { conflict, notFound } from "../scim/errors";
import { groupColumns, groupDocument, namedMemberIds, patchableGroup, type MemberRef } from "../scim/groups";
import { ignoredNote, patchResource } from "../scim/patch";
import { keyOf } from "../scim/json";
import { GROUP_RESOURCE } from "../scim/schema";
import { groupPayload } from "../events/payload";
import { CAS_ATTEMPTS, changedAttributes, concurrentWrite, forget, isUniqueViolation, logged, newChange, newEvent, recall, roleScope, staleVersion, type WriteContext } from "./write-context";

/** A group as a write left it; `members` when the write read them back for its answer. */
export type WrittenGroup = GroupRow & { members?: MemberRef[] };

const event = (ctx: WriteContext, fields: Parameters<typeof newEvent>[2]) => newEvent(ctx, "Group", fields);

/** The change events of a committed group write, `row` as it is after it: `type` for the group itself, if any. */
function groupChanges(ctx: WriteContext, row: GroupRow, type: "group.created" | "group.updated" | null): GroupChangeEvents {
  const group = { group: groupPayload(row) };
  const membership = newChange(ctx, "group.user_added", row.id, row.version, group);
  const { type: _type, ...base } = membership;
  return { group: type ? [newChange(ctx, type, row.id, row.version, group)] : [], membership: base, roles: roleScope(ctx) };
}

const uniquenessDetail = (displayName: string) =>
  `A group with displayName '${displayName}' already exists in this tenant (names are unique regardless of case). Link the existing group instead of creating a new one.`;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function shortList(ids: string[]): string {
  return ids.length > 5 ? `${ids.slice(0, 5).join(", ")} and ${ids.length - 5} more` : ids.join(", ");
}

function membershipDetail(added: number, removed: number, skipped: string[]): string[] {
  const parts: string[] = [];
  if (added) parts.push(`added ${plural(added, "member")}`);
  if (removed) parts.push(`removed ${plural(removed, "member")}`);
  if (skipped.length) parts.push(`skipped ${plural(skipped.length, "unknown member id")}: ${shortList(skipped)}`);
  return parts;
}

/** Splits requested member ids into those that are users of this tenant and those skipped. */
async function knownMembers(ctx: WriteContext, ids: string[], alreadyMembers: Set<string> = new Set()) {
  const toCheck = ids.filter((id) => !alreadyMembers.has(id));
  const existing = await existingUserIds(ctx.db, ctx.tenant.id, toCheck);
  return { known: ids.filter((id) => alreadyMembers.has(id) || existing.has(id)), skipped: toCheck.filter((id) => !existing.has(id)) };
}

export async function createGroup(ctx: WriteContext, body: Record<string, unknown>): Promise<GroupRow> {
  const target = typeof body.displayName === "string" ? body.displayName : null;
  return logged(ctx, "Group", "group.create", () => null, () => target, async () => {
    const { doc, memberIds = [] } = groupDocument(body);
    const { known, skipped } = await knownMembers(ctx, memberIds);
    const now = new Date().toISOString();
    const row: GroupRow = { tenantId: ctx.tenant.id, id: crypto.randomUUID(), ...groupColumns(doc), data: doc, source: ctx.actor.provider, version: 1, createdAt: now, updatedAt: now };
    const detail = ["created", ...membershipDetail(known.length, 0, skipped)].join("; ");
    const created = await insertGroup(
      ctx.db,
      row,
      known,
      event(ctx, { action: "group.create", resourceId: row.id, target: row.displayName, outcome: "success", status: 201, detail: clipDetail(detail) }),
      groupChanges(ctx, row, "group.created"),
    );
    if (!created) throw conflict(uniquenessDetail(row.displayName));
    return row;
  });
}

interface GroupChange {
  doc: Record<string, unknown>;
  /** The complete member list wanted afterwards, or undefined to leave membership alone. */
  memberIds?: string[];
  /** Appended to the log's detail (what a PATCH ignored). */
  note?: string;
}

/** Runs a group write; a displayName another group holds fails it on the unique index: 409, no read first. */
async function withUniqueName<T>(changes: GroupChanges, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error, "groups", "display_name_norm")) throw conflict(uniquenessDetail(changes.displayName!));
    throw error;
  }
}

/**
 * A PATCH that names its members (`among`), in one batch: the named members' fate does not depend
 * on who is a member now (see patchNamedMembers), so nothing is read first. Null when it raced.
 */
async function patchNamedInOneBatch(
  ctx: WriteContext,
  current: GroupRow,
  among: string[],
  compute: (current: GroupRow, memberIds: string[]) => GroupChange,
  status: number,
): Promise<GroupRow | null> {
  const { doc, memberIds = [], note } = compute(current, []);
  const wanted = new Set(memberIds);
  const changed = changedAttributes(current.data, doc);
  const changes: GroupChanges = { ...groupColumns(doc), data: doc, updatedAt: new Date().toISOString() };
  const next: GroupRow = { ...current, ...changes, version: current.version + 1 };
  const outcome = await withUniqueName(changes, () =>
    patchNamedMembers(
      ctx.db,
      ctx.tenant.id,
      current.id,
      current.version,
      changes,
      changed,
      { present: memberIds, absent: among.filter((m) => !wanted.has(m)) },
      event(ctx, { action: "group.update", resourceId: current.id, target: changes.displayName ?? current.displayName, outcome: "success", status, detail: note ?? "" }),
      groupChanges(ctx, next, changed.length ? "group.updated" : null),
    ),
  );
  if (outcome === "unchanged") return current;
  if (outcome === "raced") return null;
  if (ctx.memory) ctx.memory.group = next;
  return next;
}

/**
 * Read, compute, compare-and-swap. `among`: the only member ids the change can touch (see
 * namedMemberIds); when it names any (a PATCH), the write is decided in one batch
 * (patchNamedInOneBatch); when empty (a PUT without `members`), no member is read.
 */
async function modifyGroup(
  ctx: WriteContext,
  id: string,
  ifMatch: string | undefined,
  among: string[] | undefined,
  compute: (current: GroupRow, memberIds: string[]) => GroupChange,
  options: { readMembers?: boolean; status?: number } = {},
): Promise<WrittenGroup> {
  // What the client gets on success, as the log records it.
  const status = options.status ?? 200;
  let target: string | null = null;
  return logged(ctx, "Group", "group.update", () => id, () => target, async () => {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      // The writer's memory first; a version mismatch or a refused precondition is re-checked against D1.
      const current = recall(ctx, "group", id, ifMatch, attempt) ?? (await getGroup(ctx.db, ctx.tenant.id, id));
      if (!current) {
        forget(ctx, "group");
        throw notFound(`Group '${id}' not found.`);
      }
      target = current.displayName;
      if (!ifMatchAllows(ifMatch, current.version)) throw staleVersion("group", current.version);
      if (among?.length && !isLargePush(among.length, 0)) {
        const written = await patchNamedInOneBatch(ctx, current, among, compute, status);
        if (written) return written;
        forget(ctx, "group");
        continue;
      }
      // Named members are all decided above; `among` is empty here (a PUT without `members`: no read) or absent.
      // A PATCH naming more than a chunk's worth of members reads them all and goes the chunked way below.
      const currentIds = among && !among.length ? [] : await pagedMemberIds(ctx.db, ctx.tenant.id, id);
      const { doc, memberIds, note } = compute(current, currentIds);

      const before = new Set(currentIds);
      if (memberIds && ctx.journal) {
        // A Push Now that changes more than one chunk's worth of members: chunked (services/group-push.ts).
        const wantedIds = new Set(memberIds);
        const add = memberIds.filter((m) => !before.has(m));
        const remove = currentIds.filter((m) => !wantedIds.has(m));
        if (isLargePush(add.length, remove.length)) {
          const changed = changedAttributes(current.data, doc);
          const changes: GroupChanges = { ...groupColumns(doc), data: doc, updatedAt: new Date().toISOString() };
          const detail = [...(changed.length ? [`changed: ${changed.join(", ")}`] : []), `replacing members: ${plural(add.length, "id")} to add, ${plural(remove.length, "member")} to remove, in progress`];
          const pushed = await withUniqueName(changes, () =>
            runPush(
              { ...ctx, journal: ctx.journal! },
              current,
              { changes, changed, add, remove, note },
              event(ctx, { action: "group.members", resourceId: id, target: changes.displayName ?? target, outcome: "success", status, detail: clipDetail(detail.join("; ")) }),
              (next) => groupChanges(ctx, next, changed.length ? "group.updated" : null).group,
            ),
          );
          if (pushed) {
            if (ctx.memory) ctx.memory.group = pushed;
            return options.readMembers ? { ...pushed, members: (await membersOfGroups(ctx.db, ctx.tenant.id, [id])).get(id) ?? [] } : pushed;
          }
          forget(ctx, "group");
          continue;
        }
      }
      const { known, skipped } = memberIds ? await knownMembers(ctx, memberIds, before) : { known: currentIds, skipped: [] };
      const wanted = new Set(known);
      const add = known.filter((m) => !before.has(m));
      const remove = currentIds.filter((m) => !wanted.has(m));
      const changed = changedAttributes(current.data, doc);
      const detailParts = [...(changed.length ? [`changed: ${changed.join(", ")}`] : []), ...membershipDetail(add.length, remove.length, skipped), ...(note ? [note] : [])];
      const action = add.length || remove.length ? "group.members" : "group.update";

      if (!changed.length && !add.length && !remove.length) {
        // Okta re-sends the displayName with every push: acknowledge without a new version.
        await insertEvent(ctx.db, event(ctx, { action, resourceId: id, target, outcome: "success", status, detail: clipDetail(["no changes", ...detailParts].join("; ")) }));
        return current;
      }
      const changes: GroupChanges = { ...groupColumns(doc), data: doc, updatedAt: new Date().toISOString() };
      const next: GroupRow = { ...current, ...changes, version: current.version + 1 };
      const written = await withUniqueName(changes, () =>
        updateGroup(
          ctx.db,
          ctx.tenant.id,
          id,
          current.version,
          changes,
          { add, remove },
          event(ctx, { action, resourceId: id, target: changes.displayName ?? target, outcome: "success", status, detail: clipDetail(detailParts.join("; ")) }),
          groupChanges(ctx, next, changed.length ? "group.updated" : null),
          { readMembers: options.readMembers },
        ),
      );
      if (written.written) {
        if (ctx.memory) ctx.memory.group = next;
        return { ...next, members: written.members };
      }
      forget(ctx, "group");
    }
    throw concurrentWrite("group");
  });
}

/**
 * PUT replaces displayName, externalId and members; a PUT without a `members` key leaves membership
 * alone. Its answer carries the members, read in the write's own batch.
 */
export function replaceGroup(ctx: WriteContext, id: string, body: Record<string, unknown>, ifMatch?: string) {
  // Without a `members` key, membership is left alone: no member ids need reading.
  const among = keyOf(body, "members") === undefined ? [] : undefined;
  return modifyGroup(ctx, id, ifMatch, among, (current) => groupDocument(body, current.data), { readMembers: true });
}

/** `status`: what the client gets on success (the route answers 204 unless asked for the group). */
export function patchGroup(ctx: WriteContext, id: string, body: Record<string, unknown>, ifMatch?: string, status: 200 | 204 = 200) {
  return modifyGroup(
    ctx,
    id,
    ifMatch,
    namedMemberIds(body) ?? undefined,
    (current, memberIds) => {
      const { resource: patched, ignored } = patchResource(patchableGroup(current, memberIds), body, GROUP_RESOURCE);
      const { doc, memberIds: wanted } = groupDocument(patched, current.data);
      return { doc, memberIds: wanted ?? [], note: ignoredNote(ignored) };
    },
    { status },
  );
}

export async function deleteGroup(ctx: WriteContext, id: string, ifMatch?: string): Promise<void> {
  let target: string | null = null;
  await logged(ctx, "Group", "group.delete", () => id, () => target, async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      // The writer's memory on the first attempt; a miss on its version is settled by reading D1.
      const remembered = recall(ctx, "group", id, ifMatch, attempt);
      const current = remembered ?? (await getGroup(ctx.db, ctx.tenant.id, id));
      forget(ctx, "group"); // deleted, refused or raced: either way the next write reads
      if (!current) throw notFound(`Group '${id}' not found.`);
      target = current.displayName;
      if (!ifMatchAllows(ifMatch, current.version)) throw staleVersion("group", current.version);
      const deleted = await deleteGroupRow(ctx.db, ctx.tenant.id, id, current.version, event(ctx, {
        action: "group.delete",
        resourceId: id,
        target,
        outcome: "success",
        status: 204,
        detail: "deleted; its users stay",
      }), newChange(ctx, "group.deleted", id, current.version + 1, { group: groupPayload(current) }), roleScope(ctx));
      if (deleted) return;
      if (!remembered) break;
    }
    throw concurrentWrite("group");
  });
}

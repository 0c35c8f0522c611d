/**
 * Large group writes (design.md §4h): a Push Now (a PATCH or PUT replacing `members`) that changes
 * more than PUSH_CHUNK memberships is applied in bounded chunks instead of one batch, so no D1
 * batch holds the (possibly shared) database for more than one chunk's tens of milliseconds, and
 * other tenants' requests run between them.
 *
 * How it stays all-or-nothing for the IdP. It runs in the group's ScimWriter Durable Object, which
 * runs the group's writes one at a time:
 * 1. **Plan.** The diff (members to remove, then to add) is computed from the group's current
 *    members and cut into chunks, which the object keeps in its own storage (the journal) before
 *    anything is written to D1.
 * 2. **Commit.** One batch: the group row moves up a version (compare-and-swap, as any group write),
 *    the write's log row, the group's own change events, and a `group_pushes` row. From here the
 *    push has happened and will be completed; before it, nothing is visible.
 * 3. **Chunks.** One batch each: its memberships, one change event per member added or removed
 *    (with the group's version after the chunk), the group's version up one; guarded by the push
 *    row's `next_chunk`, so each chunk is applied exactly once, whoever runs it.
 * 4. **Finish.** One batch: the log row gets its final counts, the push row goes; the journal is
 *    cleared and the IdP gets its answer.
 * If the object dies in between, its alarm (set at step 1) resumes from the journal, and every
 * later write to the group finishes a pending push first (the object runs them in order), so an
 * IdP that retries sees the result of the first request, then applies its own (no change left).
 * A push whose commit did not happen is dropped from the journal. While a push runs, reads of the
 * group show its membership moving from the old list to the new one, version by version; the
 * group's other writes wait for it.
 */
import type { GroupRow } from "../db/tenant/schema";
import { groupPayload } from "../events/payload";
import type { NewChangeEvent } from "../repo/change-events";
import type { NewEvent } from "../repo/events";
import { applyPushChunk, commitPush, findPush, finishPush, PUSH_CHUNK, type PushRef } from "../repo/group-push";
import { getGroup, type GroupChanges } from "../repo/groups";
import { chunk } from "../repo/batch";
import { ApiError } from "../scim/errors";
import type { TenantDb, TenantRef } from "../tenancy/tenant-db";
import { newChange, roleScope, type WriteContext } from "./write-context";
import type { RoleScope } from "../repo/roles";

export { PUSH_CHUNK };

/** One chunk of a push's plan: ids to remove from or add to the group. */
export interface PushChunk {
  op: "add" | "remove";
  ids: string[];
}

/** What the journal keeps about a push besides its chunks. */
export interface PushState {
  pushId: string;
  tenant: TenantRef;
  groupId: string;
  chunks: number;
  /** The base of its membership events: tenant, group payload, version set per chunk. */
  membership: Omit<NewChangeEvent, "type">;
  /** The log detail's fixed parts: attributes changed, what the PATCH ignored. */
  changed: string[];
  note?: string;
  /** Members a chunk adds or removes have their roles recomputed when the group is mapped (repo/roles). */
  roles?: RoleScope;
}

/**
 * Where a ScimWriter keeps the plan of its group's push: its own storage (no network round trip),
 * so a push outlives the object's death. At most one push per tenant key at a time (the object
 * runs its group's writes one at a time).
 */
export interface PushJournal {
  save(state: PushState, chunks: PushChunk[]): Promise<void>;
  load(): Promise<{ state: PushState; chunk: (index: number) => Promise<PushChunk> } | null>;
  clear(): Promise<void>;
  /** Has the rest applied in the background right after the current write (the object's alarm, now). */
  resumeSoon(): Promise<void>;
}

/** True when a membership change of this size goes through the chunked path. */
export function isLargePush(add: number, remove: number): boolean {
  return add + remove > PUSH_CHUNK;
}

/** Attempts per chunk before the request gives up (the push stays journaled; the alarm finishes it). */
const CHUNK_ATTEMPTS = 3;

/** Between two chunks (see applyRest): 100 chunks of a 100,000-member push add 0.2 s. */
const CHUNK_PAUSE_MS = 2;

/**
 * How long the IdP's request waits for a push's chunks before answering 429 and leaving the rest to
 * the alarm: Okta closes the socket after 60 s and does not retry a timeout (okta.md).
 */
export const LIVE_BUDGET_MS = 40_000;

/** When the alarm resumes a push whose request died or gave up. */
export const RESUME_AFTER_MS = 10_000;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The log's detail once the push is done, worded as a one-batch group write words it. */
export function pushDetail(state: Pick<PushState, "changed" | "note">, counts: { added: number; removed: number; skipped: number; skippedSample: string[] }): string {
  const parts: string[] = [];
  if (state.changed.length) parts.push(`changed: ${state.changed.join(", ")}`);
  if (counts.added) parts.push(`added ${plural(counts.added, "member")}`);
  if (counts.removed) parts.push(`removed ${plural(counts.removed, "member")}`);
  if (counts.skipped) {
    const more = counts.skipped - counts.skippedSample.length;
    parts.push(`skipped ${plural(counts.skipped, "unknown member id")}: ${counts.skippedSample.join(", ")}${more > 0 ? ` and ${more} more` : ""}`);
  }
  if (state.note) parts.push(state.note);
  const detail = parts.join("; ") || "no changes";
  return detail.length > 500 ? `${detail.slice(0, 499)}…` : detail;
}

/**
 * Runs a large push from the plan to the answer: journal, commit, chunks, finish. Null when the
 * commit lost a race on the group's version (nothing written; the caller re-reads and retries).
 */
export async function runPush(
  ctx: WriteContext & { journal: PushJournal },
  current: GroupRow,
  plan: { changes: GroupChanges; changed: string[]; add: string[]; remove: string[]; note?: string },
  event: NewEvent,
  groupEvents: (next: GroupRow) => NewChangeEvent[],
  /** How long the IdP's request may wait for the chunks (LIVE_BUDGET_MS; a test passes 0). */
  liveBudgetMs = LIVE_BUDGET_MS,
): Promise<GroupRow | null> {
  const next: GroupRow = { ...current, ...plan.changes, version: current.version + 1 };
  const chunks: PushChunk[] = [...chunk(plan.remove, PUSH_CHUNK).map((ids) => ({ op: "remove" as const, ids })), ...chunk(plan.add, PUSH_CHUNK).map((ids) => ({ op: "add" as const, ids }))];
  const membership = newChange(ctx, "group.user_added", current.id, null, { group: groupPayload(next) });
  const { type: _type, ...base } = membership;
  const state: PushState = { pushId: crypto.randomUUID(), tenant: ctx.tenant, groupId: current.id, chunks: chunks.length, membership: base, changed: plan.changed, note: plan.note, roles: roleScope(ctx) };
  await ctx.journal.save(state, chunks);
  const logId = await commitPush(ctx.db, { pushId: state.pushId, tenantId: ctx.tenant.id, groupId: current.id, version: current.version, changes: plan.changes }, event, groupEvents(next)).catch(
    async (error: unknown) => {
      // Not committed unless the push row says so (a failure after the commit is finished by the alarm).
      if (!(await findPush(ctx.db, state.pushId).catch(() => true))) await ctx.journal.clear();
      throw error;
    },
  );
  if (logId === null) {
    await ctx.journal.clear();
    return null;
  }
  await applyRest(ctx.db, { ...state, logId }, (i) => Promise.resolve(chunks[i]!), ctx.journal, Date.now() + liveBudgetMs);
  return (await getGroup(ctx.db, ctx.tenant.id, current.id)) ?? next;
}

/** The answer of a request whose push is committed but not finished: Okta and Entra retry a 429. */
function stillApplying(done: number, chunks: number): ApiError {
  return new ApiError(
    429,
    `The group's new member list is committed and still being applied (${done} of ${chunks} parts done); it completes in the background. Retry the request to confirm.`,
    { headers: { "Retry-After": String(Math.ceil(RESUME_AFTER_MS / 1000)) } },
  );
}

/** Applies the chunks the push row says are left, then finishes the push and clears the journal. */
async function applyRest(
  db: TenantDb,
  state: PushState & { logId: number },
  chunkAt: (index: number) => Promise<PushChunk>,
  journal: PushJournal,
  /** For the IdP's own request: past it, the rest is left to the alarm and the request answers 429. */
  deadline = Infinity,
): Promise<void> {
  const ref: PushRef = { pushId: state.pushId, tenantId: state.tenant.id, groupId: state.groupId, logId: state.logId, membership: state.membership, roles: state.roles };
  const row = await findPush(db, state.pushId);
  for (let index = row?.nextChunk ?? state.chunks; index < state.chunks; index++) {
    if (Date.now() >= deadline) {
      // Okta closes the socket after 60 s and does not retry a timeout; it does retry a 429.
      await journal.resumeSoon();
      throw stillApplying(index, state.chunks);
    }
    // A pause between chunks: the database serves whatever queued behind the last one (another
    // tenant's lookup) before the next; and in a local workerd, where this object and the database
    // share one event loop, their back-to-back calls would otherwise keep it from reading its
    // sockets (measured: a neighbour's lookup waited the whole push, 2.2 s for 100,000 members).
    if (index > 0) await new Promise((resolve) => setTimeout(resolve, CHUNK_PAUSE_MS));
    const { op, ids } = await chunkAt(index);
    for (let attempt = 1; ; attempt++) {
      try {
        await applyPushChunk(db, ref, index, op, ids, new Date().toISOString());
        break;
      } catch (error) {
        if (attempt >= CHUNK_ATTEMPTS) {
          console.error(JSON.stringify({ level: "error", op: "group.push", pushId: state.pushId, chunk: index, error: String(error) }));
          throw stillApplying(index, state.chunks);
        }
      }
    }
  }
  await finishPush(db, ref, (counts) => pushDetail(state, counts));
  await journal.clear();
}

/**
 * Finishes the push a journal holds, if any: after the object died mid-push (from its alarm), or
 * before the group's next write. A push whose commit never happened is dropped. Returns the
 * tenant whose push it finished, or null when there was none.
 */
export async function resumePush(journal: PushJournal, dbOf: (tenant: TenantRef) => TenantDb): Promise<TenantRef | null> {
  const found = await journal.load();
  if (!found) return null;
  const { state, chunk: chunkAt } = found;
  const db = dbOf(state.tenant);
  const row = await findPush(db, state.pushId);
  if (!row) {
    // Never committed, or already finished: either way nothing is left to do.
    await journal.clear();
    return state.tenant;
  }
  await applyRest(db, { ...state, logId: Number(row.logId) }, chunkAt, journal);
  return state.tenant;
}

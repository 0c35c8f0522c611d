/**
 * The change feed (design.md §4b), shared by GET /admin/v1/tenants/{slug}/changes and the
 * ScimDirectory RPC: a tenant's committed changes, oldest first, paged by an opaque cursor.
 *
 * Cursor semantics (the WorkOS events API model: a consumer stores the cursor after processing a
 * page and resumes from it): `nextCursor` is the cursor of the last event returned; when nothing is
 * newer, `data` is empty and `nextCursor` is the `after` that was given, so polling with it again
 * is always safe; with no `after` and no events at all, `nextCursor` is null (poll again without
 * `after`).
 */
import { z } from "@hono/zod-openapi";
import type { Env } from "../env";
import { CHANGE_EVENT_TYPES, isChangeEventType, type ChangeEventType } from "../events/catalogue";
import { decodeCursor, encodeCursor } from "../events/cursor";
import type { GroupPayload, UserPayload } from "../events/payload";
import { listChanges } from "../repo/changes";
import { tenantDb, type TenantRef } from "../tenancy/tenant-db";

export const DEFAULT_CHANGES_LIMIT = 100;
export const MAX_CHANGES_LIMIT = 500;

/** The feed's query: validated the same way for HTTP (strings) and RPC (numbers allowed for limit). */
export const changesQuery = z.object({
  after: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === "") return 0;
      const seq = decodeCursor(value);
      if (seq === null) {
        ctx.issues.push({ code: "custom", input: value, message: "not a cursor of this feed; pass a nextCursor from a previous answer, or omit `after` to start from the oldest event" });
        return z.NEVER;
      }
      return seq;
    })
    .openapi({ description: "The `nextCursor` of a previous answer (opaque). Absent: from the oldest event kept.", example: encodeCursor(42) }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_CHANGES_LIMIT)
    .default(DEFAULT_CHANGES_LIMIT)
    .openapi({ description: `Events per page, 1–${MAX_CHANGES_LIMIT}.`, example: DEFAULT_CHANGES_LIMIT }),
  types: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return undefined;
      const types = [...new Set(value.split(",").map((t) => t.trim()).filter(Boolean))];
      const unknown = types.filter((t) => !isChangeEventType(t));
      if (unknown.length) {
        ctx.issues.push({ code: "custom", input: value, message: `unknown event type ${unknown.map((t) => `'${t}'`).join(", ")}; valid types: ${CHANGE_EVENT_TYPES.join(", ")}` });
        return z.NEVER;
      }
      return types as ChangeEventType[];
    })
    .openapi({ description: `Comma-separated event types to return (all when absent): ${CHANGE_EVENT_TYPES.join(", ")}.`, example: "user.created,user.deactivated" }),
});
export type ChangesQuery = z.output<typeof changesQuery>;

/**
 * An event's `data` as the outbox stores it (design.md §4b). Typed concretely (not `unknown`, not a
 * recursive JSON type) so that ScimDirectory's RPC types stay usable in consumer Workers.
 */
export interface ChangeData {
  tenant: string;
  /** The resource's version after the change. */
  version: number | null;
  /** User events: the full user; membership events: at least its id. */
  user?: Pick<UserPayload, "id"> & Partial<UserPayload>;
  group?: Pick<GroupPayload, "id"> & Partial<GroupPayload>;
  connection?: { provider: string | null; tokenPrefix: string | null };
}

export interface Change {
  /** `evt_<32 hex>`: equal to the `webhook-id` of its deliveries. */
  id: string;
  type: string;
  occurredAt: string;
  data: ChangeData;
}

export interface ChangesPage {
  data: Change[];
  nextCursor: string | null;
}

export async function readChanges(env: Env, tenant: TenantRef, query: ChangesQuery): Promise<ChangesPage> {
  const rows = await listChanges(tenantDb(env, tenant), tenant.id, { afterSeq: query.after, limit: query.limit, types: query.types });
  const last = rows.at(-1);
  const nextCursor = last ? encodeCursor(last.seq) : query.after > 0 ? encodeCursor(query.after) : null;
  return { data: rows.map((row) => ({ id: row.id, type: row.type, occurredAt: row.occurredAt, data: row.data as unknown as ChangeData })), nextCursor };
}

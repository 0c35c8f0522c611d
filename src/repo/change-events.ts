/**
 * The transactional outbox: change-event inserts for a write's own batch. Each insert is guarded
 * by the same condition as the write's provisioning-log row ("the write above happened"), so a
 * change event exists if and only if its change committed. Ids are made in SQL, so one statement
 * can yield an event per member of a 5,000-member push without binding 5,000 ids twice.
 */
import { sql, type SQL } from "drizzle-orm";
import type { ChangeEventType } from "../events/catalogue";

export interface NewChangeEvent {
  tenantId: string;
  type: ChangeEventType;
  occurredAt: string;
  resourceId: string | null;
  version: number | null;
  /** The payload's `data`: tenant slug, version and the resource. */
  data: Record<string, unknown>;
}

const EVENT_ID = sql.raw(`'evt_' || lower(hex(randomblob(16)))`);

/** The provisioning-log row this batch wrote just before (ids only grow, and a batch is one transaction). */
const logIdOf = (tenantId: string) => sql`(SELECT max(id) FROM events WHERE tenant_id = ${tenantId})`;

/**
 * `dispatched_at` of a new event: null (for the dispatcher) while the tenant has a webhook, else
 * the transaction's time: with no webhook there is nothing to hand to the queue, so neither the
 * after-write dispatch nor the sweep need read or mark it. Decided in the write's transaction, so
 * an event committed after a webhook's insert is always left for the dispatcher. `tenantId` is SQL
 * (a bound id or a column): a membership insert has no bound parameter to spare under D1's 100.
 */
const dispatchedAtFor = (tenantId: SQL) =>
  sql`CASE WHEN EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = ${tenantId}) THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END`;

/** A change-event insert for a batch, inserted only if `condition` holds when it runs. */
export function insertChangeWhen(event: NewChangeEvent, condition: SQL): SQL {
  return sql`INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data, log_id, dispatched_at)
    SELECT ${EVENT_ID}, ${event.tenantId}, ${event.type}, ${event.occurredAt}, ${event.resourceId}, ${event.version},
           ${JSON.stringify(event.data)}, ${logIdOf(event.tenantId)}, ${dispatchedAtFor(sql`${event.tenantId}`)}
    WHERE ${condition}`;
}

/**
 * One `group.user_added` / `group.user_removed` event per user of the tenant among `memberIds`
 * (ids in a chunk under D1's parameter limit, or a query yielding `id`s at that point of the
 * batch), with the user's ids read at write time, in the order the users were created (the
 * members are found by primary key, in id order). `base.data` holds tenant, version and group; the
 * user is added per row.
 */
export function insertMembershipChangesWhen(base: Omit<NewChangeEvent, "type">, type: "group.user_added" | "group.user_removed", memberIds: string[] | SQL, condition: SQL): SQL {
  const { user: _ignored, ...data } = base.data;
  const ids = Array.isArray(memberIds) ? sql.join(memberIds.map((id) => sql`${id}`), sql`, `) : memberIds;
  return sql`INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data, log_id, dispatched_at)
    SELECT ${EVENT_ID}, ${base.tenantId}, ${type}, ${base.occurredAt}, ${base.resourceId}, ${base.version},
           json_set(${JSON.stringify(data)}, '$.user', json_object('id', u.id, 'userName', u.user_name, 'externalId', u.external_id)),
           ${logIdOf(base.tenantId)}, ${dispatchedAtFor(sql`u.tenant_id`)}
    FROM users u
    WHERE u.tenant_id = ${base.tenantId} AND u.id IN (${ids}) AND ${condition}
    ORDER BY u.created_at, u.id`;
}

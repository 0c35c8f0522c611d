/** Custom attribute definitions (CONTROL_DB tenants.user_attributes) and the erasure of removed ones' values (tenant database). */
import { eq, sql } from "drizzle-orm";
import { tenants } from "../db/control/schema";
import { CUSTOM_SCHEMA_ID, type CustomAttribute } from "../attributes/core";
import type { TenantDb } from "../tenancy/tenant-db";
import { runBatch } from "./batch";
import { dispatchedAtFor, EVENT_ID, logIdOf } from "./change-events";
import type { ControlDb } from "./control";
import { userPayloadSql, type RoleScope } from "./roles";

export async function writeAttributes(db: ControlDb, tenantId: string, attributes: CustomAttribute[]): Promise<void> {
  await db.update(tenants).set({ userAttributes: attributes }).where(eq(tenants.id, tenantId));
}

/** Users per erasure batch: one batch of two statements each. */
export const ERASE_PAGE = 2_000;

/**
 * Erases the values of the attributes `names` from one page of the tenant's users (ids after
 * `after`), in one batch: a `user.updated` event per user that held any (its payload without them),
 * then the values removed (the extension object too when nothing is left in it) and the version
 * bumped. The last id of the page (null: none left) and how many users changed.
 */
export async function eraseAttributePage(db: TenantDb, scope: Pick<RoleScope, "tenantId" | "tenantSlug" | "catalogueDefault" | "at">, names: string[], after: string, limit = ERASE_PAGE) {
  const paths = names.map((n) => `$."${CUSTOM_SCHEMA_ID}".${n}`);
  const removedAll = sql`json_remove(u.data, ${sql.join(paths.map((p) => sql`${p}`), sql`, `)})`;
  const extension = `$."${CUSTOM_SCHEMA_ID}"`;
  const cleaned = sql`CASE WHEN ${removedAll} -> ${extension} = '{}' THEN json_remove(u.data, ${extension}) ELSE ${removedAll} END`;
  const holds = sql`(${sql.join(
    paths.map((p) => sql`json_type(u.data, ${p}) IS NOT NULL`),
    sql` OR `,
  )})`;
  const page = sql`SELECT id FROM users WHERE tenant_id = ${scope.tenantId} AND id > ${after} ORDER BY id LIMIT ${limit}`;
  // `+tenant_id`: the page's ids drive (primary key), not a walk of the tenant's index.
  const which = sql`+u.tenant_id = ${scope.tenantId} AND u.id IN (${page}) AND ${holds}`;
  const results = await runBatch(db, [
    sql`WITH c AS (
        SELECT u.id, u.tenant_id, u.user_name, u.external_id, u.display_name, ${cleaned} AS data, u.active, u.source, u.avatar_url, u.version, u.created_at,
               coalesce(u.role, ${scope.catalogueDefault}) AS role
        FROM users u WHERE ${which})
      INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data, log_id, dispatched_at)
      SELECT ${EVENT_ID}, c.tenant_id, 'user.updated', ${scope.at}, c.id, c.version + 1,
             json_object('tenant', ${scope.tenantSlug}, 'version', c.version + 1, 'user', ${userPayloadSql(sql`c.role`)}),
             ${logIdOf(scope.tenantId)}, ${dispatchedAtFor(sql`c.tenant_id`)}
      FROM c ORDER BY c.created_at, c.id`,
    // Counted by RETURNING: meta.changes also counts the text index's trigger writes.
    sql`UPDATE users AS u SET data = ${cleaned}, version = version + 1, updated_at = ${scope.at} WHERE ${which} RETURNING 1 AS changed`,
    sql`SELECT max(id) AS last FROM (${page})`,
  ]);
  return { last: (results[2]!.results[0] as { last: string | null } | undefined)?.last ?? null, changed: results[1]!.results.length };
}

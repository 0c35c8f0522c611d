/**
 * Effective roles in SQL (design.md §4f), so that every write that can change a role recomputes it
 * set-based, in its own batch, for exactly the users it touched: a Push Now of 5,000 members is one
 * statement pair, not 5,000 reads. The rule (src/roles/catalogue.ts effectiveRole): the first
 * mapping rule, in the admin's order, whose group holds the user; else the catalogue role the IdP
 * pushed (`users.idp_role`); else the tenant's default (role_settings), else the deployment's.
 *
 * A stored `role` of null (users older than migration 0012) reads as the deployment's default
 * role, here (`storedRole`) and in every payload built from a row, so nothing changes for them
 * until their computed role differs from it.
 */
import { asc, eq, sql, type SQL } from "drizzle-orm";
import { groups, roleRules, roleSettings } from "../db/tenant/schema";
import type { RoleMapping } from "../roles/catalogue";
import { SCHEMA } from "../scim/schema";
import { CUSTOM_SCHEMA_ID } from "../attributes/core";
import type { TenantDb } from "../tenancy/tenant-db";
import { runBatch, type BatchStatement } from "./batch";
import { dispatchedAtFor, EVENT_ID, logIdOf } from "./change-events";

/** What a role computation needs to know of its tenant and of the write it is part of. */
export interface RoleScope {
  tenantId: string;
  tenantSlug: string;
  /** The deployment's DEFAULT_ROLE (`[vars]`). */
  catalogueDefault: string;
  /** occurred_at of the role_changed events. */
  at: string;
}

/**
 * Where the rules come from: the tenant's stored ones, or a proposed mapping (a preview) as JSON
 * `[{"group","role"}]` in order. `without`: a group whose membership no longer counts (one being deleted).
 */
export type RulesSource = { kind: "stored"; without?: string } | { kind: "proposed"; mapping: RoleMapping };

/** The role a user's row stands for (null: the deployment's default). */
export const storedRole = (scope: Pick<RoleScope, "catalogueDefault">, column: SQL) => sql`coalesce(${column}, ${scope.catalogueDefault})`;

const tenantDefault = (scope: RoleScope, rules: RulesSource) =>
  rules.kind === "proposed"
    ? sql`${rules.mapping.default}`
    : sql`coalesce((SELECT default_role FROM role_settings WHERE tenant_id = ${scope.tenantId}), ${scope.catalogueDefault})`;

/** The role the first rule gives the user `userId` (a column), or null. Rules walk (tenant_id, position); each probes group_members by its primary key. */
function mappedRole(scope: RoleScope, userId: SQL, rules: RulesSource): SQL {
  if (rules.kind === "proposed") {
    if (!rules.mapping.rules.length) return sql`NULL`;
    const json = JSON.stringify(rules.mapping.rules);
    return sql`(SELECT json_extract(r.value, '$.role') FROM json_each(${json}) r
      JOIN group_members m ON m.group_id = json_extract(r.value, '$.group') AND m.member_id = ${userId} AND m.tenant_id = ${scope.tenantId}
      ORDER BY r.key LIMIT 1)`;
  }
  const without = rules.without ? sql` AND r.group_id <> ${rules.without}` : sql``;
  return sql`(SELECT r.role FROM role_rules r
      JOIN group_members m ON m.group_id = r.group_id AND m.member_id = ${userId} AND m.tenant_id = r.tenant_id
      WHERE r.tenant_id = ${scope.tenantId}${without} ORDER BY r.position LIMIT 1)`;
}

/** The effective role of the user whose row is `u` (columns `u.id`, `u.idp_role`), or with `idpRole` in place of the column. */
export function roleOf(scope: RoleScope, rules: RulesSource = { kind: "stored" }, alias = "u", idpRole?: string | null): SQL {
  const id = sql.raw(`${alias}.id`);
  const pushed = idpRole === undefined ? sql.raw(`${alias}.idp_role`) : sql`${idpRole}`;
  return sql`coalesce(${mappedRole(scope, id, rules)}, ${pushed}, ${tenantDefault(scope, rules)})`;
}

/** The role of a user being created (no group holds it yet): the pushed role, else the tenant's default. */
export const newUserRole = (scope: RoleScope, idpRole: string | null) => sql`coalesce(${idpRole}, ${tenantDefault(scope, { kind: "stored" })})`;

/** The role of the user `userId` as stored at this point of a batch (for payloads built before the write). */
export const currentRoleOf = (scope: RoleScope, userId: string) => storedRole(scope, sql`(SELECT role FROM users WHERE tenant_id = ${scope.tenantId} AND id = ${userId})`);

/**
 * After a user's own write that left it at `version` (and may have recomputed its role in the same
 * UPDATE): one `user.role_changed` event if its role is not `previousRole` (what it was before).
 */
export function insertRoleChangedAfterWrite(scope: RoleScope, userId: string, version: number, previousRole: string): SQL {
  const role = storedRole(scope, sql`u.role`);
  return sql`INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data, log_id, dispatched_at)
    SELECT ${EVENT_ID}, u.tenant_id, 'user.role_changed', ${scope.at}, u.id, u.version,
           json_object('tenant', ${scope.tenantSlug}, 'version', u.version, 'user', ${userPayloadSql(role, "u")}, 'role', ${role}, 'previousRole', ${previousRole}),
           ${logIdOf(scope.tenantId)}, ${dispatchedAtFor(sql`u.tenant_id`)}
    FROM users u WHERE u.tenant_id = ${scope.tenantId} AND u.id = ${userId} AND u.version = ${version} AND ${role} IS NOT ${previousRole}`;
}

/**
 * A user as change events carry it (src/events/payload.ts userPayload), built from the row `c` in
 * SQL, with `role`. Kept field for field equal to userPayload: the role-events test compares them.
 */
export function userPayloadSql(role: SQL, alias = "c"): SQL {
  const col = (name: string) => sql.raw(`${alias}.${name}`);
  return sql`json_object('id', ${col("id")}, 'userName', ${col("user_name")}, 'externalId', ${col("external_id")}, 'displayName', ${col("display_name")},
      'name', ${col("data")} -> '$.name', 'emails', coalesce(${col("data")} -> '$.emails', json('[]')),
      'active', json(CASE WHEN ${col("active")} THEN 'true' ELSE 'false' END), 'title', ${col("data")} ->> '$.title',
      'department', ${col("data")} ->> ${`$."${SCHEMA.enterpriseUser}".department`}, 'source', ${col("source")}, 'avatarUrl', ${col("avatar_url")}, 'role', ${role},
      'attributes', coalesce(${col("data")} -> ${`$."${CUSTOM_SCHEMA_ID}"`}, json('{}')))`;
}

/**
 * Recomputes the role of the tenant's users selected by `which` (a condition on `u` that names them
 * by id: `+tenant_id` keeps SQLite from walking the tenant's index instead of the primary key), for a batch,
 * when `guard` holds: one `user.role_changed` event `{user, role, previousRole}` per user whose role
 * changes (in creation order), then those users' `role` and `version` (their ETag moves, and a
 * writer remembering an older row re-reads it). Two statements, whatever the number of users.
 */
export function refreshRoles(scope: RoleScope, which: SQL, guard: SQL = sql`1`, rules: RulesSource = { kind: "stored" }): BatchStatement[] {
  const next = roleOf(scope, rules, "u");
  return [
    sql`WITH c AS (
        SELECT u.*, ${storedRole(scope, sql`u.role`)} AS old_role, ${next} AS new_role FROM users u
        WHERE +u.tenant_id = ${scope.tenantId} AND (${which}) AND ${guard})
      INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data, log_id, dispatched_at)
      SELECT ${EVENT_ID}, c.tenant_id, 'user.role_changed', ${scope.at}, c.id, c.version + 1,
             json_object('tenant', ${scope.tenantSlug}, 'version', c.version + 1, 'user', ${userPayloadSql(sql`c.new_role`)}, 'role', c.new_role, 'previousRole', c.old_role),
             ${logIdOf(scope.tenantId)}, ${dispatchedAtFor(sql`c.tenant_id`)}
      FROM c WHERE c.new_role IS NOT c.old_role ORDER BY c.created_at, c.id`,
    sql`UPDATE users AS u SET role = ${next}, version = version + 1
      WHERE +u.tenant_id = ${scope.tenantId} AND (${which}) AND ${guard} AND ${storedRole(scope, sql`u.role`)} IS NOT ${next} RETURNING 1 AS changed`,
  ];
}

/** Ids of a JSON array bound once (any number of them), as a condition on `u`. */
export const idsIn = (ids: string[] | string) => sql`u.id IN (SELECT value FROM json_each(${typeof ids === "string" ? ids : JSON.stringify(ids)}))`;

/** True when `groupId` has a mapping rule: membership writes of unmapped groups skip the role work. */
export const isMapped = (tenantId: string, groupId: string) => sql`EXISTS (SELECT 1 FROM role_rules WHERE tenant_id = ${tenantId} AND group_id = ${groupId})`;

/**
 * The role statements of a membership write of `groupId`: the users named (`ids`, a JSON array or
 * list) are recomputed if the write happened (`written`) and the group is mapped. The one hook
 * group writes call after their membership statements.
 */
export function refreshMembersRoles(scope: RoleScope | undefined, groupId: string, ids: string[] | string, written: SQL): BatchStatement[] {
  if (!scope || (Array.isArray(ids) && ids.length === 0)) return [];
  return refreshRoles(scope, idsIn(ids), sql`${written} AND ${isMapped(scope.tenantId, groupId)}`);
}

/**
 * The role statements of deleting `groupId`, to run after the group row is gone (`gone`) and
 * before its membership rows go: its members are recomputed as if they had left it, and its rules
 * are removed (a rule for a group that no longer exists can never apply).
 */
export function refreshForDeletedGroup(scope: RoleScope | undefined, groupId: string, gone: SQL): BatchStatement[] {
  if (!scope) return [];
  const members = sql`u.id IN (SELECT member_id FROM group_members WHERE tenant_id = ${scope.tenantId} AND group_id = ${groupId})`;
  return [
    ...refreshRoles(scope, members, sql`${gone} AND ${isMapped(scope.tenantId, groupId)}`, { kind: "stored", without: groupId }),
    sql`DELETE FROM role_rules WHERE tenant_id = ${scope.tenantId} AND group_id = ${groupId} AND ${gone}`,
  ];
}

/** The tenant's mapping as stored (the deployment's default and no rules when it has none). */
export async function getRoleMapping(db: TenantDb, tenantId: string, catalogueDefault: string): Promise<RoleMapping & { groups: Record<string, string> }> {
  const [settings, rules] = await db.batch([
    db.select().from(roleSettings).where(eq(roleSettings.tenantId, tenantId)),
    db
      .select({ group: roleRules.groupId, role: roleRules.role, displayName: groups.displayName })
      .from(roleRules)
      .leftJoin(groups, eq(groups.id, roleRules.groupId))
      .where(eq(roleRules.tenantId, tenantId))
      .orderBy(asc(roleRules.position)),
  ]);
  return {
    default: settings[0]?.defaultRole ?? catalogueDefault,
    rules: rules.map((r) => ({ group: r.group, role: r.role })),
    groups: Object.fromEntries(rules.map((r) => [r.group, r.displayName ?? ""])),
  };
}

/** Which of `ids` are groups of this tenant, with their names. */
export async function groupNames(db: TenantDb, tenantId: string, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map();
  const [rows] = await runBatch(db, [sql`SELECT id, display_name FROM groups WHERE tenant_id = ${tenantId} AND id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`]);
  return new Map((rows!.results as { id: string; display_name: string }[]).map((r) => [r.id, r.display_name]));
}

export interface RoleMove {
  from: string;
  to: string;
  users: number;
}

/**
 * How many users `mapping` would move, from which role to which (nothing is written): the tenant's
 * users a page at a time (ROLE_PAGE, along the (tenant_id, id) index), so no statement's work grows
 * with the tenant.
 */
export async function previewRoleMapping(db: TenantDb, scope: RoleScope, mapping: RoleMapping): Promise<RoleMove[]> {
  const totals = new Map<string, RoleMove>();
  for (let after = ""; ; ) {
    const page = sql`SELECT id FROM users WHERE tenant_id = ${scope.tenantId} AND id > ${after} ORDER BY id LIMIT ${ROLE_PAGE}`;
    const [moves, last] = await runBatch(db, [
      sql`SELECT old_role, new_role, count(*) AS n FROM (
          SELECT ${storedRole(scope, sql`u.role`)} AS old_role, ${roleOf(scope, { kind: "proposed", mapping })} AS new_role
          FROM users u WHERE +u.tenant_id = ${scope.tenantId} AND u.id IN (${page}))
        WHERE old_role IS NOT new_role GROUP BY old_role, new_role`,
      sql`SELECT max(id) AS last FROM (${page})`,
    ]);
    for (const r of moves!.results as { old_role: string; new_role: string; n: number }[]) {
      const key = `${r.old_role}\n${r.new_role}`;
      const move = totals.get(key) ?? { from: r.old_role, to: r.new_role, users: 0 };
      move.users += Number(r.n);
      totals.set(key, move);
    }
    const next = (last!.results[0] as { last: string | null } | undefined)?.last ?? null;
    if (next === null) break;
    after = next;
  }
  return [...totals.values()].sort((a, b) => b.users - a.users || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

/** Replaces the tenant's mapping, atomically (its roles are recomputed afterwards, page by page: applyMappingPage). */
export async function saveRoleMapping(db: TenantDb, tenantId: string, mapping: RoleMapping, at: string): Promise<void> {
  await runBatch(db, [
    sql`INSERT INTO role_settings (tenant_id, default_role, updated_at) VALUES (${tenantId}, ${mapping.default}, ${at})
      ON CONFLICT (tenant_id) DO UPDATE SET default_role = excluded.default_role, updated_at = excluded.updated_at`,
    sql`DELETE FROM role_rules WHERE tenant_id = ${tenantId}`,
    ...(mapping.rules.length
      ? [
          sql`INSERT INTO role_rules (tenant_id, position, group_id, role)
        SELECT ${tenantId}, r.key, json_extract(r.value, '$.group'), json_extract(r.value, '$.role') FROM json_each(${JSON.stringify(mapping.rules)}) r`,
        ]
      : []),
  ]);
}

/** Users per role-recompute page after a mapping save: each page is one batch of two statements. */
export const ROLE_PAGE = 2_000;

/**
 * Recomputes the roles of one page of the tenant's users (ids after `after`, in id order, along the
 * (tenant_id, id) index), in one batch; the last id of the page, or null when there were none.
 */
export async function applyMappingPage(db: TenantDb, scope: RoleScope, after: string, limit = ROLE_PAGE): Promise<{ last: string | null; changed: number }> {
  const page = sql`SELECT id FROM users WHERE tenant_id = ${scope.tenantId} AND id > ${after} ORDER BY id LIMIT ${limit}`;
  const results = await runBatch(db, [...refreshRoles(scope, sql`u.id IN (${page})`), sql`SELECT max(id) AS last FROM (${page})`]);
  const last = (results[2]!.results[0] as { last: string | null } | undefined)?.last ?? null;
  return { last, changed: results[1]!.results.length };
}

/** Counts of the tenant's users per effective role (the console's overview). */
export async function usersPerRole(db: TenantDb, scope: Pick<RoleScope, "tenantId" | "catalogueDefault">): Promise<Record<string, number>> {
  const [rows] = await runBatch(db, [sql`SELECT ${storedRole(scope, sql`role`)} AS role, count(*) AS n FROM users WHERE tenant_id = ${scope.tenantId} GROUP BY 1`]);
  return Object.fromEntries((rows!.results as { role: string; n: number }[]).map((r) => [r.role, Number(r.n)]));
}


/**
 * Role mappings of a tenant (design.md §4f): read, previewed (how many users a change would move,
 * nothing written) and saved (audited; every user's role recomputed, page by page, each page one
 * batch that also writes its `user.role_changed` events).
 */
import type { Env } from "../env";
import type { AdminActor } from "../lib/hono";
import { applyMappingPage, getRoleMapping, groupNames, previewRoleMapping, saveRoleMapping, type RoleMove, type RoleScope } from "../repo/roles";
import { ApiError } from "../scim/errors";
import { recordAdminAction } from "../services/audit";
import { tenantDb, type TenantRef } from "../tenancy/tenant-db";
import { checkMapping, type RoleCatalogue, type RoleMapping } from "./catalogue";
import { rolesOf } from "./config";

export interface MappingView {
  /** The deployment's catalogue, lowest first. */
  roles: string[];
  default: string;
  rules: { group: string; groupName: string | null; role: string }[];
}

const scopeOf = (tenant: TenantRef, catalogue: RoleCatalogue): RoleScope => ({
  tenantId: tenant.id,
  tenantSlug: tenant.slug,
  catalogueDefault: catalogue.defaultRole,
  at: new Date().toISOString(),
});

export async function readMapping(env: Env, tenant: TenantRef): Promise<MappingView> {
  const catalogue = rolesOf(env);
  const stored = await getRoleMapping(tenantDb(env, tenant), tenant.id, catalogue.defaultRole);
  return { roles: catalogue.roles, default: stored.default, rules: stored.rules.map((r) => ({ ...r, groupName: stored.groups[r.group] || null })) };
}

/** The mapping as sent, checked against the catalogue and the tenant's groups: 400 problem details naming what is wrong. */
async function validMapping(env: Env, tenant: TenantRef, input: unknown): Promise<{ mapping: RoleMapping; names: Map<string, string> }> {
  const checked = checkMapping(input, rolesOf(env));
  if (!checked.ok) throw new ApiError(400, checked.detail, { scimType: "invalidValue" });
  const names = await groupNames(tenantDb(env, tenant), tenant.id, checked.mapping.rules.map((r) => r.group));
  const unknown = checked.mapping.rules.findIndex((r) => !names.has(r.group));
  if (unknown >= 0) throw new ApiError(400, `rules[${unknown}].group: '${checked.mapping.rules[unknown]!.group}' is not a group of tenant '${tenant.slug}' (use the group's SCIM id).`, { scimType: "invalidValue" });
  return { mapping: checked.mapping, names };
}

export interface MappingPreview {
  /** Users whose role the change would change. */
  changes: number;
  moves: RoleMove[];
}

export async function previewMapping(env: Env, tenant: TenantRef, input: unknown): Promise<MappingPreview> {
  const { mapping } = await validMapping(env, tenant, input);
  const moves = await previewRoleMapping(tenantDb(env, tenant), scopeOf(tenant, rolesOf(env)), mapping);
  return { changes: moves.reduce((n, m) => n + m.users, 0), moves };
}

/** Saves the mapping and recomputes every user's role; audited with what changed and how many users moved. */
export async function saveMapping(env: Env, tenant: TenantRef, input: unknown, by: { actor: AdminActor; ip?: string | null }): Promise<MappingView & { changed: number }> {
  const { mapping, names } = await validMapping(env, tenant, input);
  const db = tenantDb(env, tenant);
  const catalogue = rolesOf(env);
  const scope = scopeOf(tenant, catalogue);
  await saveRoleMapping(db, tenant.id, mapping, scope.at);
  let changed = 0;
  // Bounded pages along the (tenant_id, id) index: 100,000 users are 50 batches, each two statements.
  for (let after = ""; ; ) {
    const page = await applyMappingPage(db, scope, after);
    changed += page.changed;
    if (page.last === null) break;
    after = page.last;
  }
  const rules = mapping.rules.map((r) => `${names.get(r.group)} → ${r.role}`).join(", ");
  await recordAdminAction(env, {
    action: "roles.mapping_update",
    actor: by.actor,
    tenant,
    ip: by.ip ?? null,
    status: 200,
    detail: `default ${mapping.default}; ${mapping.rules.length ? `rules: ${rules}` : "no rules"}; ${changed} user${changed === 1 ? "" : "s"} changed role`.slice(0, 500),
  });
  return { roles: catalogue.roles, default: mapping.default, rules: mapping.rules.map((r) => ({ ...r, groupName: names.get(r.group) ?? null })), changed };
}

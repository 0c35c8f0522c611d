/**
 * A tenant's custom attribute definitions (design.md §4f), over the admin API and the console.
 * Removing a definition erases its values from every user of the tenant (each such user gets a
 * `user.updated` event without them): a value nobody defines can be neither validated, filtered,
 * discovered nor exported, so keeping it would only keep personal data without a purpose.
 */
import type { Env } from "../env";
import type { AdminActor } from "../lib/hono";
import { eraseAttributePage, writeAttributes } from "../repo/attributes";
import { controlDb } from "../repo/control";
import { ApiError } from "../scim/errors";
import { forgetTenantTokens } from "../middleware/scim-auth";
import { recordAdminAction } from "../services/audit";
import { requireTenant } from "../services/tenants";
import { tenantDb, tenantRefOf, type TenantRef } from "../tenancy/tenant-db";
import { rolesOf } from "../roles/config";
import { checkAttributes, diffAttributes, type CustomAttribute } from "./core";

export interface AttributesView {
  schema: string;
  attributes: CustomAttribute[];
}

export async function readAttributes(env: Env, slug: string): Promise<AttributesView> {
  const tenant = await requireTenant(env.CONTROL_DB, slug);
  return { schema: "urn:ietf:params:scim:schemas:extension:thestorage:2.0:User", attributes: tenant.userAttributes };
}

export interface AttributesSaved extends AttributesView {
  added: string[];
  /** Definitions removed; their values were erased from every user. */
  removed: string[];
  /** Users who held a value of a removed definition (each got a `user.updated` event without it). */
  erasedFromUsers: number;
}

export async function saveAttributes(env: Env, slug: string, input: unknown, by: { actor: AdminActor; ip?: string | null }): Promise<AttributesSaved> {
  const checked = checkAttributes(input);
  if (!checked.ok) throw new ApiError(400, checked.detail, { scimType: "invalidValue" });
  const row = await requireTenant(env.CONTROL_DB, slug);
  const diff = diffAttributes(row.userAttributes, checked.attributes);
  if (!diff.ok) throw new ApiError(400, diff.detail, { scimType: "invalidValue" });
  const tenant: TenantRef = tenantRefOf({ ...row, userAttributes: checked.attributes });
  // Definitions first: from now on a push of a removed attribute is ignored like any unknown one.
  await writeAttributes(controlDb(env.CONTROL_DB), row.id, checked.attributes);
  forgetTenantTokens(row.id);
  let erased = 0;
  if (diff.removed.length) {
    const scope = { tenantId: row.id, tenantSlug: row.slug, catalogueDefault: rolesOf(env).defaultRole, at: new Date().toISOString() };
    const db = tenantDb(env, tenant);
    for (let after = ""; ; ) {
      const page = await eraseAttributePage(db, scope, diff.removed.map((a) => a.name), after);
      erased += page.changed;
      if (page.last === null) break;
      after = page.last;
    }
  }
  const parts = [
    `${checked.attributes.length} defined`,
    ...(diff.added.length ? [`added ${diff.added.map((a) => a.name).join(", ")}`] : []),
    ...(diff.removed.length ? [`removed ${diff.removed.map((a) => a.name).join(", ")} (values erased from ${erased} user${erased === 1 ? "" : "s"})`] : []),
  ];
  await recordAdminAction(env, { action: "attributes.update", actor: by.actor, tenant, ip: by.ip ?? null, status: 200, detail: parts.join("; ").slice(0, 500) });
  return {
    schema: "urn:ietf:params:scim:schemas:extension:thestorage:2.0:User",
    attributes: checked.attributes,
    added: diff.added.map((a) => a.name),
    removed: diff.removed.map((a) => a.name),
    erasedFromUsers: erased,
  };
}

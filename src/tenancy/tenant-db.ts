/**
 * The one module that knows how a tenant maps to a D1 database: by the binding name recorded on
 * the tenant row. Everything above it receives a drizzle instance and a tenant id. Moving to
 * Workers for Platforms or a pooled database later changes only this file.
 */
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import { tenantSchema } from "../db/tenant/schema";
import type { Env } from "../env";
import type { CustomAttribute } from "../attributes/core";

export type TenantDb = DrizzleD1Database<typeof tenantSchema> & { $client: D1Database };

/** What the request pipeline and the Durable Object carry about a tenant: enough to reach its data. */
export interface TenantRef {
  id: string;
  slug: string;
  database: string;
  /** The tenant's custom user attributes (src/attributes), when it defines any. */
  attributes?: CustomAttribute[];
}

/** The reference a tenant row (or another reference) gives the rest of the pipeline. */
export function tenantRefOf(tenant: TenantRef & { userAttributes?: CustomAttribute[] }): TenantRef {
  const attributes = tenant.userAttributes ?? tenant.attributes;
  return { id: tenant.id, slug: tenant.slug, database: tenant.database, ...(attributes?.length ? { attributes } : {}) };
}

export const DEFAULT_TENANT_BINDING = "TENANT_DEFAULT";
const BINDING_NAME = /^TENANT_[A-Z0-9_]{1,60}$/;

function isD1(value: unknown): value is D1Database {
  return typeof value === "object" && value !== null && typeof (value as D1Database).prepare === "function" && typeof (value as D1Database).batch === "function";
}

/** True when `name` is a tenant-data D1 binding of this Worker (validates admin input). */
export function isTenantBinding(env: Env, name: string): boolean {
  return BINDING_NAME.test(name) && isD1((env as unknown as Record<string, unknown>)[name]);
}

/** The tenant-data bindings this deployment has, for error messages and the admin console. */
export function tenantBindings(env: Env): string[] {
  return Object.keys(env).filter((name) => isTenantBinding(env, name)).sort();
}

/** The tenant's D1 binding itself. */
export function tenantD1(env: Env, tenant: Pick<TenantRef, "database">): D1Database {
  const binding = (env as unknown as Record<string, unknown>)[tenant.database];
  if (!BINDING_NAME.test(tenant.database) || !isD1(binding)) {
    // A tenant row naming a binding this deployment lacks: an operator error, not the client's.
    throw new Error(`tenant database binding ${tenant.database} is not configured`);
  }
  return binding;
}

/** The tenant's database; `through` wraps the binding (a request's metered, token-checking view of it). */
export function tenantDb(env: Env, tenant: Pick<TenantRef, "database">, through?: (binding: D1Database) => D1Database): TenantDb {
  const binding = tenantD1(env, tenant);
  return drizzle(through ? through(binding) : binding, { schema: tenantSchema }) as TenantDb;
}

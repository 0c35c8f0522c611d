/** What every SCIM handler needs from the request context, in one place. */
import type { Context } from "hono";
import { publicOrigin, scimEndpoint, type AppEnv } from "../../lib/hono";
import { RequestD1, type WriteVia } from "../../tenancy/request-storage";
import { tenantDb } from "../../tenancy/tenant-db";
import { rolesOf } from "../../roles/config";
import type { WriteContext } from "../../services/write-context";

type ScimContext = ReturnType<typeof buildScimContext>;

/** One per request: handlers and their response helpers share it. */
const built = new WeakMap<Context<AppEnv>, ScimContext>();

function buildScimContext(c: Context<AppEnv>) {
  const tenant = c.get("tenant");
  const actor = c.get("actor");
  const meter = c.get("storageMeter");
  const gate = c.get("tokenGate");
  const probe = c.get("tokenCopyProbe");
  // Metered for Server-Timing, and carrying the token check while it is still owed.
  const db = tenantDb(c.env, tenant, (binding) => new RequestD1(binding, meter, gate, probe).asD1());
  const baseUrl = scimEndpoint(publicOrigin(c.env, c.req.url), tenant.slug);
  const write: WriteContext = { db, tenant, actor, roles: rolesOf(c.env) };
  const via: WriteVia = { meter, gate, probe };
  return { tenant, actor, db, baseUrl, write, via };
}

export function scimContext(c: Context<AppEnv>): ScimContext {
  let context = built.get(c);
  if (!context) built.set(c, (context = buildScimContext(c)));
  return context;
}

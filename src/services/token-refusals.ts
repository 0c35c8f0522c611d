/**
 * A SCIM request refused because its token is no longer live (regenerated, or SCIM switched off)
 * is recorded in the tenant's provisioning log with the token's prefix, so an operator sees that
 * the IdP still sends an old token. At most one row per token prefix per minute: checked in this
 * isolate's memory first, then by the insert itself (across isolates). Runs off the response path;
 * an unknown or foreign token is never recorded (nothing ties it to a tenant), nor is one of a
 * tenant being deleted (its log is being erased: a row written now would outlive it).
 */
import type { Env } from "../env";
import { controlDb, findToken } from "../repo/control";
import { insertEventUnlessRecent } from "../repo/events";
import { tenantDb, type TenantRef } from "../tenancy/tenant-db";
import { recordRefusedTokenHealth } from "../guardrails/health";

export const REFUSED_TOKEN_ACTION = "scim.token_refused";
const INTERVAL_MS = 60_000;
const MAX_REMEMBERED = 10_000;

/** `tenant id prefix` → when this isolate last recorded it. */
const lastRecorded = new Map<string, number>();

export interface RefusedToken {
  tenant: TenantRef;
  tokenPrefix: string;
  digest: string;
  /**
   * When CONTROL_DB says it was revoked, if the refusal came from there. Otherwise (a refusal by
   * the tenant's token copy) CONTROL_DB is asked first, which also says whether the tenant is
   * being deleted: only on this path, never on a live token's.
   */
  revokedAt?: string;
  /** e.g. `GET /Users`. */
  request: string;
}

/** The refusal's log row, or null when this isolate recorded one for the token within the minute. */
export function recordRefusedToken(env: Env, refused: RefusedToken, now = Date.now()): Promise<void> | null {
  const key = `${refused.tenant.id} ${refused.tokenPrefix}`;
  if (now - (lastRecorded.get(key) ?? 0) < INTERVAL_MS) return null;
  if (lastRecorded.size >= MAX_REMEMBERED) lastRecorded.clear();
  lastRecorded.set(key, now);
  return write(env, refused, now).catch(() => {
    lastRecorded.delete(key); // not recorded: the next refusal tries again
  });
}

async function write(env: Env, refused: RefusedToken, now: number): Promise<void> {
  let revokedAt = refused.revokedAt;
  if (revokedAt === undefined) {
    const found = await findToken(controlDb(env.CONTROL_DB), refused.tenant.slug, refused.digest);
    if (!found?.token.revokedAt) return; // the tenant is being deleted: its log is being erased
    revokedAt = found.token.revokedAt;
  }
  const detail =
    `Refused ${refused.request}: SCIM token ${refused.tokenPrefix}… was revoked at ${revokedAt} (regenerated, or SCIM switched off). ` +
    `The identity provider still sends it: paste the current token into its provisioning settings. At most one such row per token per minute.`;
  await insertEventUnlessRecent(
    tenantDb(env, refused.tenant),
    {
      tenantId: refused.tenant.id,
      at: new Date(now).toISOString(),
      action: REFUSED_TOKEN_ACTION,
      resourceType: "Tenant",
      resourceId: refused.tenant.id,
      target: refused.tenant.slug,
      outcome: "failure",
      status: 401,
      detail,
      tokenPrefix: refused.tokenPrefix,
      actor: null,
    },
    new Date(now - INTERVAL_MS).toISOString(),
  );
  // Connection health: "the IdP still uses the token revoked at …" (design.md §4g).
  await recordRefusedTokenHealth(env, refused.tenant, refused.tokenPrefix, new Date(now).toISOString());
}

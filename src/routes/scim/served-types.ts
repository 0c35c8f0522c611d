/** The resource types a tenant's discovery documents describe (src/scim/discovery.ts ServedTypes). */
import type { Context } from "hono";
import type { AppEnv } from "../../lib/hono";
import { ROLE_RESOURCE } from "../../roles/scim";
import { GROUP_RESOURCE, USER_RESOURCE, type ResourceTypeDef } from "../../scim/schema";

export async function servedTypes(_c: Context<AppEnv>): Promise<readonly ResourceTypeDef[]> {
  return [USER_RESOURCE, GROUP_RESOURCE, ROLE_RESOURCE];
}

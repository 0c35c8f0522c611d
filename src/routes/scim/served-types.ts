/** The resource types a tenant's discovery documents describe (src/scim/discovery.ts ServedTypes). */
import type { Context } from "hono";
import type { AppEnv } from "../../lib/hono";
import { ROLE_RESOURCE } from "../../roles/scim";
import { GROUP_RESOURCE, type ResourceTypeDef } from "../../scim/schema";
import { userTypeFor } from "../../attributes/core";

/** User with this tenant's own extension schema (its custom attributes: no other tenant's), Group, Role. */
export async function servedTypes(c: Context<AppEnv>): Promise<readonly ResourceTypeDef[]> {
  return [userTypeFor(c.get("tenant").attributes), GROUP_RESOURCE, ROLE_RESOURCE];
}

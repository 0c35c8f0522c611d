/** The Hono environment shared by every router: bindings plus what middleware puts on the context. */
import { Hono } from "hono";
import type { Env } from "../env";
import type { TenantRef } from "../tenancy/tenant-db";

/** Who made a SCIM request: recorded on every provisioning event and as the origin badge of created users. */
export interface Actor {
  tokenPrefix: string;
  provider: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    tenant: TenantRef;
    actor: Actor;
  };
}

export function createRouter() {
  return new Hono<AppEnv>();
}

/** The public origin for URLs we hand out (SCIM endpoint, meta.location). */
export function publicOrigin(env: Env, requestUrl: string): string {
  const configured = env.PUBLIC_BASE_URL?.trim();
  return (configured ? configured : new URL(requestUrl).origin).replace(/\/+$/, "");
}

export function scimEndpoint(origin: string, slug: string): string {
  return `${origin}/api/${slug}/scim/v2`;
}

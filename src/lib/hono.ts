/** The Hono environment shared by every router: bindings plus what middleware puts on the context. */
import { Hono } from "hono";
import type { Env } from "../env";
import type { AdminActor } from "../db/tenant/schema";
import type { StorageMeter } from "./storage-meter";
import type { CopyProbe, TokenGate } from "../tenancy/request-storage";
import type { TenantRef } from "../tenancy/tenant-db";

export type { AdminActor };

/** Who made a write: recorded on every provisioning event and as the origin badge of created users. */
export interface Actor {
  tokenPrefix: string;
  provider: string;
  /** Set for admin actions (the console, the admin API, a setup-link session): who, for the audit. */
  admin?: AdminActor;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    tenant: TenantRef;
    actor: Actor;
    /** SCIM requests: the storage calls on the request's path, for Server-Timing. */
    storageMeter: StorageMeter;
    /** SCIM requests authenticated from this isolate's cache: the token check still owed (null: already verified). */
    tokenGate: TokenGate | null;
    /** SCIM requests CONTROL_DB authenticated: learns whether the token has its copy (null: warm). */
    tokenCopyProbe: CopyProbe | null;
    /** Who is calling an admin route (/admin/v1, the console): set by admin authentication. */
    adminActor: AdminActor;
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

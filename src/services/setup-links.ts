/**
 * Setup links (design.md §4c): the operator hands a customer's IT admin a single-use URL that opens
 * the console scoped to that one tenant. The URL carries 32 random bytes; only their SHA-256 digest
 * is stored, so the database cannot give a link back.
 */
import { z } from "zod";
import type { Env } from "../env";
import { recordAdminAction } from "./audit";
import { base64url, sha256Hex } from "../lib/crypto";
import type { AdminActor } from "../lib/hono";
import { controlDb } from "../repo/control";
import { claimSetupLink, findSetupLink, getTenantById, insertSetupLink } from "../repo/setup-links";
import type { TenantRow } from "../db/control/schema";
import type { TenantRef } from "../tenancy/tenant-db";

export const SETUP_PATH = "/admin/setup/";
export const DEFAULT_MINUTES = 5;
export const MAX_MINUTES = 60;
/** The return URL rides in the session cookie, which browsers cap at 4 KB. */
export const MAX_RETURN_URL = 1024;
export const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** https anywhere; http only to this machine (a TheStorage app running locally). */
export function isAllowedReturnUrl(value: string): boolean {
  if (value.length > MAX_RETURN_URL || !URL.canParse(value)) return false;
  const url = new URL(value);
  if (url.href.length > MAX_RETURN_URL) return false;
  if (url.username || url.password) return false;
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]");
}

export const createSetupLinkInput = z.object({
  expiresInMinutes: z
    .number({ error: `must be a whole number of minutes from 1 to ${MAX_MINUTES}` })
    .int(`must be a whole number of minutes from 1 to ${MAX_MINUTES}`)
    .min(1, `must be a whole number of minutes from 1 to ${MAX_MINUTES}`)
    .max(MAX_MINUTES, `must be a whole number of minutes from 1 to ${MAX_MINUTES}`)
    .default(DEFAULT_MINUTES),
  returnUrl: z
    .string({ error: "must be a URL string" })
    .refine(isAllowedReturnUrl, `must be an absolute https:// URL (http:// only for localhost or 127.0.0.1), at most ${MAX_RETURN_URL} characters, without credentials`)
    // Stored and rendered in its normalised (ASCII, percent-encoded) form.
    .transform((value) => new URL(value).href)
    .optional(),
});
export type CreateSetupLinkInput = z.infer<typeof createSetupLinkInput>;

export interface CreatedSetupLink {
  id: string;
  url: string;
  expiresAt: string;
}

/** Creates a link and records the action (who created it, from which IP) in the audit trail and the tenant's log. */
export async function createSetupLink(env: Env, tenant: TenantRef, input: CreateSetupLinkInput, by: { actor: AdminActor; ip?: string | null }, origin: string, now = Date.now()): Promise<CreatedSetupLink> {
  const actor = by.actor;
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const id = crypto.randomUUID();
  const expiresAt = new Date(now + input.expiresInMinutes * 60_000).toISOString();
  await insertSetupLink(controlDb(env.CONTROL_DB), {
    id,
    tenantId: tenant.id,
    digest: await sha256Hex(secret),
    createdAt: new Date(now).toISOString(),
    expiresAt,
    usedAt: null,
    returnUrl: input.returnUrl ?? null,
    createdBy: { ...actor },
  });
  await recordAdminAction(env, { action: "setup_link.create", actor, tenant, status: 201, detail: `Setup link ${id} created, expires ${expiresAt}.`, ip: by.ip ?? null });
  return { id, url: `${origin}${SETUP_PATH}${secret}`, expiresAt };
}

export type Redemption =
  | { ok: true; linkId: string; tenant: TenantRow; returnUrl: string | null }
  | { ok: false; reason: "unknown" | "used" | "expired"; linkId?: string; tenant?: TenantRow | null; returnUrl: string | null };

/** Redeems the link whose secret is `secret`: at most once, before it expires, for a tenant that still exists. */
export async function redeemSetupLink(env: Env, secret: string, now = Date.now()): Promise<Redemption> {
  if (!SECRET_PATTERN.test(secret)) return { ok: false, reason: "unknown", returnUrl: null };
  const db = controlDb(env.CONTROL_DB);
  const digest = await sha256Hex(secret);
  const claimed = await claimSetupLink(db, digest, new Date(now).toISOString());
  if (claimed) {
    const tenant = await getTenantById(db, claimed.tenantId);
    if (tenant) return { ok: true, linkId: claimed.id, tenant, returnUrl: claimed.returnUrl };
    return { ok: false, reason: "unknown", linkId: claimed.id, returnUrl: claimed.returnUrl };
  }
  const link = await findSetupLink(db, digest);
  if (!link) return { ok: false, reason: "unknown", returnUrl: null };
  return { ok: false, reason: link.usedAt ? "used" : "expired", linkId: link.id, tenant: await getTenantById(db, link.tenantId), returnUrl: link.returnUrl };
}

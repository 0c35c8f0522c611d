/** Webhook endpoints of a tenant (design.md §4b), shared by the admin API and the console. */
import { z } from "zod";
import type { WebhookDeliveryRow, WebhookRow } from "../db/tenant/schema";
import type { Env } from "../env";
import { enqueueRedelivery, enqueueTestEvent, forgetNoWebhooksHint } from "../events/dispatch";
import { encryptSecret, generateWebhookSecret, importSecretKey, SecretKeyError } from "../events/secret-box";
import { CHANGE_EVENT_TYPES } from "../events/catalogue";
import { loopbackAllowed, webhookUrlProblem } from "../events/url-rules";
import { hex } from "../lib/crypto";
import type { AdminActor } from "../lib/hono";
import { deleteWebhook, getChangeEvent, getWebhook, insertWebhookUnderLimit, listWebhooks, replaceSecret } from "../repo/webhooks";
import { ApiError } from "../scim/errors";
import { tenantDb, type TenantRef } from "../tenancy/tenant-db";
import { recordAdminAction } from "./audit";

export const MAX_WEBHOOKS_PER_TENANT = 10;

export const createWebhookInput = z.object({
  url: z.string().trim().min(1, "give the https:// URL that receives the events"),
  events: z
    .array(z.string())
    .min(1, "list at least one event type, or leave events out to receive every type")
    .max(CHANGE_EVENT_TYPES.length * 2)
    .nullish(),
});
export type CreateWebhookInput = z.infer<typeof createWebhookInput>;

export function webhookView(row: WebhookRow) {
  return { id: row.id, url: row.url, events: row.events, createdAt: row.createdAt, secretRotatedAt: row.secretRotatedAt };
}

export function deliveryView(row: WebhookDeliveryRow) {
  return {
    eventId: row.eventId,
    type: row.type,
    attempt: row.attempt,
    status: row.status,
    at: row.at,
    httpStatus: row.httpStatus ?? undefined,
    error: row.error ?? undefined,
    nextAttemptAt: row.nextAttemptAt ?? undefined,
  };
}

/** The AES-GCM key for secrets at rest; a 503 that says what to set when it is missing or malformed. */
async function secretKey(env: Env): Promise<CryptoKey> {
  try {
    return await importSecretKey(env.WEBHOOK_SECRET_KEY);
  } catch (error) {
    if (!(error instanceof SecretKeyError)) throw error;
    throw new ApiError(
      503,
      `Webhooks are unavailable: ${error.message} Set it to base64 of 32 random bytes (\`openssl rand -base64 32 | wrangler secret put WEBHOOK_SECRET_KEY\`; locally, npm start writes it to .dev.vars).`,
    );
  }
}

/** Validates URL (SSRF rules) and event types; throws a 400 that says why. */
function validateWebhookInput(env: Env, input: CreateWebhookInput): { url: string; events: string[] | null } {
  const problem = webhookUrlProblem(input.url, loopbackAllowed(env));
  if (problem) throw new ApiError(400, `url: ${problem}`, { scimType: "invalidValue" });
  if (!input.events) return { url: input.url, events: null };
  const unknown = input.events.filter((type) => !(CHANGE_EVENT_TYPES as readonly string[]).includes(type));
  if (unknown.length) {
    throw new ApiError(400, `events: unknown event type${unknown.length > 1 ? "s" : ""} ${unknown.map((t) => `'${t}'`).join(", ")}. Valid types: ${CHANGE_EVENT_TYPES.join(", ")}.`, {
      scimType: "invalidValue",
    });
  }
  return { url: input.url, events: [...new Set(input.events)] };
}

function newWebhookId(): string {
  return `wh_${hex(crypto.getRandomValues(new Uint8Array(12)))}`;
}

/** Who asked for an admin action, recorded with it in the audit trail and the tenant's log. */
export interface AdminCaller {
  actor: AdminActor;
  ip?: string | null;
}

/**
 * Whose webhook it is: one added in a customer IT admin's setup-link session is theirs; every other
 * (admin API, operator console) is TheStorage's own integration, which that session may not change.
 */
export function webhookOwner(actor: AdminActor): WebhookRow["createdBy"] {
  return actor.type === "setup-link" ? "customer" : "operator";
}

function audited(env: Env, by: AdminCaller, tenant: TenantRef, action: string, status: number, detail: string): Promise<void> {
  return recordAdminAction(env, { action, actor: by.actor, tenant, status, detail, ip: by.ip ?? null });
}

/** Creates a webhook; the returned `secret` exists only in this answer (stored encrypted). */
export async function createWebhook(env: Env, tenant: TenantRef, input: CreateWebhookInput, by: AdminCaller): Promise<{ row: WebhookRow; secret: string }> {
  const { url, events } = validateWebhookInput(env, input);
  const key = await secretKey(env);
  const id = newWebhookId();
  const secret = generateWebhookSecret();
  const row: WebhookRow = { id, tenantId: tenant.id, url, events, secretCiphertext: await encryptSecret(key, secret, id), createdAt: new Date().toISOString(), secretRotatedAt: null, createdBy: webhookOwner(by.actor) };
  if (!(await insertWebhookUnderLimit(tenantDb(env, tenant), row, MAX_WEBHOOKS_PER_TENANT))) {
    throw new ApiError(409, `Tenant '${tenant.slug}' already has ${MAX_WEBHOOKS_PER_TENANT} webhooks, the most allowed. Remove one first.`);
  }
  forgetNoWebhooksHint(tenant.id); // this isolate's next writes dispatch to it at once
  await audited(env, by, tenant, "webhook.create", 201, `Webhook ${row.id} added: ${row.url} (${row.events ? row.events.join(", ") : "all events"})`);
  return { row, secret };
}

function noSuchWebhook(tenant: TenantRef, id: string): ApiError {
  return new ApiError(404, `No webhook '${id}' in tenant '${tenant.slug}'.`);
}

export async function requireWebhook(env: Env, tenant: TenantRef, id: string): Promise<WebhookRow> {
  const row = await getWebhook(tenantDb(env, tenant), tenant.id, id);
  if (!row) throw noSuchWebhook(tenant, id);
  return row;
}

export function tenantWebhooks(env: Env, tenant: TenantRef): Promise<WebhookRow[]> {
  return listWebhooks(tenantDb(env, tenant), tenant.id);
}

/** One DELETE … RETURNING: the removed webhook (for the answer) without reading it first. */
export async function removeWebhook(env: Env, tenant: TenantRef, id: string, by: AdminCaller): Promise<WebhookRow> {
  const row = await deleteWebhook(tenantDb(env, tenant), tenant.id, id);
  if (!row) throw noSuchWebhook(tenant, id);
  await audited(env, by, tenant, "webhook.delete", 204, `Webhook ${row.id} removed: ${row.url}`);
  return row;
}

/** A new secret; the old one stops signing at once (deliveries decrypt the stored secret per attempt). */
export async function rotateWebhookSecret(env: Env, tenant: TenantRef, id: string, by: AdminCaller): Promise<{ row: WebhookRow; secret: string }> {
  const key = await secretKey(env);
  const secret = generateWebhookSecret();
  const row = await replaceSecret(tenantDb(env, tenant), tenant.id, id, await encryptSecret(key, secret, id), new Date().toISOString());
  if (!row) throw noSuchWebhook(tenant, id);
  await audited(env, by, tenant, "webhook.rotate_secret", 201, `Webhook ${row.id} secret rotated: ${row.url}`);
  return { row, secret };
}

export async function sendTestEvent(env: Env, tenant: TenantRef, id: string): Promise<{ eventId: string }> {
  await requireWebhook(env, tenant, id);
  const event = await enqueueTestEvent(env, tenant, id);
  return { eventId: event.id };
}

/** Sends one change event to one webhook again, with its original id (receivers dedupe on it). */
export async function resendEvent(env: Env, tenant: TenantRef, webhookId: string, eventId: string): Promise<void> {
  // Both reads at once; a missing webhook is still the error reported first.
  const [, row] = await Promise.all([requireWebhook(env, tenant, webhookId), getChangeEvent(tenantDb(env, tenant), tenant.id, eventId)]);
  if (!row) throw new ApiError(404, `No change event '${eventId}' in tenant '${tenant.slug}' (it may have passed the retention period).`);
  await enqueueRedelivery(env, tenant, webhookId, row);
}

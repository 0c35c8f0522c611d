/** Standard Webhooks signing (standardwebhooks.com): the headers of one delivery attempt. */
import { bytesToBase64 } from "../lib/crypto";
import { secretKeyBytes } from "./secret-box";
import type { DeliveryEvent } from "./types";

/** The request body: `{type, timestamp, data}`. */
export function deliveryBody(event: DeliveryEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt, data: event.data });
}

/** `v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`. */
export async function sign(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secretKeyBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${bytesToBase64(mac)}`;
}

export async function signedHeaders(secret: string, id: string, body: string, now = new Date()): Promise<Record<string, string>> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    "Content-Type": "application/json",
    "User-Agent": "TheStorage-SCIM-Webhooks/1",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": await sign(secret, id, timestamp, body),
  };
}

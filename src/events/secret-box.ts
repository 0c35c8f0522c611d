/**
 * Webhook signing secrets: minted as `whsec_<base64 of 32 random bytes>` (the Standard Webhooks
 * form) and stored encrypted with AES-GCM under WEBHOOK_SECRET_KEY, as `v1.<iv>.<ciphertext>`
 * (base64url). The webhook id is the additional authenticated data, so a ciphertext copied onto
 * another webhook row does not decrypt. Pure Web Crypto, no bindings.
 */
import { base64ToBytes, base64url, bytesToBase64 } from "../lib/crypto";

export const SECRET_PREFIX = "whsec_";

export class SecretKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretKeyError";
  }
}

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + bytesToBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** The HMAC key bytes of a `whsec_…` secret. */
export function secretKeyBytes(secret: string): Uint8Array {
  return base64ToBytes(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
}

/** Imports WEBHOOK_SECRET_KEY; throws SecretKeyError (with what to do) when it is missing or not 32 bytes of base64. */
export async function importSecretKey(raw: string | undefined): Promise<CryptoKey> {
  const value = raw?.trim();
  if (!value) throw new SecretKeyError("WEBHOOK_SECRET_KEY is not set.");
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(value);
  } catch {
    throw new SecretKeyError("WEBHOOK_SECRET_KEY is not valid base64.");
  }
  if (bytes.length !== 32) throw new SecretKeyError(`WEBHOOK_SECRET_KEY decodes to ${bytes.length} bytes; it must be 32.`);
  return crypto.subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function encryptSecret(key: CryptoKey, secret: string, webhookId: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(webhookId) }, key, new TextEncoder().encode(secret));
  return `v1.${base64url(iv)}.${base64url(ciphertext)}`;
}

export async function decryptSecret(key: CryptoKey, box: string, webhookId: string): Promise<string> {
  const [version, iv, ciphertext] = box.split(".");
  if (version !== "v1" || !iv || !ciphertext) throw new Error("unknown webhook secret format");
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: base64ToBytes(iv), additionalData: new TextEncoder().encode(webhookId) }, key, base64ToBytes(ciphertext));
  return new TextDecoder().decode(plain);
}

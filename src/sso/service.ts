/**
 * Sign-in through the customer's IdP over OpenID Connect (design.md §4e): the connection (admin API
 * and console), start / initiate / callback, and ticket redemption (admin API and RPC).
 *
 * Storage cost: `start` reads tenant and connection in one query (the attempt travels sealed in a
 * cookie of the browser); the callback reads them again and then writes the whole sign-in in one
 * tenant-database batch: two round trips besides the IdP's token call.
 */
import { z } from "zod";
import type { SsoConnectionRow, TenantRow } from "../db/control/schema";
import type { Env } from "../env";
import { dispatchPending } from "../events/dispatch";
import { userPayload } from "../events/payload";
import { rolesOf } from "../roles/config";
import { isDeactivationHeld } from "../guardrails/app-view";
import { decryptSecret, encryptSecret, importSecretKey, SecretKeyError } from "../events/secret-box";
import { loopbackAllowed } from "../events/url-rules";
import { base64ToBytes, base64url, sha256Hex } from "../lib/crypto";
import type { AdminActor } from "../lib/hono";
import type { StorageMeter } from "../lib/storage-meter";
import { controlDb } from "../repo/control";
import { insertEvent } from "../repo/events";
import { deleteConnection, getConnection, insertRefusalUnlessRecent, redeemTicket, signInBatch, tenantForSignIn, upsertConnection, type SignInWrite, type TenantSignIn } from "../repo/sso";
import { ApiError } from "../scim/errors";
import { recordAdminAction } from "../services/audit";
import { createUser } from "../services/users";
import { tenantDb, tenantRefOf, type TenantRef } from "../tenancy/tenant-db";
import {
  attemptExpiresAt,
  attemptProblem,
  attemptSealContext,
  callbackPath,
  connectionUrls,
  decide,
  formatTicket,
  issuerProblem,
  jitUserBody,
  matchKeys,
  parseReturnOrigins,
  providerOfIssuer,
  returnToProblem,
  ticketTenant,
  TICKET_TTL_MS,
  type Attempt,
  type IdClaims,
  type MatchKeys,
  type RefusalReason,
  withTicket,
} from "./core";
import { authorizationUrl, completeSignIn, discoverIssuer, IssuerProblem, newAttemptSecrets, SignInFailure, type IssuerMetadata } from "./oidc";
import { samlClaims, samlMatchKeys } from "./saml/claims";
import { certificateFingerprint, samlIdpFromMetadata, samlIdpFromValues, SamlConfigProblem, toPem, type SamlIdp } from "./saml/metadata";
import { newSigningCredentials } from "./saml/credentials";
import { authnRequestXml, newRequestId, redirectBindingUrl } from "./saml/request";
import { decodePostedResponse, SamlRejected, verifySamlResponse } from "./saml/verify";

// ── Keys ────────────────────────────────────────────────────────────────────────────────────────

/** The AES-GCM key of secrets at rest (WEBHOOK_SECRET_KEY, shared with webhook secrets); 503 saying what to set. */
async function secretKey(env: Env): Promise<CryptoKey> {
  try {
    return await importSecretKey(env.WEBHOOK_SECRET_KEY);
  } catch (error) {
    if (!(error instanceof SecretKeyError)) throw error;
    throw new ApiError(503, `Single sign-on is unavailable: ${error.message} Set it to base64 of 32 random bytes (\`openssl rand -base64 32 | wrangler secret put WEBHOOK_SECRET_KEY\`; locally, npm start writes it to .dev.vars).`);
  }
}

const secretContext = (tenantId: string) => `sso:${tenantId}`;

/**
 * The key attempt cookies are sealed with: derived (HKDF-SHA-256) from WEBHOOK_SECRET_KEY, so that
 * what anyone can make the Worker encrypt (an attempt per `start`) never uses the key that guards
 * stored secrets.
 */
export async function attemptKey(env: Env): Promise<CryptoKey> {
  await secretKey(env); // the same 503 when the secret is missing or malformed
  const hkdf = await crypto.subtle.importKey("raw", base64ToBytes(env.WEBHOOK_SECRET_KEY!.trim()), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: new TextEncoder().encode("thestorage sso attempt v1") },
    hkdf,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export function returnOrigins(env: Env): string[] {
  return parseReturnOrigins(env.SIGN_IN_RETURN_ORIGINS);
}

// ── The connection ─────────────────────────────────────────────────────────────────────────────

export const connectionInput = z.object({
  protocol: z.string({ error: 'protocol is required: "oidc" or "saml"' }),
  issuer: z.string().trim().min(1, "give the IdP's issuer URL (Okta: https://<your-org>.okta.com)").max(2048).optional(),
  clientId: z.string().trim().min(1, "give the client ID of the app in your IdP").max(500).optional(),
  clientSecret: z.string().min(1, "give the client secret of the app in your IdP").max(2000).optional(),
  jit: z.boolean().optional(),
  defaultReturnTo: z.string().max(2048).nullish(),
  // SAML: the IdP's metadata XML, or its three values pasted by hand.
  metadataXml: z.string().max(512 * 1024, "the metadata is larger than 512 KB").optional(),
  idpEntityId: z.string().max(1024).optional(),
  idpSsoUrl: z.string().max(2048).optional(),
  idpCertificate: z.string().max(64 * 1024).optional(),
  allowIdpInitiated: z.boolean().optional(),
});
export type ConnectionInput = z.infer<typeof connectionInput>;

/**
 * A SAML connection's settings, kept in the connection row's metadata column. The private key our
 * AuthnRequests are signed with is in the client-secret column, encrypted like a client secret.
 */
export interface SamlSettings extends SamlIdp {
  allowIdpInitiated: boolean;
  /** Our request-signing certificate (base64 DER), published in our SP metadata. */
  spCertificate: string;
}

export interface ConnectionView extends ReturnType<typeof connectionUrls> {
  protocol: "oidc" | "saml";
  enabled: true;
  /** OIDC */
  issuer?: string;
  clientId?: string;
  /** SAML */
  idpEntityId?: string;
  idpSsoUrl?: string;
  idpCertificates?: { sha256Fingerprint: string }[];
  allowIdpInitiated?: boolean;
  spCertificate?: string;
  jit: boolean;
  defaultReturnTo: string | null;
  createdAt: string;
  updatedAt: string;
}

export function connectionView(origin: string, slug: string, row: SsoConnectionRow): ConnectionView {
  const saml = row.protocol === "saml" ? (row.metadata as unknown as SamlSettings) : null;
  return {
    protocol: row.protocol,
    enabled: true,
    ...(saml
      ? {
          idpEntityId: row.issuer,
          idpSsoUrl: saml.idpSsoUrl,
          idpCertificates: saml.certificates.map((c) => ({ sha256Fingerprint: certificateFingerprint(c) })),
          allowIdpInitiated: saml.allowIdpInitiated,
          spCertificate: toPem(saml.spCertificate),
        }
      : { issuer: row.issuer, clientId: row.clientId }),
    jit: row.jit,
    defaultReturnTo: row.defaultReturnTo,
    ...connectionUrls(origin, slug),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

interface AdminCaller {
  actor: AdminActor;
  ip?: string | null;
}

function invalid(field: string, detail: string): ApiError {
  return new ApiError(400, `${field}: ${detail}`, { scimType: "invalidValue" });
}

/**
 * Saves the tenant's OIDC connection after reading the issuer's discovery document and JWKS (a 400
 * saying what is wrong when they cannot be read). A save without `clientSecret` keeps the stored one.
 */
export async function saveConnection(env: Env, tenant: TenantRef, input: ConnectionInput, by: AdminCaller): Promise<SsoConnectionRow> {
  if (input.protocol !== "oidc" && input.protocol !== "saml") throw invalid("protocol", `'${input.protocol}' is not a sign-in protocol; use "oidc" or "saml".`);
  if (input.defaultReturnTo) {
    const returnProblem = returnToProblem(input.defaultReturnTo, returnOrigins(env), loopbackAllowed(env));
    if (returnProblem) throw invalid("defaultReturnTo", returnProblem);
  }
  if (input.protocol === "saml") return saveSamlConnection(env, tenant, input, by);
  if (!input.issuer) throw invalid("issuer", "give the IdP's issuer URL (Okta: https://<your-org>.okta.com; Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0)");
  if (!input.clientId) throw invalid("clientId", "give the client ID of the app in your IdP");
  const problem = issuerProblem(input.issuer, loopbackAllowed(env));
  if (problem) throw invalid("issuer", problem);
  const db = controlDb(env.CONTROL_DB);
  const key = await secretKey(env);
  const existing = input.clientSecret ? null : await getConnection(db, tenant.id);
  if (!input.clientSecret && !existing) throw invalid("clientSecret", "give the client secret of the app in your IdP");
  let meta: IssuerMetadata;
  try {
    meta = await discoverIssuer(input.issuer, loopbackAllowed(env));
  } catch (error) {
    if (error instanceof IssuerProblem) throw invalid("issuer", error.message);
    throw error;
  }
  const now = new Date().toISOString();
  const row = await upsertConnection(db, {
    tenantId: tenant.id,
    protocol: "oidc",
    issuer: meta.issuer,
    clientId: input.clientId,
    clientSecretCiphertext: input.clientSecret ? await encryptSecret(key, input.clientSecret, secretContext(tenant.id)) : existing!.clientSecretCiphertext,
    jit: input.jit ?? false,
    defaultReturnTo: input.defaultReturnTo ?? null,
    metadata: meta as unknown as Record<string, unknown>,
    createdAt: now,
    updatedAt: now,
  });
  await recordAdminAction(env, { action: "sso.configure", actor: by.actor, tenant, status: 200, detail: `Sign-in through ${meta.issuer} (OIDC, client ${input.clientId}${row.jit ? ", JIT" : ""}) saved.`, ip: by.ip ?? null });
  return row;
}

/** Saves a SAML connection from the IdP's metadata XML or its entity ID, SSO URL and certificate. */
async function saveSamlConnection(env: Env, tenant: TenantRef, input: ConnectionInput, by: AdminCaller): Promise<SsoConnectionRow> {
  let idp: SamlIdp;
  try {
    idp = input.metadataXml ? samlIdpFromMetadata(input.metadataXml, loopbackAllowed(env)) : samlIdpFromValues(input, loopbackAllowed(env));
  } catch (error) {
    if (error instanceof SamlConfigProblem) {
      throw invalid(error.field, input.metadataXml || error.field !== "idpEntityId" ? error.message : `${error.message}; or paste the IdP's metadata XML as metadataXml`);
    }
    throw error;
  }
  // Our request-signing key: made with the first SAML connection, kept across saves (the IdP may have it).
  const db = controlDb(env.CONTROL_DB);
  const key = await secretKey(env);
  const existing = await getConnection(db, tenant.id);
  let sp: { certificate: string; keyCiphertext: string };
  if (existing?.protocol === "saml" && (existing.metadata as unknown as SamlSettings).spCertificate && existing.clientSecretCiphertext) {
    sp = { certificate: (existing.metadata as unknown as SamlSettings).spCertificate, keyCiphertext: existing.clientSecretCiphertext };
  } else {
    const made = await newSigningCredentials(`TheStorage SAML SP ${tenant.slug}`, 3650);
    sp = { certificate: made.certificateBase64, keyCiphertext: await encryptSecret(key, made.privateKeyPem, secretContext(tenant.id)) };
  }
  const now = new Date().toISOString();
  const settings: SamlSettings = { ...idp, allowIdpInitiated: input.allowIdpInitiated ?? false, spCertificate: sp.certificate };
  const row = await upsertConnection(db, {
    tenantId: tenant.id,
    protocol: "saml",
    issuer: idp.idpEntityId,
    clientId: "",
    clientSecretCiphertext: sp.keyCiphertext,
    jit: input.jit ?? false,
    defaultReturnTo: input.defaultReturnTo ?? null,
    metadata: settings as unknown as Record<string, unknown>,
    createdAt: now,
    updatedAt: now,
  });
  const detail = `Sign-in through ${idp.idpEntityId} (SAML 2.0${settings.allowIdpInitiated ? ", IdP-initiated allowed" : ""}${row.jit ? ", JIT" : ""}) saved.`;
  await recordAdminAction(env, { action: "sso.configure", actor: by.actor, tenant, status: 200, detail, ip: by.ip ?? null });
  return row;
}

export async function requireConnection(env: Env, tenant: TenantRef): Promise<SsoConnectionRow> {
  const row = await getConnection(controlDb(env.CONTROL_DB), tenant.id);
  if (!row) throw new ApiError(404, `Tenant '${tenant.slug}' has no sign-in connection. Create one with PUT /admin/v1/tenants/${tenant.slug}/sso.`);
  return row;
}

export async function removeConnection(env: Env, tenant: TenantRef, by: AdminCaller): Promise<void> {
  if (!(await deleteConnection(controlDb(env.CONTROL_DB), tenant.id))) {
    throw new ApiError(404, `Tenant '${tenant.slug}' has no sign-in connection.`);
  }
  await recordAdminAction(env, { action: "sso.disable", actor: by.actor, tenant, status: 204, detail: "Sign-in through the IdP switched off.", ip: by.ip ?? null });
}

// ── Start, initiate ─────────────────────────────────────────────────────────────────────────────

/** A sign-in step's answer: where to send the browser (with the attempt cookie to set), or a page. */
export type Step =
  | { kind: "redirect"; location: string; cookie?: { name: string; value: string; protocol: "oidc" | "saml" }; status: 302 | 303 }
  | { kind: "refused"; reason: RefusalReason; detail?: string }
  | { kind: "tested"; result: TestResult };

export interface TestResult {
  claims: IdClaims;
  matched: ReturnType<typeof userPayload> | null;
  /** Why no ticket would be issued, when none would. */
  refusal: RefusalReason | null;
}

function track<T>(meter: StorageMeter | undefined, call: () => Promise<T>): Promise<T> {
  return meter ? meter.track(call) : call();
}

export async function loadTenant(env: Env, slug: string, meter?: StorageMeter): Promise<TenantSignIn | null> {
  return track(meter, () => tenantForSignIn(controlDb(env.CONTROL_DB), { slug }));
}

/**
 * Refusals anyone can cause without a sign-in attempt of their own (no or a foreign cookie, a bad
 * return_to, …): logged at most once a minute per tenant and reason, so a flood of forged requests
 * cannot flood the provisioning log. Every refusal after the IdP answered is logged.
 */
const ANONYMOUS_REASONS: ReadonlySet<RefusalReason> = new Set(["broken", "expired", "bad_return_to", "sso_off", "wrong_issuer", "no_default_return"]);
const ANONYMOUS_LOG_WINDOW_MS = 60_000;

/** A refusal before the tenant's directory was consulted, logged when the tenant exists. */
async function refuse(env: Env, tenant: TenantRow | null, reason: RefusalReason, detail: string, claimed: string | null = null, anonymous = ANONYMOUS_REASONS.has(reason)): Promise<Extract<Step, { kind: "refused" }>> {
  if (tenant) {
    const now = Date.now();
    const event = {
      tenantId: tenant.id,
      at: new Date(now).toISOString(),
      action: "sso.sign_in",
      resourceType: "User",
      resourceId: null,
      target: claimed,
      outcome: "failure" as const,
      status: reason === "not_provisioned" || reason === "deactivated" || reason === "sso_off" ? 403 : 400,
      detail: `refused (${reason}): ${detail}`,
      tokenPrefix: null,
    };
    const db = tenantDb(env, tenant);
    if (anonymous) await insertRefusalUnlessRecent(db, event, `refused (${reason})`, new Date(now - ANONYMOUS_LOG_WINDOW_MS).toISOString());
    else await insertEvent(db, event);
  }
  return { kind: "refused", reason, detail: undefined };
}

/**
 * Starts a sign-in: 302 to the IdP's authorization endpoint with PKCE S256, state and nonce; the
 * attempt is sealed (AES-GCM) into a cookie of this browser. One storage round trip.
 */
export async function startSignIn(
  env: Env,
  slug: string,
  options: { returnTo: string | null; loginHint?: string; mode: Attempt["mode"]; origin: string; meter?: StorageMeter },
): Promise<Step> {
  const found = await loadTenant(env, slug, options.meter);
  if (!found) return { kind: "refused", reason: "sso_off" };
  if (options.mode === "sign-in") {
    const problem = returnToProblem(options.returnTo ?? "", returnOrigins(env), loopbackAllowed(env));
    if (problem) return { ...(await refuse(env, found.tenant, "bad_return_to", problem)), detail: problem };
  }
  if (!found.connection) return refuse(env, found.tenant, "sso_off", "a sign-in was started but sign-in through the IdP is off");
  return redirectToIdp(env, found.tenant, found.connection, options);
}

async function redirectToIdp(env: Env, tenant: TenantRow, connection: SsoConnectionRow, options: { returnTo: string | null; loginHint?: string; mode: Attempt["mode"]; origin: string }): Promise<Step> {
  const key = await attemptKey(env);
  const secrets = newAttemptSecrets();
  const saml = connection.protocol === "saml";
  // SAML: the AuthnRequest's ID stands where OIDC's nonce does (the response must answer it); no PKCE.
  const attempt: Attempt = { v: 1, tenantId: tenant.id, issuer: connection.issuer, ...secrets, ...(saml ? { nonce: newRequestId(), verifier: "" } : {}), returnTo: options.returnTo, mode: options.mode, createdAt: Date.now() };
  const sealed = await encryptSecret(key, JSON.stringify(attempt), attemptSealContext(tenant.id, attempt.state));
  let location: string;
  if (saml) {
    const urls = connectionUrls(options.origin, tenant.slug);
    const idpSsoUrl = (connection.metadata as unknown as SamlSettings).idpSsoUrl;
    const signingKey = await decryptSecret(await secretKey(env), connection.clientSecretCiphertext, secretContext(tenant.id));
    location = await redirectBindingUrl(idpSsoUrl, authnRequestXml({ id: attempt.nonce, issueInstant: new Date(attempt.createdAt), idpSsoUrl, acsUrl: urls.acsUrl, spEntityId: urls.spEntityId }), attempt.state, signingKey);
  } else {
    const meta = connection.metadata as unknown as IssuerMetadata;
    location = await authorizationUrl(meta, connection.clientId, `${options.origin}${callbackPath(tenant.slug)}`, attempt, options.loginHint?.slice(0, 256));
  }
  return { kind: "redirect", location, status: 302, cookie: { name: attempt.state, value: sealed, protocol: saml ? "saml" : "oidc" } };
}

/** Okta's third-party-initiated login: `iss` must be the connection's issuer; lands on defaultReturnTo. */
export async function initiateSignIn(env: Env, slug: string, options: { iss: string | undefined; loginHint?: string; origin: string; meter?: StorageMeter }): Promise<Step> {
  const found = await loadTenant(env, slug, options.meter);
  if (!found) return { kind: "refused", reason: "sso_off" };
  if (found.connection?.protocol !== "oidc") return refuse(env, found.tenant, "sso_off", "an OpenID Connect sign-in was initiated from the IdP but sign-in through the IdP over OpenID Connect is off");
  if (!options.iss || !sameIssuer(options.iss, found.connection.issuer)) {
    return refuse(env, found.tenant, "wrong_issuer", `initiate login named issuer ${JSON.stringify(options.iss ?? null)}, not ${found.connection.issuer}`);
  }
  if (!found.connection.defaultReturnTo) return refuse(env, found.tenant, "no_default_return", "a sign-in was initiated from the IdP but the connection has no defaultReturnTo");
  return redirectToIdp(env, found.tenant, found.connection, { returnTo: found.connection.defaultReturnTo, loginHint: options.loginHint, mode: "sign-in", origin: options.origin });
}

/** Issuer identifiers compare exactly; a single trailing slash is the one difference tolerated. */
function sameIssuer(a: string, b: string): boolean {
  return a === b || a.replace(/\/$/, "") === b.replace(/\/$/, "");
}

// ── Callback ────────────────────────────────────────────────────────────────────────────────────

/**
 * The IdP's answer. Opens the attempt sealed in this browser's cookie (absent, foreign or expired:
 * refused), completes the code flow (oidc.ts), then matches and signs in, all in one batch.
 */
export async function finishSignIn(
  env: Env,
  slug: string,
  input: { url: URL; cookies: Record<string, string>; origin: string; meter?: StorageMeter; waitUntil?: (p: Promise<unknown>) => void },
): Promise<Step> {
  const state = input.url.searchParams.get("state");
  const found = await loadTenant(env, slug, input.meter);
  if (found?.connection?.protocol !== "oidc") return found ? refuse(env, found.tenant, "sso_off", "an OpenID Connect callback arrived but sign-in through the IdP over OpenID Connect is off") : { kind: "refused", reason: "sso_off" };
  const { tenant, connection } = found;
  if (!state) return refuse(env, tenant, "broken", "the callback carried no state");
  const sealed = input.cookies[state];
  if (!sealed) return refuse(env, tenant, "broken", "no sign-in attempt of this browser has that state (the cookie is missing: another browser, or cookies blocked)");
  let attempt: unknown;
  try {
    attempt = JSON.parse(await decryptSecret(await attemptKey(env), sealed, attemptSealContext(tenant.id, state)));
  } catch {
    return refuse(env, tenant, "broken", "the sign-in attempt cookie does not open for this tenant and state");
  }
  const problem = attemptProblem(attempt, tenant.id, state, Date.now());
  if (problem) return refuse(env, tenant, problem, problem === "expired" ? "the attempt is older than 10 minutes" : "the attempt cookie is malformed");
  const a = attempt as Attempt;
  if (!sameIssuer(a.issuer, connection.issuer)) return refuse(env, tenant, "broken", "the connection's issuer changed since the sign-in started");

  let claims: IdClaims;
  try {
    claims = await completeSignIn({
      meta: connection.metadata as unknown as IssuerMetadata,
      clientId: connection.clientId,
      clientSecret: await decryptSecret(await secretKey(env), connection.clientSecretCiphertext, secretContext(tenant.id)),
      redirectUri: `${input.origin}${callbackPath(tenant.slug)}`,
      callbackUrl: input.url,
      attempt: a,
      allowInsecure: loopbackAllowed(env),
    });
  } catch (error) {
    if (error instanceof SignInFailure) return refuse(env, tenant, error.reason, error.message);
    throw error;
  }
  const completion = { state: a.state, stateExpiresAt: new Date(attemptExpiresAt(a)).toISOString(), mode: a.mode, returnTo: a.returnTo, protocol: "oidc" as const, keys: matchKeys(claims) };
  return signIn(env, found, completion, claims, input.meter, input.waitUntil);
}

/**
 * The SAML ACS (HTTP-POST binding): verifies the Response (saml/verify.ts, pure), then ties it to
 * this browser's outstanding request (InResponseTo = the request ID sealed in the cookie named by
 * RelayState), or, for an unsolicited response, requires the connection to allow IdP-initiated
 * sign-in. The request's attempt and the assertion ID are consumed in the sign-in's batch.
 */
export async function finishSamlSignIn(
  env: Env,
  slug: string,
  input: { samlResponse: string | null; relayState: string | null; cookies: Record<string, string>; origin: string; meter?: StorageMeter; waitUntil?: (p: Promise<unknown>) => void },
): Promise<Step> {
  const found = await loadTenant(env, slug, input.meter);
  if (found?.connection?.protocol !== "saml") return found ? refuse(env, found.tenant, "sso_off", "a SAML response arrived but sign-in through the IdP over SAML is off") : { kind: "refused", reason: "sso_off" };
  const { tenant, connection } = found;
  if (!input.samlResponse) return refuse(env, tenant, "broken", "the ACS received no SAMLResponse");
  const settings = connection.metadata as unknown as SamlSettings;
  const urls = connectionUrls(input.origin, tenant.slug);
  const now = Date.now();
  let verified;
  try {
    verified = verifySamlResponse(decodePostedResponse(input.samlResponse), { idpEntityId: connection.issuer, certificates: settings.certificates.map(toPem), spEntityId: urls.spEntityId, acsUrl: urls.acsUrl, now });
  } catch (error) {
    // Anyone can POST to the ACS without starting a sign-in: these refusals are logged once a minute per reason.
    if (error instanceof SamlRejected) return refuse(env, tenant, error.reason, error.message, null, true);
    throw error;
  }
  const claims = samlClaims(verified);
  const assertionKey = { state: `saml:${await sha256Hex(`${tenant.id}\n${verified.issuer}\n${verified.assertionId}`)}`, expiresAt: verified.notOnOrAfter };
  const keys = samlMatchKeys(verified);
  if (verified.inResponseTo === null) {
    if (!settings.allowIdpInitiated) return refuse(env, tenant, "unsolicited", `an unsolicited (IdP-initiated) response for ${verified.nameId} was refused: the connection does not allow IdP-initiated sign-in`, verified.nameId);
    if (!connection.defaultReturnTo) return refuse(env, tenant, "no_default_return", "an IdP-initiated sign-in arrived but the connection has no defaultReturnTo", verified.nameId);
    const completion = { state: assertionKey.state, stateExpiresAt: assertionKey.expiresAt, mode: "sign-in" as const, returnTo: connection.defaultReturnTo, protocol: "saml" as const, keys };
    return signIn(env, found, completion, claims, input.meter, input.waitUntil);
  }
  const state = input.relayState ?? "";
  const sealed = state ? input.cookies[state] : undefined;
  if (!sealed) return refuse(env, tenant, "broken", `the response answers request ${verified.inResponseTo}, but this browser has no outstanding request (no RelayState, or its cookie is missing: another browser, or cookies blocked)`, verified.nameId);
  let attempt: unknown;
  try {
    attempt = JSON.parse(await decryptSecret(await attemptKey(env), sealed, attemptSealContext(tenant.id, state)));
  } catch {
    return refuse(env, tenant, "broken", "the sign-in attempt cookie does not open for this tenant and RelayState", verified.nameId);
  }
  const problem = attemptProblem(attempt, tenant.id, state, now);
  if (problem) return refuse(env, tenant, problem, problem === "expired" ? "the request is older than 10 minutes" : "the attempt cookie is malformed", verified.nameId);
  const a = attempt as Attempt;
  if (a.nonce !== verified.inResponseTo) return refuse(env, tenant, "broken", `the response answers request ${verified.inResponseTo}, not this browser's outstanding request`, verified.nameId);
  if (a.issuer !== connection.issuer) return refuse(env, tenant, "broken", "the connection's IdP changed since the sign-in started", verified.nameId);
  const completion = { state: a.state, stateExpiresAt: new Date(attemptExpiresAt(a)).toISOString(), alsoConsume: [assertionKey], mode: a.mode, returnTo: a.returnTo, protocol: "saml" as const, keys };
  return signIn(env, found, completion, claims, input.meter, input.waitUntil);
}

/** An IdP answer that passed its protocol's checks, ready to match: what to consume, where to land. */
interface Completion {
  /** Consumed once, in the sign-in's batch (OIDC: the attempt's state; SAML: the request's, or the assertion's key). */
  state: string;
  stateExpiresAt: string;
  alsoConsume?: { state: string; expiresAt: string }[];
  mode: Attempt["mode"];
  returnTo: string | null;
  protocol: "oidc" | "saml";
  keys: MatchKeys;
}

async function signIn(env: Env, found: TenantSignIn, attempt: Completion, claims: IdClaims, meter?: StorageMeter, waitUntil?: (p: Promise<unknown>) => void): Promise<Step> {
  const { tenant, connection } = found;
  const db = tenantDb(env, tenant);
  const keys = attempt.keys;
  const now = new Date();
  const claimedName = (typeof claims.preferred_username === "string" && claims.preferred_username) || (typeof claims.email === "string" && claims.email) || claims.sub;
  const jitPossible = connection!.jit && !found.scimEnabled;
  const test = attempt.mode === "test";
  const ticket = formatTicket(tenant.id, base64url(crypto.getRandomValues(new Uint8Array(32))));
  const ticketRow = { digest: await sha256Hex(ticket), expiresAt: new Date(now.getTime() + TICKET_TTL_MS).toISOString(), protocol: attempt.protocol };
  const write = {
    tenantId: tenant.id,
    keys,
    state: attempt.state,
    attemptExpiresAt: attempt.stateExpiresAt,
    ...(attempt.alsoConsume ? { alsoConsume: attempt.alsoConsume } : {}),
    now: now.toISOString(),
    ticket: test ? null : ticketRow,
    log: test
      ? null
      : {
          claimedName,
          success: `signed in through ${keys.issuer} as subject ${keys.subject}`,
          deactivated: `refused (deactivated): ${keys.issuer} subject ${keys.subject} matched a deactivated user`,
          // A JIT connection logs a no-match itself, after creating the user (or failing to).
          notProvisioned: jitPossible ? null : `refused (not_provisioned): no user of this tenant matches ${keys.issuer} subject ${keys.subject} (${claimedName})`,
        },
  };
  let user;
  try {
    ({ user } = await track(meter, () => signInBatch(db, write)));
  } catch (error) {
    if (`${(error as Error)?.message} ${(error as { cause?: Error })?.cause?.message}`.includes("sso_attempts_used.state")) {
      return refuse(env, tenant, "replayed", "this sign-in attempt was already answered (a replayed callback)", claimedName);
    }
    throw error;
  }
  if (test) {
    const refusal = user ? (user.active ? null : "deactivated") : jitPossible ? null : "not_provisioned";
    await insertEvent(db, {
      tenantId: tenant.id,
      at: now.toISOString(),
      action: "sso.test_sign_in",
      resourceType: "User",
      resourceId: user?.id ?? null,
      target: user?.userName ?? claimedName,
      outcome: "success",
      status: 200,
      detail: `test sign-in through ${keys.issuer} as subject ${keys.subject}: ${user ? `matched ${user.userName}${refusal ? ` (would be refused: ${refusal})` : ""}` : jitPossible ? "no match; a real sign-in would create the user (JIT)" : "no match (would be refused: not_provisioned)"}; no ticket issued`,
      tokenPrefix: null,
    });
    return { kind: "tested", result: { claims, matched: user ? userPayload(user) : null, refusal } };
  }
  const decision = decide(user, { jit: connection!.jit, scimEnabled: found.scimEnabled });
  if (decision.ok) return { kind: "redirect", status: 303, location: withTicket(attempt.returnTo!, ticket) };
  if ("reason" in decision) return { kind: "refused", reason: decision.reason };
  return jitSignIn(env, found, attempt, claims, write, ticket, waitUntil);
}

/** SCIM is off and the connection allows JIT: create the user (source = the provider), then link and ticket it. */
async function jitSignIn(env: Env, found: TenantSignIn, attempt: Completion, claims: IdClaims, write: SignInWrite, ticket: string, waitUntil?: (p: Promise<unknown>) => void): Promise<Step> {
  const { tenant } = found;
  const body = jitUserBody(claims);
  const claimed = write.log!.claimedName;
  if (!body) return refuse(env, tenant, "not_provisioned", "JIT could not create the user: the ID token has neither preferred_username nor email", claimed);
  const db = tenantDb(env, tenant);
  try {
    await createUser({ db, tenant: tenantRefOf(tenant), actor: { tokenPrefix: "sso", provider: providerOfIssuer(write.keys.issuer) }, roles: rolesOf(env) }, body);
    // Its user.created change event goes to the webhooks now, off the response path (else the minute sweep sends it).
    waitUntil?.(dispatchPending(env, tenantRefOf(tenant), { attemptNow: true }).catch((error) => console.error(JSON.stringify({ level: "error", msg: "dispatching change events failed", error: String(error) }))));
  } catch (error) {
    if (error instanceof ApiError) return refuse(env, tenant, "not_provisioned", `JIT could not create the user: ${error.detail}`, claimed);
    throw error;
  }
  // The attempt is already consumed; the same batch links the new user, issues the ticket and logs.
  const { user } = await signInBatch(db, { ...write, consume: false, log: { ...write.log!, success: `${write.log!.success} (created by JIT)` } });
  if (!user?.active) return refuse(env, tenant, "not_provisioned", "JIT created the user but it could not be linked", claimed);
  return { kind: "redirect", status: 303, location: withTicket(attempt.returnTo!, ticket) };
}

// ── Redemption ──────────────────────────────────────────────────────────────────────────────────

export interface Redemption {
  tenant: string;
  user: {
    id: string;
    userName: string;
    displayName: string | null;
    emails: ReturnType<typeof userPayload>["emails"];
    active: boolean;
    source: string | null;
    externalId: string | null;
    role: string | null;
    attributes: ReturnType<typeof userPayload>["attributes"];
    groups: { id: string; displayName: string }[];
  };
  signIn: { protocol: string; issuer: string; subject: string; at: string };
}

const TICKET_REFUSED = "The ticket is used, expired (tickets live 60 seconds) or unknown. Start the sign-in again.";

/** Redeems a one-time ticket (admin API and RPC alike); 400 for a used, expired or unknown ticket. */
export async function redeemSignIn(env: Env, ticket: unknown): Promise<Redemption> {
  const tenantId = ticketTenant(ticket);
  if (!tenantId) throw new ApiError(400, `ticket: ${TICKET_REFUSED}`, { scimType: "invalidValue" });
  const found = await tenantForSignIn(controlDb(env.CONTROL_DB), { id: tenantId });
  if (!found) throw new ApiError(400, `ticket: ${TICKET_REFUSED}`, { scimType: "invalidValue" });
  const db = tenantDb(env, found.tenant);
  const redeemed = await redeemTicket(db, tenantId, await sha256Hex(ticket as string));
  if (!redeemed || Date.parse(redeemed.ticket.expiresAt) < Date.now()) throw new ApiError(400, `ticket: ${TICKET_REFUSED}`, { scimType: "invalidValue" });
  const row = redeemed.user;
  // A deactivation the guard holds (design.md §4g) does not count for TheStorage's app yet.
  if (!row || !(row.active || (await isDeactivationHeld(db, tenantId, row.id)))) {
    throw new ApiError(400, "ticket: the user this ticket was issued to has since been deactivated or deleted by the IdP.", { scimType: "invalidValue" });
  }
  const payload = userPayload(row, rolesOf(env).defaultRole);
  return {
    tenant: found.tenant.slug,
    user: {
      id: payload.id,
      userName: payload.userName,
      displayName: payload.displayName,
      emails: payload.emails,
      active: payload.active,
      source: payload.source,
      externalId: payload.externalId,
      role: payload.role,
      attributes: payload.attributes,
      groups: redeemed.groups,
    },
    signIn: { protocol: redeemed.ticket.protocol, issuer: redeemed.ticket.issuer, subject: redeemed.ticket.subject, at: redeemed.ticket.createdAt },
  };
}


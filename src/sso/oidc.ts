/**
 * The OpenID Connect relying party, on oauth4webapi (a certified RP library listed for Workers) and
 * jose: discovery and JWKS checks when a connection is saved, the authorization request, and the
 * code exchange with every ID token check of design.md §4e. The ID token's signature is verified
 * with the issuer's JWKS even though it came straight from the token endpoint (oauth4webapi, like
 * other certified libraries, does not check it there by default).
 */
import * as oauth from "oauth4webapi";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { CLOCK_SKEW_SECONDS, ID_TOKEN_ALGORITHMS, SCOPE, type Attempt, type IdClaims, type RefusalReason } from "./core";

/** What the issuer's discovery document said, kept on the connection (no discovery per sign-in). */
export interface IssuerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  id_token_signing_alg_values_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  authorization_response_iss_parameter_supported?: boolean;
}

const TIMEOUT_MS = 10_000;

/** Why an issuer cannot be used: the message goes into the admin API's 400. */
export class IssuerProblem extends Error {}

/** A sign-in that cannot complete, with the refusal it shows and a log detail. */
export class SignInFailure extends Error {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

function why(error: unknown): string {
  if (error instanceof Error) return error.name === "TimeoutError" || error.name === "AbortError" ? `no answer within ${TIMEOUT_MS / 1000} s` : error.message;
  return String(error);
}

/**
 * Reads and checks the issuer's discovery document and JWKS; throws IssuerProblem saying what is
 * wrong (unreachable, not JSON, issuer mismatch, missing endpoints, no RS256/ES256 signing key).
 */
export async function discoverIssuer(issuer: string, allowInsecure: boolean): Promise<IssuerMetadata> {
  const url = new URL(issuer);
  let as: oauth.AuthorizationServer;
  try {
    const response = await oauth.discoveryRequest(url, { algorithm: "oidc", [oauth.allowInsecureRequests]: allowInsecure, signal: AbortSignal.timeout(TIMEOUT_MS) });
    as = await oauth.processDiscoveryResponse(url, response);
  } catch (error) {
    throw new IssuerProblem(`The issuer's discovery document (${discoveryUrl(issuer)}) could not be read: ${why(error)}. Check the issuer URL (Okta: https://<your-org>.okta.com; Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0).`);
  }
  const missing = (["authorization_endpoint", "token_endpoint", "jwks_uri"] as const).filter((k) => typeof as[k] !== "string");
  if (missing.length) throw new IssuerProblem(`The issuer's discovery document lacks ${missing.join(", ")}.`);
  const algs = as.id_token_signing_alg_values_supported;
  if (Array.isArray(algs) && !algs.some((a) => (ID_TOKEN_ALGORITHMS as readonly string[]).includes(a))) {
    throw new IssuerProblem(`The issuer signs ID tokens with ${algs.join(", ")}; TheStorage accepts only ${ID_TOKEN_ALGORITHMS.join(" or ")}.`);
  }
  await checkJwks(as.jwks_uri!, allowInsecure);
  return {
    issuer: as.issuer,
    authorization_endpoint: as.authorization_endpoint!,
    token_endpoint: as.token_endpoint!,
    jwks_uri: as.jwks_uri!,
    ...(Array.isArray(algs) ? { id_token_signing_alg_values_supported: algs } : {}),
    ...(Array.isArray(as.token_endpoint_auth_methods_supported) ? { token_endpoint_auth_methods_supported: as.token_endpoint_auth_methods_supported } : {}),
    ...(as.authorization_response_iss_parameter_supported === true ? { authorization_response_iss_parameter_supported: true } : {}),
  };
}

function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
}

async function checkJwks(jwksUri: string, allowInsecure: boolean): Promise<void> {
  const url = new URL(jwksUri);
  if (url.protocol !== "https:" && !(allowInsecure && url.protocol === "http:")) throw new IssuerProblem(`The issuer's jwks_uri ${jwksUri} is not https://.`);
  let body: unknown;
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body = await response.json();
  } catch (error) {
    throw new IssuerProblem(`The issuer's signing keys (JWKS at ${jwksUri}) could not be read: ${why(error)}.`);
  }
  const keys = (body as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new IssuerProblem(`The issuer's JWKS at ${jwksUri} is not a JWK set (no "keys" array).`);
  const usable = keys.filter((k) => {
    const key = k as Record<string, unknown>;
    if (key.use !== undefined && key.use !== "sig") return false;
    return key.kty === "RSA" || (key.kty === "EC" && key.crv === "P-256");
  });
  if (!usable.length) throw new IssuerProblem(`The issuer's JWKS at ${jwksUri} holds no RSA or P-256 signing key.`);
}

function client(clientId: string): oauth.Client {
  return {
    client_id: clientId,
    // Both accepted algorithms; oauth4webapi takes a list here.
    id_token_signed_response_alg: [...ID_TOKEN_ALGORITHMS] as unknown as string,
    [oauth.clockTolerance]: CLOCK_SKEW_SECONDS,
  };
}

/** The authorization request (code flow, PKCE S256, state, nonce). */
export async function authorizationUrl(meta: IssuerMetadata, clientId: string, redirectUri: string, attempt: Attempt, loginHint?: string): Promise<string> {
  const url = new URL(meta.authorization_endpoint);
  url.searchParams.set("client_id", clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", SCOPE);
  url.searchParams.set("state", attempt.state);
  url.searchParams.set("nonce", attempt.nonce);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(attempt.verifier));
  url.searchParams.set("code_challenge_method", "S256");
  if (loginHint) url.searchParams.set("login_hint", loginHint);
  return url.toString();
}

export function newAttemptSecrets() {
  return { state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), verifier: oauth.generateRandomCodeVerifier() };
}

/** JWKS per URI for the isolate's life (jose refetches on an unknown `kid`, at most every 30 s). */
const jwksSets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function jwks(uri: string) {
  let set = jwksSets.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), { timeoutDuration: TIMEOUT_MS });
    jwksSets.set(uri, set);
  }
  return set;
}

/**
 * Completes the code flow: checks the callback (state, RFC 9207 `iss` when the issuer sends it),
 * exchanges the code with the PKCE verifier, and verifies the ID token: signature with the issuer's
 * JWKS (RS256/ES256 only), `iss`, `aud` (and `azp`), `exp`, `iat`, `nonce`, within 60 s of skew.
 */
export async function completeSignIn(input: {
  meta: IssuerMetadata;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  callbackUrl: URL;
  attempt: Attempt;
  allowInsecure: boolean;
}): Promise<IdClaims> {
  const as = input.meta as unknown as oauth.AuthorizationServer;
  const c = client(input.clientId);
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, c, input.callbackUrl, input.attempt.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      throw new SignInFailure("idp_error", `the IdP answered ${error.error}${error.error_description ? `: ${error.error_description}` : ""}`);
    }
    throw new SignInFailure("broken", `the callback was refused: ${why(error)}`);
  }
  const methods = input.meta.token_endpoint_auth_methods_supported;
  const auth = methods && !methods.includes("client_secret_basic") && methods.includes("client_secret_post") ? oauth.ClientSecretPost(input.clientSecret) : oauth.ClientSecretBasic(input.clientSecret);
  let idToken: string;
  try {
    const response = await oauth.authorizationCodeGrantRequest(as, c, auth, params, input.redirectUri, input.attempt.verifier, {
      [oauth.allowInsecureRequests]: input.allowInsecure,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const result = await oauth.processAuthorizationCodeResponse(as, c, response, { expectedNonce: input.attempt.nonce, requireIdToken: true });
    idToken = result.id_token!;
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) throw new SignInFailure("idp_error", `the token endpoint answered ${error.error}${error.error_description ? `: ${error.error_description}` : ""}`);
    if (error instanceof oauth.OperationProcessingError && error.code !== oauth.RESPONSE_IS_NOT_JSON && error.code !== oauth.RESPONSE_IS_NOT_CONFORM) {
      throw new SignInFailure("invalid_token", `the ID token was refused: ${error.message}`);
    }
    throw new SignInFailure("idp_error", `the code exchange failed: ${why(error)}`);
  }
  try {
    const { payload } = await jwtVerify(idToken, jwks(input.meta.jwks_uri), {
      issuer: input.meta.issuer,
      audience: input.clientId,
      algorithms: [...ID_TOKEN_ALGORITHMS],
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["sub", "exp", "iat", "nonce"],
    });
    if (payload.nonce !== input.attempt.nonce) throw new Error("nonce mismatch");
    // jose checks exp and nbf; an ID token issued in the future (beyond the skew) is refused here.
    if (typeof payload.iat !== "number" || payload.iat > Date.now() / 1000 + CLOCK_SKEW_SECONDS) throw new Error('"iat" is in the future');
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== input.clientId) throw new Error("azp is not this client");
    return payload as unknown as IdClaims;
  } catch (error) {
    throw new SignInFailure("invalid_token", `the ID token's signature or claims were refused: ${why(error)}`);
  }
}

/**
 * A stand-in OpenID Provider inside the tests' isolate: discovery, JWKS, an authorization step the
 * test drives itself (as a browser would after the person signed in), and a token endpoint that
 * checks client authentication, the redirect URI and PKCE S256 before minting an ID token with jose.
 * The Worker runs in the same isolate, so its outbound fetches to the issuer reach this through a
 * spy on `globalThis.fetch` (as test/support/webhooks.ts does for receivers).
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey as JoseKey, type JWK, type JWTPayload } from "jose";
import { vi } from "vitest";

export interface IdTokenTweaks {
  /** Claims merged over the defaults (iss, aud, sub, nonce, iat, exp); `undefined` removes one. */
  claims?: Record<string, unknown>;
  /** Sign with this algorithm's key instead (a key the JWKS does not hold when `foreignKey`). */
  alg?: "RS256" | "ES256" | "HS256" | "none";
  foreignKey?: boolean;
}

interface Grant {
  clientId: string;
  redirectUri: string;
  nonce: string | null;
  challenge: string | null;
  claims: Record<string, unknown>;
  tweaks: IdTokenTweaks;
}

async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return btoa(String.fromCharCode(...new Uint8Array(digest))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const providers = new Map<string, StandInIdp>();
let spy: ReturnType<typeof vi.spyOn> | null = null;

function install() {
  if (spy) return;
  const realFetch = globalThis.fetch;
  spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    for (const idp of providers.values()) {
      if (request.url.startsWith(idp.origin + "/")) return idp.handle(request);
    }
    return realFetch(input, init);
  });
}

export class StandInIdp {
  readonly origin: string;
  readonly issuer: string;
  readonly clientId = `client-${crypto.randomUUID().slice(0, 8)}`;
  readonly clientSecret = `secret-${crypto.randomUUID()}`;
  /** Served as-is when set (a broken discovery document). */
  discoveryOverride: unknown = undefined;
  jwksOverride: unknown = undefined;
  /** Accept a code more than once (an IdP that does not enforce single use). */
  allowCodeReuse = false;
  /** Requests the Worker made, by path. */
  readonly calls: string[] = [];
  private readonly grants = new Map<string, Grant>();
  private keys!: { rs: CryptoKeyPair; es: CryptoKeyPair; foreignRs: CryptoKeyPair; foreignEs: CryptoKeyPair; jwks: JWK[] };

  private constructor(origin: string) {
    this.origin = origin;
    this.issuer = origin;
  }

  static async create(options: { origin?: string } = {}): Promise<StandInIdp> {
    const idp = new StandInIdp(options.origin ?? `https://idp-${crypto.randomUUID().slice(0, 8)}.example`);
    const [rs, es, foreignRs, foreignEs] = await Promise.all([
      generateKeyPair("RS256", { extractable: true }),
      generateKeyPair("ES256", { extractable: true }),
      generateKeyPair("RS256", { extractable: true }),
      generateKeyPair("ES256", { extractable: true }),
    ]);
    const jwks: JWK[] = [];
    for (const [pair, alg] of [[rs, "RS256"], [es, "ES256"]] as const) {
      const jwk = await exportJWK(pair.publicKey as JoseKey);
      jwks.push({ ...jwk, alg, use: "sig", kid: await calculateJwkThumbprint(jwk) });
    }
    idp.keys = { rs: rs as CryptoKeyPair, es: es as CryptoKeyPair, foreignRs: foreignRs as CryptoKeyPair, foreignEs: foreignEs as CryptoKeyPair, jwks };
    providers.set(idp.origin, idp);
    install();
    return idp;
  }

  /** What PUT …/sso takes for this provider. */
  connection(extra: Record<string, unknown> = {}) {
    return { protocol: "oidc", issuer: this.issuer, clientId: this.clientId, clientSecret: this.clientSecret, ...extra };
  }

  discovery() {
    return {
      issuer: this.issuer,
      authorization_endpoint: `${this.origin}/authorize`,
      token_endpoint: `${this.origin}/token`,
      jwks_uri: `${this.origin}/keys`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256", "ES256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      code_challenge_methods_supported: ["S256"],
    };
  }

  /**
   * The person signs in at the IdP: checks the authorization request the Worker redirected to and
   * answers the redirect back (the callback URL with code and state), as the IdP's login page would.
   */
  authorize(location: string, claims: Record<string, unknown>, tweaks: IdTokenTweaks = {}): string {
    const url = new URL(location);
    if (!location.startsWith(`${this.origin}/authorize?`)) throw new Error(`not this IdP's authorization endpoint: ${location}`);
    const p = url.searchParams;
    if (p.get("client_id") !== this.clientId) throw new Error(`unknown client_id ${p.get("client_id")}`);
    if (p.get("response_type") !== "code") throw new Error("response_type is not code");
    const code = `code-${crypto.randomUUID()}`;
    this.grants.set(code, {
      clientId: this.clientId,
      redirectUri: p.get("redirect_uri")!,
      nonce: p.get("nonce"),
      challenge: p.get("code_challenge_method") === "S256" ? p.get("code_challenge") : null,
      claims,
      tweaks,
    });
    const back = new URL(p.get("redirect_uri")!);
    back.searchParams.set("code", code);
    if (p.get("state") !== null) back.searchParams.set("state", p.get("state")!);
    return back.toString();
  }

  async handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    this.calls.push(path);
    if (path === "/.well-known/openid-configuration") {
      return Response.json(this.discoveryOverride !== undefined ? this.discoveryOverride : this.discovery());
    }
    if (path === "/keys") return Response.json(this.jwksOverride !== undefined ? this.jwksOverride : { keys: this.keys.jwks });
    if (path === "/token" && request.method === "POST") return this.token(request);
    return new Response("not found", { status: 404 });
  }

  private tokenError(error: string, description: string) {
    return Response.json({ error, error_description: description }, { status: 400 });
  }

  private async token(request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    const basic = request.headers.get("authorization");
    let id = form.get("client_id");
    let secret = form.get("client_secret");
    if (basic?.startsWith("Basic ")) {
      const [u, s] = atob(basic.slice(6)).split(":").map((v) => decodeURIComponent(v));
      id = u!;
      secret = s!;
    }
    if (id !== this.clientId || secret !== this.clientSecret) return this.tokenError("invalid_client", "client authentication failed");
    if (form.get("grant_type") !== "authorization_code") return this.tokenError("unsupported_grant_type", "code only");
    const grant = this.grants.get(form.get("code") ?? "");
    if (!grant) return this.tokenError("invalid_grant", "unknown or used code");
    if (!this.allowCodeReuse) this.grants.delete(form.get("code")!);
    if (form.get("redirect_uri") !== grant.redirectUri) return this.tokenError("invalid_grant", "redirect_uri mismatch");
    if (grant.challenge !== null) {
      const verifier = form.get("code_verifier");
      if (!verifier || (await s256(verifier)) !== grant.challenge) return this.tokenError("invalid_grant", "PKCE verification failed");
    }
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload = { iss: this.issuer, aud: this.clientId, iat: now, exp: now + 300, ...(grant.nonce ? { nonce: grant.nonce } : {}), ...grant.claims, ...grant.tweaks.claims };
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    const idToken = await this.sign(claims, grant.tweaks);
    return Response.json({ access_token: `at-${crypto.randomUUID()}`, token_type: "Bearer", expires_in: 3600, id_token: idToken });
  }

  private async sign(claims: JWTPayload, tweaks: IdTokenTweaks): Promise<string> {
    const alg = tweaks.alg ?? "RS256";
    if (alg === "none") {
      const enc = (o: unknown) => btoa(JSON.stringify(o)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      return `${enc({ alg: "none", typ: "JWT" })}.${enc(claims)}.`;
    }
    if (alg === "HS256") {
      return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(this.clientSecret));
    }
    const pair = alg === "RS256" ? (tweaks.foreignKey ? this.keys.foreignRs : this.keys.rs) : tweaks.foreignKey ? this.keys.foreignEs : this.keys.es;
    const kid = this.keys.jwks.find((k) => k.alg === alg)!.kid!;
    return new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(pair.privateKey as JoseKey);
  }

  dispose() {
    providers.delete(this.origin);
  }
}

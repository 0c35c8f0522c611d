/**
 * Cloudflare Access: verifies the `Cf-Access-Jwt-Assertion` header Access adds to every request it
 * lets through. RS256 against the team's published keys (`<team domain>/cdn-cgi/access/certs`),
 * issuer = the team domain, audience = the application's AUD tag, expiry checked. The key set is
 * fetched once per isolate and team domain (jose caches it and refetches on an unknown key id).
 */
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { Env } from "../env";

export const ACCESS_HEADER = "Cf-Access-Jwt-Assertion";

export interface AccessConfig {
  /** `https://<team>.cloudflareaccess.com`, no trailing slash. */
  teamDomain: string;
  aud: string;
}

/** Access is on when both vars are set; the team domain may be given with or without https://. */
export function accessConfig(env: Pick<Env, "ACCESS_TEAM_DOMAIN" | "ACCESS_AUD">): AccessConfig | null {
  const domain = env.ACCESS_TEAM_DOMAIN?.trim();
  const aud = env.ACCESS_AUD?.trim();
  if (!domain || !aud) return null;
  const teamDomain = (/^https?:\/\//i.test(domain) ? domain : `https://${domain}`).replace(/\/+$/, "");
  return { teamDomain, aud };
}

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function keySetOf(teamDomain: string) {
  let keySet = keySets.get(teamDomain);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(`${teamDomain}/cdn-cgi/access/certs`));
    keySets.set(teamDomain, keySet);
  }
  return keySet;
}

/**
 * `unavailable`: the team's keys could not be fetched, so nothing was verified either way. That is
 * not a failed authentication (it must not throttle operators while Access has an outage).
 */
export type AccessResult = { ok: true; email: string } | { ok: false; reason: string; unavailable?: boolean };

const UNAVAILABLE_CODES = new Set(["ERR_JWKS_TIMEOUT", "ERR_JWKS_INVALID", "ERR_JOSE_GENERIC"]);

/** Verifies an assertion; never throws. `reason` is safe to show (it names the check that failed). */
export async function verifyAccessAssertion(assertion: string, config: AccessConfig): Promise<AccessResult> {
  if (assertion.length > 16_384) return { ok: false, reason: "the assertion is too long" };
  try {
    const { payload } = await jwtVerify(assertion, keySetOf(config.teamDomain), {
      issuer: config.teamDomain,
      audience: config.aud,
      algorithms: ["RS256"],
      requiredClaims: ["exp"],
    });
    const email = typeof payload.email === "string" ? payload.email : typeof payload.sub === "string" ? payload.sub : "";
    if (!email) return { ok: false, reason: "the assertion names no email or subject" };
    return { ok: true, email };
  } catch (error) {
    const code = (error as { code?: string })?.code ?? "";
    if (!code.startsWith("ERR_") || UNAVAILABLE_CODES.has(code)) {
      return { ok: false, reason: `the Access team's keys could not be fetched from ${config.teamDomain}/cdn-cgi/access/certs`, unavailable: true };
    }
    const reasons: Record<string, string> = {
      ERR_JWT_EXPIRED: "the assertion has expired",
      ERR_JWT_CLAIM_VALIDATION_FAILED: `a claim does not match (${(error as { claim?: string }).claim ?? "?"}): check ACCESS_TEAM_DOMAIN and ACCESS_AUD`,
      ERR_JWS_SIGNATURE_VERIFICATION_FAILED: "the signature does not verify",
      ERR_JOSE_ALG_NOT_ALLOWED: "the assertion is not signed with RS256",
      ERR_JWKS_NO_MATCHING_KEY: "no key of the Access team signed it",
    };
    return { ok: false, reason: reasons[code] ?? "the assertion is not a valid Access token" };
  }
}

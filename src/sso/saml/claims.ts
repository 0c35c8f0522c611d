/**
 * What a verified SAML assertion says, in the shape the shared sign-in code reads (IdClaims), and
 * the directory keys it matches (design.md §4e): the stored link (IdP entity ID, NameID) first,
 * else userName equal, case-insensitively, to the NameID. Pure.
 */
import { foldCase } from "../../scim/text";
import type { IdClaims, MatchKeys } from "../core";
import type { VerifiedAssertion } from "./verify";

const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/** The first value of the first attribute present among `names` (Okta's and Entra's usual names). */
function first(attributes: Record<string, string[]>, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = attributes[name]?.find((v) => v.trim() !== "");
    if (value) return value;
  }
  return undefined;
}

export function samlClaims(v: VerifiedAssertion): IdClaims {
  const a = v.attributes;
  const email = first(a, "email", "mail", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress") ?? (v.nameIdFormat === EMAIL_FORMAT ? v.nameId : undefined);
  const given = first(a, "firstName", "givenName", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname");
  const family = first(a, "lastName", "surname", "sn", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname");
  const name = first(a, "displayName", "name", "http://schemas.microsoft.com/identity/claims/displayname");
  return {
    iss: v.issuer,
    sub: v.nameId,
    preferred_username: v.nameId,
    ...(email ? { email } : {}),
    ...(given ? { given_name: given } : {}),
    ...(family ? { family_name: family } : {}),
    ...(name ? { name } : {}),
    nameIdFormat: v.nameIdFormat,
    assertionId: v.assertionId,
    attributes: a,
  };
}

export function samlMatchKeys(v: VerifiedAssertion): MatchKeys {
  return { issuer: v.issuer, subject: v.nameId, externalIds: [], userNames: [foldCase(v.nameId)] };
}

/**
 * A stand-in SAML IdP for tests: a fresh RSA key and self-signed X.509 certificate (Web Crypto, DER
 * built here), and Okta-shaped Responses signed at test time with xml-crypto (the library the
 * Worker verifies with), plus the tweaks the attack tests need. Nothing is checked in.
 */
import { SignedXml } from "xml-crypto";
import { newSigningCredentials, type SigningCredentials } from "../../src/sso/saml/credentials";

// ── A key and self-signed certificate (the same code the SP's request signing key uses) ───────

export type IdpKey = SigningCredentials;
export const newIdpKey = (cn = "idp.test"): Promise<IdpKey> => newSigningCredentials(cn);

// ── Responses ───────────────────────────────────────────────────────────────────────────────────

const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
const SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1";
const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

export interface ResponseOptions {
  issuer: string;
  /** The SP's ACS URL (Destination, Recipient). */
  acsUrl: string;
  /** The SP's entity ID (Audience). */
  audience: string;
  nameId: string;
  nameIdFormat?: string;
  /** The AuthnRequest's ID; absent: an unsolicited (IdP-initiated) response. */
  inResponseTo?: string;
  attributes?: Record<string, string>;
  /** Seconds added to "now" for every instant (negative: in the past). */
  shiftSeconds?: number;
  /** Lifetime of the assertion, seconds (default 300). */
  lifetimeSeconds?: number;
  assertionId?: string;
}

export interface SignOptions {
  /** What carries the signature (Okta: the Assertion by default; the Response too if set). */
  sign?: "assertion" | "response" | "both" | "none";
  sha1?: boolean;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const newId = () => `id${crypto.randomUUID().replace(/-/g, "")}`;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** An Okta-shaped, unsigned <saml2:Assertion> (a string), with `nameIdXml` raw when given (a comment inside). */
export function assertionXml(o: ResponseOptions, nameIdXml?: string): string {
  const now = Date.now() + (o.shiftSeconds ?? 0) * 1000;
  const until = iso(now + (o.lifetimeSeconds ?? 300) * 1000);
  const attrs = Object.entries(o.attributes ?? {})
    .map(([k, v]) => `<saml2:Attribute Name="${esc(k)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"><saml2:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${esc(v)}</saml2:AttributeValue></saml2:Attribute>`)
    .join("");
  return `<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="${o.assertionId ?? newId()}" IssueInstant="${iso(now)}" Version="2.0"><saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">${esc(o.issuer)}</saml2:Issuer><saml2:Subject><saml2:NameID Format="${o.nameIdFormat ?? "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"}">${nameIdXml ?? esc(o.nameId)}</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData ${o.inResponseTo ? `InResponseTo="${esc(o.inResponseTo)}" ` : ""}NotOnOrAfter="${until}" Recipient="${esc(o.acsUrl)}"/></saml2:SubjectConfirmation></saml2:Subject><saml2:Conditions NotBefore="${iso(now - 5000)}" NotOnOrAfter="${until}"><saml2:AudienceRestriction><saml2:Audience>${esc(o.audience)}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions><saml2:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${newId()}"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>${attrs ? `<saml2:AttributeStatement>${attrs}</saml2:AttributeStatement>` : ""}</saml2:Assertion>`;
}

/** A <saml2p:Response> around `inner` (one or more assertions, as XML strings). */
export function responseXml(o: ResponseOptions, inner: string): string {
  const now = Date.now() + (o.shiftSeconds ?? 0) * 1000;
  return `<saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" Destination="${esc(o.acsUrl)}" ID="${newId()}" ${o.inResponseTo ? `InResponseTo="${esc(o.inResponseTo)}" ` : ""}IssueInstant="${iso(now)}" Version="2.0"><saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">${esc(o.issuer)}</saml2:Issuer><saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>${inner}</saml2p:Response>`;
}

/** Signs the element `localName` (Assertion or Response, the first one) of `xml` enveloped, after its Issuer, as Okta does. */
export function signElement(xml: string, key: IdpKey, localName: "Assertion" | "Response", sha1 = false): string {
  const sig = new SignedXml({ privateKey: key.privateKeyPem, publicCert: key.certificatePem, signatureAlgorithm: sha1 ? RSA_SHA1 : RSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
  sig.addReference({ xpath: `(//*[local-name(.)='${localName}'])[1]`, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: sha1 ? SHA1 : SHA256 });
  sig.computeSignature(xml, { prefix: "ds", location: { reference: `(//*[local-name(.)='${localName}'])[1]/*[local-name(.)='Issuer']`, action: "after" } });
  return sig.getSignedXml();
}

/** A signed Okta-shaped Response (signed as `sign` says, default the Assertion). */
export function signedResponse(o: ResponseOptions, key: IdpKey, s: SignOptions = {}): string {
  const sign = s.sign ?? "assertion";
  let assertion = assertionXml(o);
  if (sign === "assertion" || sign === "both") assertion = signElement(assertion, key, "Assertion", s.sha1);
  let xml = responseXml(o, assertion);
  if (sign === "response" || sign === "both") xml = signElement(xml, key, "Response", s.sha1);
  return xml;
}

export const b64 = (xml: string) => btoa(String.fromCharCode(...new TextEncoder().encode(xml)));

/** IdP metadata as Okta serves it. */
export function idpMetadataXml(o: { entityId: string; ssoUrl: string; key: IdpKey }): string {
  return `<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${esc(o.entityId)}"><md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${o.key.certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${esc(o.ssoUrl)}"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${esc(o.ssoUrl)}"/></md:IDPSSODescriptor></md:EntityDescriptor>`;
}

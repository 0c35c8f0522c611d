/**
 * A stand-in SAML IdP for tests: a fresh RSA key and self-signed X.509 certificate (Web Crypto, DER
 * built here), and Okta-shaped Responses signed at test time with xml-crypto (the library the
 * Worker verifies with), plus the tweaks the attack tests need. Nothing is checked in.
 */
import { SignedXml } from "xml-crypto";

// ── A self-signed certificate ───────────────────────────────────────────────────────────────────

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n >>= 8;
  }
  return [0x80 | bytes.length, ...bytes];
}
const tlv = (tag: number, body: number[]) => [tag, ...len(body.length), ...body];
const seq = (...parts: number[][]) => tlv(0x30, parts.flat());
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const out = [40 * a! + b!];
  for (const v of rest) {
    const chunk = [v & 0x7f];
    let x = v >> 7;
    while (x > 0) {
      chunk.unshift((x & 0x7f) | 0x80);
      x >>= 7;
    }
    out.push(...chunk);
  }
  return tlv(0x06, out);
};
const utf8 = (s: string) => tlv(0x0c, [...new TextEncoder().encode(s)]);
const utcTime = (d: Date) => tlv(0x17, [...new TextEncoder().encode(d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z")]);
const SHA256_RSA = seq(oid("1.2.840.113549.1.1.11"), [0x05, 0x00]);

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

export interface IdpKey {
  privateKeyPem: string;
  certificatePem: string;
  /** The certificate's base64 body (what metadata carries in <ds:X509Certificate>). */
  certificateBase64: string;
}

/** A 2048-bit RSA key and a self-signed certificate for `cn`, valid from yesterday for a year. */
export async function newIdpKey(cn = "idp.test"): Promise<IdpKey> {
  const pair = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = [...new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer)];
  const name = seq(tlv(0x31, seq(oid("2.5.4.3"), utf8(cn))));
  const now = Date.now();
  const serial = tlv(0x02, [0x01, ...crypto.getRandomValues(new Uint8Array(8))]);
  const tbs = seq(tlv(0xa0, tlv(0x02, [2])), serial, SHA256_RSA, name, seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + 365 * 86_400_000))), name, spki);
  const signature = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", pair.privateKey, new Uint8Array(tbs)));
  const cert = new Uint8Array(seq(tbs, SHA256_RSA, tlv(0x03, [0x00, ...signature])));
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  const certificatePem = pem("CERTIFICATE", cert);
  return { privateKeyPem: pem("PRIVATE KEY", pkcs8), certificatePem, certificateBase64: btoa(String.fromCharCode(...cert)) };
}

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

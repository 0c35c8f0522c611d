/**
 * SAML metadata, pure: reading the IdP's (entity ID, HTTP-Redirect SSO URL, signing certificates)
 * or checking the three values pasted instead, and writing ours (the SP's entity ID and ACS).
 */
import { X509Certificate } from "node:crypto";
import { attr, children, descendants, NS, parseXml, text, XmlProblem, type Document } from "./xml";

export const HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
export const HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const MAX_METADATA_CHARS = 512 * 1024;

/** What a SAML connection keeps (in the connection row's metadata). */
export interface SamlIdp {
  idpEntityId: string;
  idpSsoUrl: string;
  /** Signing certificates, base64 DER (the body of a PEM). */
  certificates: string[];
}

/** A value of the connection that cannot be used; the message goes into the admin API's 400. */
export class SamlConfigProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The base64 body of a PEM certificate or of bare base64; throws when it is not an X.509 certificate. */
export function certificateBody(raw: string, field = "idpCertificate"): string {
  const body = raw
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, "")
    .replace(/\s+/g, "");
  if (!body || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new SamlConfigProblem(field, "is not a certificate: paste the IdP's X.509 signing certificate (PEM, or its base64 body)");
  try {
    const cert = new X509Certificate(toPem(body));
    if (Date.parse(cert.validTo) < Date.now()) throw new SamlConfigProblem(field, `the certificate (${cert.subject.replace(/\n/g, ", ")}) expired on ${cert.validTo}; download the IdP's current signing certificate`);
  } catch (error) {
    if (error instanceof SamlConfigProblem) throw error;
    throw new SamlConfigProblem(field, "is not a readable X.509 certificate: paste the IdP's signing certificate (PEM, or its base64 body)");
  }
  return body;
}

export function toPem(body: string): string {
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** SHA-256 fingerprint of a certificate body, as the IdP's console shows it (AA:BB:…). */
export function certificateFingerprint(body: string): string {
  return new X509Certificate(toPem(body)).fingerprint256;
}

function urlProblem(raw: string, allowLoopback: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not an absolute URL";
  }
  if (url.protocol === "https:") return null;
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (url.protocol === "http:" && loopback && allowLoopback) return null;
  return "must be an https:// URL";
}

/** Checks entity ID, SSO URL and certificate pasted by hand. */
export function samlIdpFromValues(v: { idpEntityId?: string; idpSsoUrl?: string; idpCertificate?: string }, allowLoopback: boolean): SamlIdp {
  const entityId = v.idpEntityId?.trim();
  if (!entityId) throw new SamlConfigProblem("idpEntityId", "give the IdP's entity ID (Okta: Identity Provider Issuer, http://www.okta.com/…)");
  if (entityId.length > 1024) throw new SamlConfigProblem("idpEntityId", "is longer than 1024 characters");
  const ssoUrl = v.idpSsoUrl?.trim();
  if (!ssoUrl) throw new SamlConfigProblem("idpSsoUrl", "give the IdP's single sign-on URL (Okta: Identity Provider Single Sign-On URL)");
  const problem = urlProblem(ssoUrl, allowLoopback);
  if (problem) throw new SamlConfigProblem("idpSsoUrl", problem);
  if (!v.idpCertificate) throw new SamlConfigProblem("idpCertificate", "give the IdP's X.509 signing certificate (PEM)");
  return { idpEntityId: entityId, idpSsoUrl: ssoUrl, certificates: [certificateBody(v.idpCertificate)] };
}

/** Reads the IdP's metadata XML: entityID, the HTTP-Redirect SingleSignOnService, the signing certificates. */
export function samlIdpFromMetadata(xml: string, allowLoopback: boolean): SamlIdp {
  if (xml.length > MAX_METADATA_CHARS) throw new SamlConfigProblem("metadataXml", `is larger than ${MAX_METADATA_CHARS / 1024} KB`);
  let doc: Document;
  try {
    doc = parseXml(xml.trim());
  } catch (error) {
    if (error instanceof XmlProblem) throw new SamlConfigProblem("metadataXml", error.message);
    throw error;
  }
  const root = doc.documentElement;
  const entities = root.localName === "EntityDescriptor" ? [root] : descendants(doc, NS.metadata, "EntityDescriptor");
  const withIdp = entities.filter((e) => e.namespaceURI === NS.metadata && children(e, NS.metadata, "IDPSSODescriptor").length);
  if (withIdp.length !== 1) throw new SamlConfigProblem("metadataXml", withIdp.length ? "describes several IdPs; paste the metadata of one" : "is not SAML 2.0 IdP metadata (no EntityDescriptor with an IDPSSODescriptor)");
  const entity = withIdp[0]!;
  const descriptor = children(entity, NS.metadata, "IDPSSODescriptor")[0]!;
  const sso = children(descriptor, NS.metadata, "SingleSignOnService").find((s) => attr(s, "Binding") === HTTP_REDIRECT);
  if (!sso) throw new SamlConfigProblem("metadataXml", "offers no SingleSignOnService with the HTTP-Redirect binding, which TheStorage sends its requests over");
  const certificates = children(descriptor, NS.metadata, "KeyDescriptor")
    .filter((k) => attr(k, "use") === null || attr(k, "use") === "signing")
    .flatMap((k) => descendants(k, NS.dsig, "X509Certificate").map(text))
    .filter(Boolean);
  if (!certificates.length) throw new SamlConfigProblem("metadataXml", "holds no signing certificate (KeyDescriptor use=\"signing\" with an X509Certificate)");
  const checked = samlIdpFromValues({ idpEntityId: attr(entity, "entityID") ?? "", idpSsoUrl: attr(sso, "Location") ?? "", idpCertificate: certificates[0] }, allowLoopback);
  // Every signing certificate listed (two while the IdP rotates its key).
  return { ...checked, certificates: [...new Set(certificates.map((c) => certificateBody(c, "metadataXml")))] };
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Our SP metadata: entity ID, the ACS (HTTP-POST), signed assertions wanted, NameID formats, and our request-signing certificate once a SAML connection exists. */
export function spMetadataXml(spEntityId: string, acsUrl: string, spCertificate?: string): string {
  const keyDescriptor = spCertificate
    ? `
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="${NS.dsig}"><ds:X509Data><ds:X509Certificate>${spCertificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
    : "";
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="${NS.metadata}" entityID="${esc(spEntityId)}">
  <md:SPSSODescriptor AuthnRequestsSigned="${spCertificate ? "true" : "false"}" WantAssertionsSigned="true" protocolSupportEnumeration="${NS.protocol}">${keyDescriptor}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:AssertionConsumerService Binding="${HTTP_POST}" Location="${esc(acsUrl)}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
`;
}

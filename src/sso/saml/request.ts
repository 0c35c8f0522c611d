/**
 * The SP-initiated AuthnRequest over the HTTP-Redirect binding (SAML bindings §3.4): deflated,
 * base64, in the IdP's SSO URL's query with our opaque RelayState, signed RSA-SHA256 over the query
 * (§3.4.4.1: `SAMLRequest=…&RelayState=…&SigAlg=…`, exactly as sent). Pure apart from Web APIs.
 */
import { RSA_SHA256 } from "./verify";
import { HTTP_POST } from "./metadata";
import { NS } from "./xml";

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A request ID: an NCName (starts with a letter or "_"), 160 random bits. */
export function newRequestId(): string {
  return `_${[...crypto.getRandomValues(new Uint8Array(20))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function authnRequestXml(o: { id: string; issueInstant: Date; idpSsoUrl: string; acsUrl: string; spEntityId: string }): string {
  return `<samlp:AuthnRequest xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${o.id}" Version="2.0" IssueInstant="${o.issueInstant.toISOString().replace(/\.\d{3}Z$/, "Z")}" Destination="${esc(o.idpSsoUrl)}" AssertionConsumerServiceURL="${esc(o.acsUrl)}" ProtocolBinding="${HTTP_POST}"><saml:Issuer>${esc(o.spEntityId)}</saml:Issuer><samlp:NameIDPolicy AllowCreate="false" Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"/></samlp:AuthnRequest>`;
}

async function deflateRaw(text: string): Promise<Uint8Array> {
  const stream = new Blob([new TextEncoder().encode(text)]).stream().pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

async function importSigningKey(privateKeyPem: string): Promise<CryptoKey> {
  const der = Uint8Array.from(atob(privateKeyPem.replace(/-----(BEGIN|END) PRIVATE KEY-----|\s+/g, "")), (c) => c.charCodeAt(0));
  return crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
}

/**
 * The IdP's SSO URL (its own query kept) with SAMLRequest (deflated, base64), RelayState, SigAlg and
 * Signature: RSA-SHA256 with `privateKeyPem` over the three parameters exactly as they are sent.
 */
export async function redirectBindingUrl(idpSsoUrl: string, requestXml: string, relayState: string, privateKeyPem: string): Promise<string> {
  const signed = `SAMLRequest=${encodeURIComponent(base64(await deflateRaw(requestXml)))}&RelayState=${encodeURIComponent(relayState)}&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", await importSigningKey(privateKeyPem), new TextEncoder().encode(signed));
  const url = new URL(idpSsoUrl);
  return `${url.origin}${url.pathname}${url.search ? `${url.search}&` : "?"}${signed}&Signature=${encodeURIComponent(base64(new Uint8Array(signature)))}`;
}

/** Reads a Redirect-binding SAMLRequest back (the stand-in IdP and tests use it). */
export async function inflateRedirectRequest(samlRequest: string): Promise<string> {
  const bytes = Uint8Array.from(atob(samlRequest), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Response(stream).text();
}

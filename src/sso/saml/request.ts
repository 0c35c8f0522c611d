/**
 * The SP-initiated AuthnRequest over the HTTP-Redirect binding (SAML bindings §3.4): deflated,
 * base64, in the IdP's SSO URL's query with our opaque RelayState. Pure apart from Web APIs.
 */
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

/** The IdP's SSO URL with SAMLRequest (deflated, base64) and RelayState added (its own query kept). */
export async function redirectBindingUrl(idpSsoUrl: string, requestXml: string, relayState: string): Promise<string> {
  const deflated = await deflateRaw(requestXml);
  let binary = "";
  for (const b of deflated) binary += String.fromCharCode(b);
  const url = new URL(idpSsoUrl);
  url.searchParams.set("SAMLRequest", btoa(binary));
  url.searchParams.set("RelayState", relayState);
  return url.toString();
}

/** Reads a Redirect-binding SAMLRequest back (the stand-in IdP and tests use it). */
export async function inflateRedirectRequest(samlRequest: string): Promise<string> {
  const bytes = Uint8Array.from(atob(samlRequest), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Response(stream).text();
}

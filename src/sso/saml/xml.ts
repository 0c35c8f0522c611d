/**
 * XML parsing for SAML, shared by the Response verifier and the metadata reader: @xmldom/xmldom
 * (the parser xml-crypto itself uses), strict. A DOCTYPE (and so any entity declaration) is refused
 * before parsing; any parser warning or error fails the parse.
 */
import { DOMParser } from "@xmldom/xmldom/lib/dom-parser.js";

/** The few DOM members this code reads (xmldom implements the W3C DOM). */
export interface XmlNode {
  nodeType: number;
  firstChild: XmlNode | null;
  nextSibling: XmlNode | null;
  parentNode: XmlNode | null;
  textContent: string | null;
}
export interface Element extends XmlNode {
  namespaceURI: string | null;
  localName: string;
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  getElementsByTagNameNS(ns: string, localName: string): ArrayLike<Element>;
}
export interface Document extends XmlNode {
  documentElement: Element;
  getElementsByTagNameNS(ns: string, localName: string): ArrayLike<Element>;
}

export const NS = {
  protocol: "urn:oasis:names:tc:SAML:2.0:protocol",
  assertion: "urn:oasis:names:tc:SAML:2.0:assertion",
  metadata: "urn:oasis:names:tc:SAML:2.0:metadata",
  dsig: "http://www.w3.org/2000/09/xmldsig#",
} as const;

export class XmlProblem extends Error {}

/** Parses `xml` strictly; throws XmlProblem for a DOCTYPE, an entity declaration or malformed XML. */
export function parseXml(xml: string): Document {
  // A DTD is how entity expansion (billion laughs) and external entities get in: SAML never needs one.
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml)) throw new XmlProblem("the document declares a DOCTYPE or entities, which SAML never needs");
  const fail = (message: string) => {
    throw new XmlProblem(`the XML is malformed: ${String(message).split("\n")[0]}`);
  };
  let doc: Document;
  try {
    doc = new DOMParser({ errorHandler: { warning: fail, error: fail, fatalError: fail } }).parseFromString(xml, "text/xml") as Document;
  } catch (error) {
    if (error instanceof XmlProblem) throw error;
    throw new XmlProblem(`the XML is malformed: ${(error as Error)?.message ?? String(error)}`);
  }
  if (!doc?.documentElement) throw new XmlProblem("the XML has no root element");
  return doc;
}

/** The element children of `parent` (in the given namespace and local name, when given). */
export function children(parent: Element, ns?: string, localName?: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    const e = n as Element;
    if ((ns === undefined || e.namespaceURI === ns) && (localName === undefined || e.localName === localName)) out.push(e);
  }
  return out;
}

export function child(parent: Element, ns: string, localName: string): Element | null {
  return children(parent, ns, localName)[0] ?? null;
}

/** Every descendant element with this namespace and local name. */
export function descendants(root: Document | Element, ns: string, localName: string): Element[] {
  return Array.from(root.getElementsByTagNameNS(ns, localName));
}

/** The whole text of an element (every text node, so a comment cannot cut a value short), trimmed. */
export function text(e: Element | null): string {
  return (e?.textContent ?? "").trim();
}

export function attr(e: Element | null, name: string): string | null {
  return e && e.hasAttribute(name) ? e.getAttribute(name) : null;
}

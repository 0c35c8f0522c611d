/**
 * The ACS's decision, pure and env-free: is this SAML Response, posted by a browser, a sign-in the
 * connected IdP made for us, now? Every SAML rule of design.md §4e, in this order:
 *
 * - no DOCTYPE / entities, well-formed XML (xml.ts); the root is a samlp:Response with status Success;
 * - no EncryptedAssertion, exactly one Assertion in the whole document, a direct child of the
 *   Response; every element ID unique; signatures only as a direct child of the Response or the
 *   Assertion, at most one each;
 * - each signature verified by xml-crypto against the configured certificate(s) only (KeyInfo in
 *   the message is ignored), RSA-SHA256 and SHA-256 digests only, exactly one Reference, to its
 *   parent's ID; a signature that is present must verify (no falling back to the other one);
 * - then every value is read from the bytes the signature covers (xml-crypto's signed reference,
 *   parsed again), never from the posted document: Issuer = the IdP's entity ID, Audience =
 *   spEntityId, bearer SubjectConfirmationData Recipient = acsUrl, NotBefore / NotOnOrAfter with at
 *   most 60 s of skew; the Response's Destination and InResponseTo, when present, must agree.
 *
 * InResponseTo against an outstanding request and the assertion ID's single use are the caller's
 * (they need the browser's cookie and the database); this returns what they need.
 */
import { SignedXml } from "xml-crypto";
import { CLOCK_SKEW_SECONDS } from "../core";
import { attr, child, children, descendants, NS, parseXml, text, XmlProblem, type Document, type Element } from "./xml";

export const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
export const SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";
const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/** A posted SAMLResponse larger than this (base64 characters) is refused unread. */
export const MAX_RESPONSE_CHARS = 256 * 1024;

export interface SamlPolicy {
  idpEntityId: string;
  /** The configured signing certificates, PEM (two while the IdP rotates). */
  certificates: string[];
  spEntityId: string;
  acsUrl: string;
  /** ms since the epoch. */
  now: number;
}

export interface VerifiedAssertion {
  issuer: string;
  assertionId: string;
  nameId: string;
  nameIdFormat: string | null;
  /** The request this answers; null: unsolicited (IdP-initiated). */
  inResponseTo: string | null;
  /** Until when the assertion could be replayed (ISO): its ID must be kept as used until then. */
  notOnOrAfter: string;
  attributes: Record<string, string[]>;
  /** Which element carried the verified signature. */
  signed: "assertion" | "response" | "both";
}

/** A refused Response: `reason` picks the page, the message goes to the provisioning log. */
export class SamlRejected extends Error {
  constructor(
    readonly reason: "invalid_token" | "idp_error",
    message: string,
  ) {
    super(message);
  }
}

const reject = (message: string): never => {
  throw new SamlRejected("invalid_token", message);
};

/** Base64 (the HTTP-POST binding) to the Response's XML; refuses oversize or non-base64 input. */
export function decodePostedResponse(samlResponse: string): string {
  if (samlResponse.length > MAX_RESPONSE_CHARS) reject(`the SAMLResponse is larger than ${MAX_RESPONSE_CHARS / 1024} KB`);
  const compact = samlResponse.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) reject("the SAMLResponse is not base64");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(compact), (c) => c.charCodeAt(0)));
  } catch {
    return reject("the SAMLResponse is not UTF-8 XML");
  }
}

/**
 * Verifies `signature` (a ds:Signature, child of `parent`) of `xml` with one of `certificates`;
 * returns the canonical XML of the signed `parent`, or throws SamlRejected.
 */
function verifiedBytes(xml: string, signature: Element, parent: Element, certificates: string[]): string {
  const id = attr(parent, "ID");
  if (!id) reject(`the signed ${parent.localName} has no ID`);
  let lastProblem = "it does not verify with the configured certificate";
  for (const certificate of certificates) {
    const sig = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
    // Only what §4e allows: RSA-SHA256 signatures over SHA-256 digests, exclusive or inclusive c14n.
    sig.SignatureAlgorithms = { [RSA_SHA256]: sig.SignatureAlgorithms[RSA_SHA256]! } as typeof sig.SignatureAlgorithms;
    sig.HashAlgorithms = { [SHA256]: sig.HashAlgorithms[SHA256]! } as typeof sig.HashAlgorithms;
    let valid = false;
    try {
      sig.loadSignature(signature as unknown as Parameters<SignedXml["loadSignature"]>[0]);
      if (sig.signatureAlgorithm !== RSA_SHA256) return reject(`the ${parent.localName} is signed with ${sig.signatureAlgorithm ?? "no algorithm"}; TheStorage accepts only RSA-SHA256 (set the IdP's signature algorithm to SHA-256)`);
      const refs = sig.getReferences();
      if (refs.length !== 1) return reject(`the ${parent.localName}'s signature has ${refs.length} references, not one`);
      if (refs[0]!.digestAlgorithm !== SHA256) return reject(`the ${parent.localName}'s signature uses the digest ${refs[0]!.digestAlgorithm}; TheStorage accepts only SHA-256`);
      if (refs[0]!.uri !== `#${id}`) return reject(`the ${parent.localName}'s signature covers ${refs[0]!.uri || "the whole document"}, not the ${parent.localName} itself`);
      valid = sig.checkSignature(xml);
    } catch (error) {
      if (error instanceof SamlRejected) throw error;
      lastProblem = (error as Error)?.message ?? String(error);
      continue;
    }
    const signed = sig.getSignedReferences();
    if (valid && signed.length === 1) return signed[0]!;
  }
  return reject(`the ${parent.localName}'s signature is invalid: ${lastProblem}`);
}

function instant(e: Element | null, name: string): number | null {
  const raw = attr(e, name);
  if (raw === null) return null;
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) reject(`${e!.localName}/@${name} is not a date-time`);
  return ms;
}

/** Verifies a SAML Response (its XML) under `policy`; throws SamlRejected saying why not. */
export function verifySamlResponse(xml: string, policy: SamlPolicy): VerifiedAssertion {
  let doc: Document;
  try {
    doc = parseXml(xml);
  } catch (error) {
    if (error instanceof XmlProblem) return reject(error.message);
    throw error;
  }
  const response = doc.documentElement;
  if (response.namespaceURI !== NS.protocol || response.localName !== "Response") reject("the document is not a SAML 2.0 Response");

  const statusCode = child(child(response, NS.protocol, "Status") ?? response, NS.protocol, "StatusCode");
  const status = attr(statusCode, "Value");
  if (status !== SUCCESS) {
    const inner = attr(child(statusCode ?? response, NS.protocol, "StatusCode"), "Value");
    const message = text(child(child(response, NS.protocol, "Status") ?? response, NS.protocol, "StatusMessage"));
    throw new SamlRejected("idp_error", `the IdP answered ${status ?? "no status"}${inner ? ` / ${inner}` : ""}${message ? `: ${message}` : ""}`);
  }

  if (descendants(doc, NS.assertion, "EncryptedAssertion").length) reject("the assertion is encrypted; TheStorage reads only signed, unencrypted assertions (turn assertion encryption off in the IdP)");
  const assertions = descendants(doc, NS.assertion, "Assertion");
  if (assertions.length !== 1) reject(`the Response holds ${assertions.length} Assertions; exactly one is accepted`);
  const assertion = assertions[0]!;
  if (assertion.parentNode !== response) reject("the Assertion is not a direct child of the Response");

  const ids = new Set<string>();
  for (const e of descendants(doc, "*", "*")) {
    for (const name of ["ID", "Id", "id"]) {
      const v = attr(e, name);
      if (v === null) continue;
      if (ids.has(v)) reject(`the ID ${JSON.stringify(v)} occurs twice`);
      ids.add(v);
    }
  }

  const signatures = descendants(doc, NS.dsig, "Signature");
  const responseSignatures = children(response, NS.dsig, "Signature");
  const assertionSignatures = children(assertion, NS.dsig, "Signature");
  if (responseSignatures.length > 1 || assertionSignatures.length > 1 || signatures.length !== responseSignatures.length + assertionSignatures.length) {
    reject("the Response carries a signature in a place SAML does not put one");
  }
  if (!signatures.length) reject("the Response is not signed: configure the IdP to sign the assertion (or the response) with SHA-256");

  // Read only from signed bytes: the signed Assertion itself, else the one inside the signed Response.
  let signedAssertion: Element | null = null;
  let signedResponse: Element | null = null;
  if (responseSignatures.length) {
    signedResponse = parseXml(verifiedBytes(xml, responseSignatures[0]!, response, policy.certificates)).documentElement;
    const inner = children(signedResponse, NS.assertion, "Assertion");
    if (inner.length !== 1) reject("the signed Response does not hold exactly one Assertion");
    signedAssertion = inner[0]!;
  }
  if (assertionSignatures.length) {
    signedAssertion = parseXml(verifiedBytes(xml, assertionSignatures[0]!, assertion, policy.certificates)).documentElement;
  }
  const a = signedAssertion!;
  if (a.namespaceURI !== NS.assertion || a.localName !== "Assertion" || attr(a, "ID") !== attr(assertion, "ID")) reject("the signed element is not the Response's Assertion");
  if (attr(a, "Version") !== "2.0") reject("the Assertion is not SAML 2.0");

  const issuer = text(child(a, NS.assertion, "Issuer"));
  if (issuer !== policy.idpEntityId) reject(`the assertion was issued by ${JSON.stringify(issuer)}, not the connected IdP ${JSON.stringify(policy.idpEntityId)}`);

  const skew = CLOCK_SKEW_SECONDS * 1000;
  const now = policy.now;
  const subject = child(a, NS.assertion, "Subject");
  const nameIdElement = child(subject ?? a, NS.assertion, "NameID");
  const nameId = text(nameIdElement);
  if (!nameId) reject("the assertion names no subject (NameID)");

  // A bearer confirmation for our ACS that has not expired; its InResponseTo is the request answered.
  let confirmation: Element | null = null;
  let problem = "the assertion has no bearer SubjectConfirmation";
  for (const sc of children(subject ?? a, NS.assertion, "SubjectConfirmation")) {
    if (attr(sc, "Method") !== BEARER) continue;
    const data = child(sc, NS.assertion, "SubjectConfirmationData");
    const recipient = attr(data, "Recipient");
    const until = instant(data, "NotOnOrAfter");
    const from = instant(data, "NotBefore");
    if (recipient !== policy.acsUrl) problem = `the assertion's Recipient is ${JSON.stringify(recipient)}, not this tenant's ACS URL ${policy.acsUrl}`;
    else if (until === null) problem = "the assertion's SubjectConfirmationData has no NotOnOrAfter";
    else if (now >= until + skew) problem = `the assertion expired at ${new Date(until).toISOString()}`;
    else if (from !== null && now < from - skew) problem = `the assertion is not valid before ${new Date(from).toISOString()}`;
    else {
      confirmation = data;
      break;
    }
  }
  if (!confirmation) reject(problem);

  const conditions = child(a, NS.assertion, "Conditions");
  if (!conditions) reject("the assertion has no Conditions (no audience, no validity window)");
  const notBefore = instant(conditions, "NotBefore");
  const notOnOrAfter = instant(conditions, "NotOnOrAfter");
  if (notBefore !== null && now < notBefore - skew) reject(`the assertion is not valid before ${new Date(notBefore).toISOString()}`);
  if (notOnOrAfter !== null && now >= notOnOrAfter + skew) reject(`the assertion expired at ${new Date(notOnOrAfter).toISOString()}`);
  const restrictions = children(conditions!, NS.assertion, "AudienceRestriction");
  if (!restrictions.length) reject("the assertion names no Audience");
  for (const r of restrictions) {
    const audiences = children(r, NS.assertion, "Audience").map(text);
    if (!audiences.includes(policy.spEntityId)) reject(`the assertion is for ${audiences.map((x) => JSON.stringify(x)).join(", ")}, not this tenant's SP entity ID ${policy.spEntityId}`);
  }

  // The Response's own Destination and InResponseTo (signed when the Response is) must agree.
  const envelope = signedResponse ?? response;
  const destination = attr(envelope, "Destination");
  if (destination !== null && destination !== policy.acsUrl) reject(`the Response's Destination is ${JSON.stringify(destination)}, not this tenant's ACS URL ${policy.acsUrl}`);
  const inResponseTo = attr(confirmation, "InResponseTo");
  const responseInResponseTo = attr(envelope, "InResponseTo");
  if (responseInResponseTo !== null && responseInResponseTo !== inResponseTo) reject("the Response and its Assertion answer different requests (InResponseTo)");

  const attributes: Record<string, string[]> = {};
  for (const statement of children(a, NS.assertion, "AttributeStatement")) {
    for (const at of children(statement, NS.assertion, "Attribute")) {
      const name = attr(at, "Name");
      if (!name) continue;
      (attributes[name] ??= []).push(...children(at, NS.assertion, "AttributeValue").map(text));
    }
  }
  const untils = [notOnOrAfter, instant(confirmation, "NotOnOrAfter")].filter((v): v is number => v !== null);
  return {
    issuer,
    assertionId: attr(a, "ID")!,
    nameId,
    nameIdFormat: attr(nameIdElement, "Format"),
    inResponseTo,
    notOnOrAfter: new Date(Math.min(...untils) + skew).toISOString(),
    attributes,
    signed: signedResponse && assertionSignatures.length ? "both" : signedResponse ? "response" : "assertion",
  };
}

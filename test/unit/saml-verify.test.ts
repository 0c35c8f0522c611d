/**
 * The SAML Response verifier (src/sso/saml/verify.ts) and metadata reader, pure, in Node: responses
 * are signed here with xml-crypto. The ACS tests (test/integration/sso-saml.test.ts) cover every rule
 * through the Worker; these add what is cheaper to sweep here: a property test that no change to a
 * signed response's bytes yields a different identity, and the metadata edge cases.
 */
import { createVerify } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { samlClaims, samlMatchKeys } from "../../src/sso/saml/claims";
import { newSigningCredentials } from "../../src/sso/saml/credentials";
import { samlIdpFromMetadata, spMetadataXml } from "../../src/sso/saml/metadata";
import { authnRequestXml, inflateRedirectRequest, redirectBindingUrl } from "../../src/sso/saml/request";
import { decodePostedResponse, SamlRejected, verifySamlResponse, type SamlPolicy } from "../../src/sso/saml/verify";
import { b64, idpMetadataXml, newIdpKey, signedResponse, type IdpKey } from "../support/saml-idp";

const o = { issuer: "http://www.okta.com/exk1", acsUrl: "https://sp.test/api/acme/sso/saml/acs", audience: "https://sp.test/api/acme/sso/saml/metadata", nameId: "Alice@Example.com", inResponseTo: "_req1", attributes: { email: "alice@example.com", firstName: "Alice", lastName: "Liddell" } };
let key: IdpKey;
let policy: SamlPolicy;
beforeAll(async () => {
  key = await newIdpKey();
  policy = { idpEntityId: o.issuer, certificates: [key.certificatePem], spEntityId: o.audience, acsUrl: o.acsUrl, now: Date.now() };
});

describe("verifySamlResponse", () => {
  it("reads the signed values of an Okta-shaped response", () => {
    for (const sign of ["assertion", "response", "both"] as const) {
      const v = verifySamlResponse(signedResponse(o, key, { sign }), { ...policy, now: Date.now() });
      expect(v).toMatchObject({ issuer: o.issuer, nameId: o.nameId, inResponseTo: "_req1", signed: sign });
      expect(samlClaims(v)).toMatchObject({ iss: o.issuer, sub: o.nameId, email: "alice@example.com", given_name: "Alice", family_name: "Liddell" });
      expect(samlMatchKeys(v)).toEqual({ issuer: o.issuer, subject: o.nameId, externalIds: [], userNames: ["alice@example.com"] });
    }
  });

  it("accepts the IdP's next certificate while it rotates, and refuses when neither is the signer", async () => {
    const next = await newIdpKey();
    const xml = signedResponse(o, next);
    expect(verifySamlResponse(xml, { ...policy, certificates: [key.certificatePem, next.certificatePem], now: Date.now() }).nameId).toBe(o.nameId);
    expect(() => verifySamlResponse(xml, { ...policy, now: Date.now() })).toThrow(SamlRejected);
  });

  it("property: any one-character change inside the signed response is refused or leaves every value unchanged", () => {
    const xml = signedResponse(o, key, { sign: "assertion" });
    const expected = verifySamlResponse(xml, { ...policy, now: Date.now() });
    const start = xml.indexOf("<saml2:Assertion");
    fc.assert(
      fc.property(fc.integer({ min: start, max: xml.length - 1 }), fc.constantFrom("a", "Z", "0", " ", "<", ">", '"', "=", "/", "-"), (at, ch) => {
        const mutated = xml.slice(0, at) + ch + xml.slice(at + 1);
        let v;
        try {
          v = verifySamlResponse(mutated, { ...policy, now: Date.now() });
        } catch (error) {
          expect(error).toBeInstanceOf(SamlRejected);
          return;
        }
        // Only bytes outside what the signature covers (e.g. inside the SignatureValue's whitespace) may change without refusal.
        expect({ nameId: v.nameId, issuer: v.issuer, attributes: v.attributes, inResponseTo: v.inResponseTo, assertionId: v.assertionId }).toEqual({
          nameId: expected.nameId,
          issuer: expected.issuer,
          attributes: expected.attributes,
          inResponseTo: expected.inResponseTo,
          assertionId: expected.assertionId,
        });
      }),
      { numRuns: 300 },
    );
  });

  it("decodes the POST binding and refuses what is not base64", () => {
    const xml = signedResponse(o, key);
    expect(decodePostedResponse(b64(xml))).toBe(xml);
    expect(() => decodePostedResponse("@@@")).toThrow(/not base64/);
    expect(() => decodePostedResponse("A".repeat(300 * 1024))).toThrow(/larger than/);
  });
});

describe("metadata and requests", () => {
  it("reads every signing certificate of IdP metadata and refuses non-https SSO URLs unless loopback is allowed", () => {
    const md = idpMetadataXml({ entityId: o.issuer, ssoUrl: "https://acme.okta.test/sso", key });
    expect(samlIdpFromMetadata(md, false)).toEqual({ idpEntityId: o.issuer, idpSsoUrl: "https://acme.okta.test/sso", certificates: [key.certificateBase64] });
    const local = idpMetadataXml({ entityId: o.issuer, ssoUrl: "http://127.0.0.1:8790/saml/sso", key });
    expect(() => samlIdpFromMetadata(local, false)).toThrow(/https/);
    expect(samlIdpFromMetadata(local, true).idpSsoUrl).toBe("http://127.0.0.1:8790/saml/sso");
  });

  it("builds a Redirect-binding AuthnRequest that round-trips, signed RSA-SHA256 over the query as sent, and SP metadata naming our ACS", async () => {
    const sp = await newSigningCredentials("sp.test", 3650);
    const xml = authnRequestXml({ id: "_abc", issueInstant: new Date(0), idpSsoUrl: "https://idp.test/sso?x=1", acsUrl: o.acsUrl, spEntityId: o.audience });
    const raw = await redirectBindingUrl("https://idp.test/sso?x=1", xml, "relay+/=", sp.privateKeyPem);
    const url = new URL(raw);
    expect(url.searchParams.get("x")).toBe("1");
    expect(url.searchParams.get("RelayState")).toBe("relay+/=");
    expect(url.searchParams.get("SigAlg")).toBe("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    expect(await inflateRedirectRequest(url.searchParams.get("SAMLRequest")!)).toBe(xml);
    // What an IdP verifies: the raw "SAMLRequest=…&RelayState=…&SigAlg=…" bytes, with our certificate.
    const signed = /SAMLRequest=[^&]*&RelayState=[^&]*&SigAlg=[^&]*/.exec(raw)![0];
    expect(createVerify("RSA-SHA256").update(signed).verify(sp.certificatePem, url.searchParams.get("Signature")!, "base64")).toBe(true);
    expect(createVerify("RSA-SHA256").update(signed.replace("relay", "relaY")).verify(sp.certificatePem, url.searchParams.get("Signature")!, "base64")).toBe(false);
    expect(spMetadataXml(o.audience, o.acsUrl)).toContain(`Location="${o.acsUrl}"`);
    expect(spMetadataXml(o.audience, o.acsUrl, sp.certificateBase64)).toContain(`AuthnRequestsSigned="true"`);
  });
});

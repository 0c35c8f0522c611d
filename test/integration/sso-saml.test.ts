/**
 * Sign-in through the customer's IdP over SAML 2.0 (design.md §4e), through the Worker's HTTP surface
 * with real D1. Every Response is signed here, at test time, with xml-crypto and a fresh key and
 * certificate (test/support/saml-idp.ts); every SAML rule and known attack has a test that fails
 * without its check.
 */
import { env, exports } from "cloudflare:workers";
import { createVerify } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { inflateRedirectRequest } from "../../src/sso/saml/request";
import { csrfOf, send, signIn as consoleSignIn } from "../support/console-session";
import { admin, oktaUser, scimTenant, uniqueSlug, type ScimTenant } from "../support/harness";
import { assertionXml, b64, idpMetadataXml, newIdpKey, responseXml, signedResponse, signElement, type IdpKey, type ResponseOptions, type SignOptions } from "../support/saml-idp";

const ORIGIN = "https://scim.test";
const APP = "https://app.thestorage.test";
const RETURN_TO = `${APP}/signed-in?next=%2Fhome`;
const IDP_ENTITY = "http://www.okta.com/exk1saml0test";
const IDP_SSO = "https://acme.okta.test/app/thestorage/exk1saml0test/sso/saml";

let key: IdpKey;
let otherKey: IdpKey;
beforeAll(async () => {
  [key, otherKey] = await Promise.all([newIdpKey("acme.okta.test"), newIdpKey("evil.test")]);
});

interface Raw {
  status: number;
  headers: Headers;
  text: string;
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Raw> {
  const response = await exports.default.fetch(new Request(`${ORIGIN}${path}`, { headers, redirect: "manual" }));
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function postAcs(slug: string, fields: Record<string, string>, cookie?: string): Promise<Raw> {
  const response = await exports.default.fetch(
    new Request(`${ORIGIN}/api/${slug}/sso/saml/acs`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...(cookie ? { Cookie: cookie } : {}) },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    }),
  );
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const urls = (slug: string) => ({ acsUrl: `${ORIGIN}/api/${slug}/sso/saml/acs`, audience: `${ORIGIN}/api/${slug}/sso/saml/metadata` });

async function samlTenant(extra: Record<string, unknown> = {}) {
  const t = await scimTenant();
  const saved = await admin("PUT", `/tenants/${t.slug}/sso`, { protocol: "saml", metadataXml: idpMetadataXml({ entityId: IDP_ENTITY, ssoUrl: IDP_SSO, key }), ...extra });
  expect(saved.status, saved.text).toBe(200);
  return t;
}

async function provision(t: ScimTenant, overrides: Record<string, unknown> = {}) {
  const created = await t.scim("POST", "/Users", oktaUser(overrides));
  expect(created.status, created.text).toBe(201);
  return created.body as { id: string; userName: string; externalId: string };
}

/** `start` as a browser: the AuthnRequest's ID, the RelayState and the attempt cookie. */
async function start(slug: string) {
  const started = await get(`/api/${slug}/sso/start?return_to=${encodeURIComponent(RETURN_TO)}`);
  expect(started.status, started.text).toBe(302);
  const location = new URL(started.headers.get("location")!);
  const request = await inflateRedirectRequest(location.searchParams.get("SAMLRequest")!);
  const requestId = /ID="([^"]+)"/.exec(request)![1]!;
  const relayState = location.searchParams.get("RelayState")!;
  const setCookie = started.headers.get("set-cookie") ?? "";
  return { location, request, requestId, relayState, setCookie, cookie: setCookie.split(";")[0]! };
}

/** start → (the IdP signs a response for `nameId`) → ACS, as a browser. */
async function signIn(t: { slug: string }, nameId: string, o: Partial<ResponseOptions> = {}, s: SignOptions = {}) {
  const st = await start(t.slug);
  const xml = signedResponse({ issuer: IDP_ENTITY, ...urls(t.slug), nameId, inResponseTo: st.requestId, ...o }, key, s);
  const acs = await postAcs(t.slug, { SAMLResponse: b64(xml), RelayState: st.relayState }, st.cookie);
  return { st, xml, acs };
}

function ticketOf(acs: Raw): string {
  expect(acs.status, acs.text).toBe(303);
  const location = new URL(acs.headers.get("location")!);
  expect(location.origin + location.pathname).toBe(`${APP}/signed-in`);
  return location.searchParams.get("ticket")!;
}

async function logOf(slug: string) {
  const events = await admin("GET", `/tenants/${slug}/events?limit=50`);
  return (events.body.events as any[]).filter((e) => e.action === "sso.sign_in");
}

/** A refusal page: its status and that it names the reason; the log row says why. */
async function expectRefused(slug: string, acs: Raw, status: number, title: RegExp, logDetail: RegExp) {
  expect(acs.status, acs.text).toBe(status);
  expect(acs.headers.get("content-type")).toMatch(/text\/html/);
  expect(acs.text).toMatch(title);
  expect(acs.headers.get("location")).toBeNull();
  const log = await logOf(slug);
  expect(log.some((e) => e.outcome === "failure" && logDetail.test(e.detail)), JSON.stringify(log.map((e) => e.detail))).toBe(true);
}

describe("the SAML connection (admin API)", () => {
  it("saves from IdP metadata and answers the values the IdP admin pastes", async () => {
    const t = await samlTenant();
    const read = await admin("GET", `/tenants/${t.slug}/sso`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      protocol: "saml",
      enabled: true,
      idpEntityId: IDP_ENTITY,
      idpSsoUrl: IDP_SSO,
      allowIdpInitiated: false,
      acsUrl: `${ORIGIN}/api/${t.slug}/sso/saml/acs`,
      spEntityId: `${ORIGIN}/api/${t.slug}/sso/saml/metadata`,
      metadataUrl: `${ORIGIN}/api/${t.slug}/sso/saml/metadata`,
    });
    expect(read.body.idpCertificates).toEqual([{ sha256Fingerprint: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/) }]);
    expect(read.body.issuer).toBeUndefined();
  });

  it("saves from entity ID, SSO URL and a PEM certificate", async () => {
    const t = await scimTenant();
    const saved = await admin("PUT", `/tenants/${t.slug}/sso`, { protocol: "saml", idpEntityId: IDP_ENTITY, idpSsoUrl: IDP_SSO, idpCertificate: key.certificatePem, allowIdpInitiated: true });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.body).toMatchObject({ protocol: "saml", idpEntityId: IDP_ENTITY, allowIdpInitiated: true });
  });

  it("says what is wrong with bad metadata or values, and writes nothing", async () => {
    const t = await scimTenant();
    const put = (body: Record<string, unknown>) => admin("PUT", `/tenants/${t.slug}/sso`, body);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ protocol: "saml", metadataXml: "<x/>" }, /metadataXml: is not SAML 2.0 IdP metadata/],
      [{ protocol: "saml", metadataXml: "<md:EntityDescriptor" }, /metadataXml: the XML is malformed/],
      [{ protocol: "saml", metadataXml: `<!DOCTYPE x [<!ENTITY e "x">]>${idpMetadataXml({ entityId: IDP_ENTITY, ssoUrl: IDP_SSO, key })}` }, /metadataXml: .*DOCTYPE/],
      [{ protocol: "saml", metadataXml: idpMetadataXml({ entityId: IDP_ENTITY, ssoUrl: IDP_SSO, key }).replace(/<md:KeyDescriptor[\s\S]*<\/md:KeyDescriptor>/, "") }, /metadataXml: holds no signing certificate/],
      [{ protocol: "saml", metadataXml: idpMetadataXml({ entityId: IDP_ENTITY, ssoUrl: "http://idp.example.com/sso", key }) }, /idpSsoUrl: must be an https:\/\/ URL/],
      [{ protocol: "saml", idpSsoUrl: IDP_SSO, idpCertificate: key.certificatePem }, /idpEntityId: give the IdP's entity ID/],
      [{ protocol: "saml", idpEntityId: IDP_ENTITY, idpCertificate: key.certificatePem }, /idpSsoUrl: give/],
      [{ protocol: "saml", idpEntityId: IDP_ENTITY, idpSsoUrl: IDP_SSO, idpCertificate: "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----" }, /idpCertificate: is not a certificate/],
      [{ protocol: "saml", idpEntityId: IDP_ENTITY, idpSsoUrl: IDP_SSO, idpCertificate: btoa("garbage bytes here") }, /idpCertificate: is not a readable X.509 certificate/],
    ];
    for (const [body, detail] of cases) {
      const r = await put(body);
      expect(r.status, r.text).toBe(400);
      expect(r.body.detail).toMatch(detail);
    }
    expect((await admin("GET", `/tenants/${t.slug}/sso`)).status).toBe(404);
  });

  it("serves the SP metadata with our entity ID and ACS", async () => {
    const t = await samlTenant();
    const md = await get(`/api/${t.slug}/sso/saml/metadata`);
    expect(md.status).toBe(200);
    expect(md.headers.get("content-type")).toMatch(/application\/samlmetadata\+xml/);
    expect(md.text).toContain(`entityID="${ORIGIN}/api/${t.slug}/sso/saml/metadata"`);
    expect(md.text).toContain(`Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${ORIGIN}/api/${t.slug}/sso/saml/acs"`);
    expect(md.text).toContain('WantAssertionsSigned="true"');
    expect(md.text).toContain('AuthnRequestsSigned="true"');
    const spCertificate = (await admin("GET", `/tenants/${t.slug}/sso`)).body.spCertificate as string;
    expect(md.text).toContain(`<ds:X509Certificate>${spCertificate.replace(/-----[^-]+-----|\s+/g, "")}</ds:X509Certificate>`);
    // The request-signing key is kept when the connection is saved again.
    expect((await admin("PUT", `/tenants/${t.slug}/sso`, { protocol: "saml", idpEntityId: IDP_ENTITY, idpSsoUrl: IDP_SSO, idpCertificate: key.certificatePem })).body.spCertificate).toBe(spCertificate);
    const bare = await scimTenant();
    expect((await get(`/api/${bare.slug}/sso/saml/metadata`)).text).toContain('AuthnRequestsSigned="false"');
    expect((await get(`/api/no-such-${uniqueSlug()}/sso/saml/metadata`)).status).toBe(404);
  });
});

describe("SP-initiated sign-in", () => {
  it("sends an AuthnRequest over HTTP-Redirect with an opaque RelayState and a cookie the IdP's POST brings back", async () => {
    const t = await samlTenant();
    const st = await start(t.slug);
    expect(st.location.origin + st.location.pathname).toBe(IDP_SSO);
    expect(st.request).toContain(`AssertionConsumerServiceURL="${urls(t.slug).acsUrl}"`);
    expect(st.request).toContain(`<saml:Issuer>${urls(t.slug).audience}</saml:Issuer>`);
    expect(st.request).toContain(`Destination="${IDP_SSO}"`);
    // Signed RSA-SHA256 over the query as sent, with the certificate the connection publishes.
    expect(st.location.searchParams.get("SigAlg")).toBe("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    const spCertificate = (await admin("GET", `/tenants/${t.slug}/sso`)).body.spCertificate as string;
    const signed = /SAMLRequest=[^&]*&RelayState=[^&]*&SigAlg=[^&]*/.exec(st.location.toString())![0];
    expect(createVerify("RSA-SHA256").update(signed).verify(spCertificate, st.location.searchParams.get("Signature")!, "base64")).toBe(true);
    expect(st.relayState).not.toMatch(/^https?:/);
    expect(st.relayState).not.toContain("app.thestorage.test");
    // A cross-site POST only carries SameSite=None cookies; the cookie reaches only the ACS.
    expect(st.setCookie).toMatch(/SameSite=None/i);
    expect(st.setCookie).toMatch(/Secure/);
    expect(st.setCookie).toMatch(/HttpOnly/);
    expect(st.setCookie).toContain(`Path=/api/${t.slug}/sso/saml/acs`);
  });

  it("signs a provisioned user in: 303 to return_to with a ticket that redeems to the user, logged", async () => {
    const t = await samlTenant();
    const user = await provision(t);
    const { acs } = await signIn(t, user.userName.toLowerCase());
    const ticket = ticketOf(acs);
    const redeemed = await admin("POST", "/sign-ins/redeem", { ticket });
    expect(redeemed.status, redeemed.text).toBe(200);
    expect(redeemed.body.user).toMatchObject({ id: user.id, userName: user.userName });
    expect(redeemed.body.signIn).toMatchObject({ protocol: "saml", issuer: IDP_ENTITY, subject: user.userName.toLowerCase() });
    const log = await logOf(t.slug);
    expect(log[0]).toMatchObject({ outcome: "success", resourceId: user.id });
  });

  it("accepts a response signed on the Response only, or on both", async () => {
    const t = await samlTenant();
    const user = await provision(t);
    ticketOf((await signIn(t, user.userName, {}, { sign: "response" })).acs);
    ticketOf((await signIn(t, user.userName, {}, { sign: "both" })).acs);
  });

  it("refuses a user SCIM never provisioned, and a deactivated one", async () => {
    const t = await samlTenant();
    await expectRefused(t.slug, (await signIn(t, "nobody@example.com")).acs, 403, /have access to TheStorage yet/, /not_provisioned/);
    const user = await provision(t, { active: false });
    await expectRefused(t.slug, (await signIn(t, user.userName)).acs, 403, /deactivated/, /deactivated/);
  });

  it("JIT (SCIM off): creates the user from the NameID and attributes with the provider as source, then signs in", async () => {
    const slug = uniqueSlug("samljit");
    expect((await admin("POST", "/tenants", { slug })).status).toBe(201);
    const saved = await admin("PUT", `/tenants/${slug}/sso`, { protocol: "saml", metadataXml: idpMetadataXml({ entityId: IDP_ENTITY, ssoUrl: IDP_SSO, key }), jit: true });
    expect(saved.status, saved.text).toBe(200);
    const ticket = ticketOf((await signIn({ slug }, "new.person@example.com", { attributes: { email: "new.person@example.com", firstName: "New", lastName: "Person" } })).acs);
    const redeemed = await admin("POST", "/sign-ins/redeem", { ticket });
    expect(redeemed.body.user).toMatchObject({ userName: "new.person@example.com", source: "okta", active: true });
    // An entity ID that is not a URL still names a provider ("generic"), never a 5xx.
    const other = uniqueSlug("samljit");
    expect((await admin("POST", "/tenants", { slug: other })).status).toBe(201);
    expect((await admin("PUT", `/tenants/${other}/sso`, { protocol: "saml", idpEntityId: "acme-idp", idpSsoUrl: IDP_SSO, idpCertificate: key.certificatePem, jit: true })).status).toBe(200);
    const st = await start(other);
    const xml = signedResponse({ issuer: "acme-idp", ...urls(other), nameId: "x@example.com", inResponseTo: st.requestId }, key);
    const acs = await postAcs(other, { SAMLResponse: b64(xml), RelayState: st.relayState }, st.cookie);
    expect((await admin("POST", "/sign-ins/redeem", { ticket: ticketOf(acs) })).body.user.source).toBe("generic");
  });

  it("refuses a response to another request (InResponseTo), and one without this browser's cookie", async () => {
    const t = await samlTenant();
    const user = await provision(t);
    const st = await start(t.slug);
    const other = await start(t.slug);
    const xml = signedResponse({ issuer: IDP_ENTITY, ...urls(t.slug), nameId: user.userName, inResponseTo: other.requestId }, key);
    await expectRefused(t.slug, await postAcs(t.slug, { SAMLResponse: b64(xml), RelayState: st.relayState }, st.cookie), 400, /could not be completed/, /answers request .*, not this browser's outstanding request/);
    const own = signedResponse({ issuer: IDP_ENTITY, ...urls(t.slug), nameId: user.userName, inResponseTo: other.requestId }, key);
    const noCookie = await postAcs(t.slug, { SAMLResponse: b64(own), RelayState: other.relayState });
    expect(noCookie.status).toBe(400);
  });
});

describe("attacks on the ACS (each refused)", () => {
  // Refusals anyone can cause by POSTing to the ACS are logged once a minute per tenant and reason, so
  // each case that checks its log row runs in a tenant of its own.
  it("XML signature wrapping: a second, unsigned Assertion before or after the signed one, or the signed one hidden inside it", async () => {
    for (const place of ["before", "after", "inside"] as const) {
      const t = await samlTenant();
      const victim = await provision(t);
      const attacker = await provision(t);
      const st = await start(t.slug);
      const o = { issuer: IDP_ENTITY, ...urls(t.slug), inResponseTo: st.requestId, nameId: "" };
      const signed = signElement(assertionXml({ ...o, nameId: attacker.userName, ...(place === "inside" ? { assertionId: "idSame" } : {}) }), key, "Assertion");
      const forged = assertionXml({ ...o, nameId: victim.userName, ...(place === "inside" ? { assertionId: "idSame" } : {}) });
      const inner = place === "before" ? forged + signed : place === "after" ? signed + forged : forged.replace("</saml2:Assertion>", `<saml2:Advice>${signed}</saml2:Advice></saml2:Assertion>`);
      const acs = await postAcs(t.slug, { SAMLResponse: b64(responseXml(o, inner)), RelayState: st.relayState }, st.cookie);
      await expectRefused(t.slug, acs, 400, /could not be verified/, /holds 2 Assertions; exactly one/);
      expect((await logOf(t.slug)).some((e) => e.outcome === "success")).toBe(false);
    }
  });

  it("a signed Response whose Assertion is swapped for an unsigned one", async () => {
    const t = await samlTenant();
    const victim = await provision(t);
    const attacker = await provision(t);
    const st = await start(t.slug);
    const o = { issuer: IDP_ENTITY, ...urls(t.slug), inResponseTo: st.requestId, nameId: "" };
    const signed = signElement(responseXml(o, assertionXml({ ...o, nameId: attacker.userName })), key, "Response");
    const swapped = signed.replace(attacker.userName, victim.userName);
    await expectRefused(t.slug, await postAcs(t.slug, { SAMLResponse: b64(swapped), RelayState: st.relayState }, st.cookie), 400, /could not be verified/, /Response's signature is invalid/);
  });

  it("a comment inside the NameID: the whole signed value is the subject, not the part before the comment", async () => {
    const t = await samlTenant();
    const victim = await provision(t, { userName: `victim-${crypto.randomUUID().slice(0, 6)}@example.com` });
    const st = await start(t.slug);
    const o = { issuer: IDP_ENTITY, ...urls(t.slug), inResponseTo: st.requestId, nameId: "" };
    const signed = signElement(assertionXml(o, `${victim.userName}<!---->.evil.test`), key, "Assertion");
    const acs = await postAcs(t.slug, { SAMLResponse: b64(responseXml(o, signed)), RelayState: st.relayState }, st.cookie);
    await expectRefused(t.slug, acs, 403, /have access to TheStorage yet/, new RegExp(`not_provisioned.*${victim.userName.replace(/[.]/g, "\\.")}\\.evil\\.test`));
  });

  it("an unsigned response", async () => {
    const t = await samlTenant();
    const user = await provision(t);
    await expectRefused(t.slug, (await signIn(t, user.userName, {}, { sign: "none" })).acs, 400, /could not be verified/, /not signed/);
  });

  it("a response signed by another key, even with that key's certificate in KeyInfo", async () => {
    const t = await samlTenant();
    const user = await provision(t);
    const st = await start(t.slug);
    const xml = signedResponse({ issuer: IDP_ENTITY, ...urls(t.slug), nameId: user.userName, inResponseTo: st.requestId }, otherKey);
    const acs = await postAcs(t.slug, { SAMLResponse: b64(xml), RelayState: st.relayState }, st.cookie);
    expect(xml).toContain(otherKey.certificateBase64); // the message carries the attacker's certificate
    await expectRefused(t.slug, acs, 400, /could not be verified/, /Assertion's signature is invalid/);
  });

  it("SHA-1", async () => {
    const t = await samlTenant();
    const user = await provision(t);
    await expectRefused(t.slug, (await signIn(t, user.userName, {}, { sha1: true })).acs, 400, /could not be verified/, /rsa-sha1; TheStorage accepts only RSA-SHA256/);
  });

  it("a replayed assertion (IdP-initiated on), and a replayed SP-initiated answer with the browser's cookie", async () => {
    const t = await samlTenant({ allowIdpInitiated: true, defaultReturnTo: RETURN_TO });
    const user = await provision(t);
    const xml = signedResponse({ issuer: IDP_ENTITY, ...urls(t.slug), nameId: user.userName }, key);
    ticketOf(await postAcs(t.slug, { SAMLResponse: b64(xml) }));
    await expectRefused(t.slug, await postAcs(t.slug, { SAMLResponse: b64(xml) }), 400, /already used/, /replayed/);

    const { st, xml: answered, acs } = await signIn(t, user.userName);
    ticketOf(acs);
    const again = await postAcs(t.slug, { SAMLResponse: b64(answered), RelayState: st.relayState }, st.cookie);
    expect(again.status).toBe(400);
    expect(again.text).toMatch(/already used/);
  });

  it("an expired assertion, and one not yet valid (beyond 60 s of skew)", async () => {
    const cases: [Partial<ResponseOptions>, RegExp][] = [
      [{ shiftSeconds: -400, lifetimeSeconds: 300 }, /expired at/],
      [{ shiftSeconds: 120 }, /not valid before/],
    ];
    for (const [tweak, detail] of cases) {
      const t = await samlTenant();
      const user = await provision(t);
      await expectRefused(t.slug, (await signIn(t, user.userName, tweak)).acs, 400, /could not be verified/, detail);
      // Within the skew: accepted.
      ticketOf((await signIn(t, user.userName, { shiftSeconds: tweak.shiftSeconds! < 0 ? -330 : 50, lifetimeSeconds: 300 })).acs);
    }
  });

  it("a wrong audience, a wrong recipient / destination, a wrong issuer", async () => {
    const cases: [Partial<ResponseOptions>, RegExp][] = [
      [{ audience: "https://other-sp.test/metadata" }, /not this tenant's SP entity ID/],
      [{ acsUrl: `${ORIGIN}/api/other/sso/saml/acs` }, /Recipient is .*, not this tenant's ACS URL/],
      [{ issuer: "http://www.okta.com/other" }, /issued by "http:\/\/www.okta.com\/other"/],
    ];
    for (const [tweak, detail] of cases) {
      const t = await samlTenant();
      const user = await provision(t);
      await expectRefused(t.slug, (await signIn(t, user.userName, tweak)).acs, 400, /could not be verified/, detail);
    }
  });

  it("refusals anyone can cause by POSTing to the ACS are logged once a minute per reason, not once per request", async () => {
    const t = await samlTenant();
    for (let i = 0; i < 3; i++) expect((await postAcs(t.slug, { SAMLResponse: b64(`<junk${i}/>`) })).status).toBe(400);
    expect((await logOf(t.slug)).filter((e) => /invalid_token/.test(e.detail))).toHaveLength(1);
  });

  it("an unsolicited response while IdP-initiated is off (the default)", async () => {
    const t = await samlTenant({ defaultReturnTo: RETURN_TO });
    const user = await provision(t);
    const xml = signedResponse({ issuer: IDP_ENTITY, ...urls(t.slug), nameId: user.userName }, key);
    await expectRefused(t.slug, await postAcs(t.slug, { SAMLResponse: b64(xml) }), 400, /Start the sign-in from TheStorage/, /unsolicited/);
  });

  it("IdP-initiated, when allowed: lands on defaultReturnTo with a ticket; without defaultReturnTo refused", async () => {
    const t = await samlTenant({ allowIdpInitiated: true, defaultReturnTo: RETURN_TO });
    const user = await provision(t);
    const xml = signedResponse({ issuer: IDP_ENTITY, ...urls(t.slug), nameId: user.userName }, key);
    const ticket = ticketOf(await postAcs(t.slug, { SAMLResponse: b64(xml), RelayState: "https://evil.example/" }));
    expect((await admin("POST", "/sign-ins/redeem", { ticket })).body.user.id).toBe(user.id);
    const bare = await samlTenant({ allowIdpInitiated: true });
    const other = signedResponse({ issuer: IDP_ENTITY, ...urls(bare.slug), nameId: "x@example.com" }, key);
    await expectRefused(bare.slug, await postAcs(bare.slug, { SAMLResponse: b64(other) }), 400, /Start the sign-in from TheStorage/, /no_default_return/);
  });

  it("a DOCTYPE / entity declaration in the document", async () => {
    const t = await samlTenant();
    const user = await provision(t);
    const st = await start(t.slug);
    const xml = signedResponse({ issuer: IDP_ENTITY, ...urls(t.slug), nameId: user.userName, inResponseTo: st.requestId }, key);
    const withDtd = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>${xml}`;
    await expectRefused(t.slug, await postAcs(t.slug, { SAMLResponse: b64(withDtd), RelayState: st.relayState }, st.cookie), 400, /could not be verified/, /DOCTYPE/);
  });

  it("garbage, oversize and error answers get a page, never a 5xx", async () => {
    const t = await samlTenant();
    for (const body of [{}, { SAMLResponse: "%%%not base64" }, { SAMLResponse: b64("<not xml") }, { SAMLResponse: b64("<a/>") }, { SAMLResponse: "A".repeat(300 * 1024) }]) {
      const acs = await postAcs(t.slug, body as Record<string, string>);
      expect(acs.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(acs.text).toMatch(/<html/i);
    }
    const failed = `<saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" ID="idf" Version="2.0"><saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></saml2p:StatusCode></saml2p:Status></saml2p:Response>`;
    await expectRefused(t.slug, await postAcs(t.slug, { SAMLResponse: b64(failed) }), 400, /did not sign you in/, /AuthnFailed/);
    const off = uniqueSlug("off");
    expect((await admin("POST", "/tenants", { slug: off })).status).toBe(201);
    expect((await postAcs(off, { SAMLResponse: b64("<a/>") })).status).toBe(403);
  });
});

describe("Settings › Single sign-on, SAML", () => {
  it("the operator chooses SAML, copies ACS / entity ID / metadata URL, pastes the IdP's metadata, and Test sign-in shows the match without a ticket", async () => {
    const t = await scimTenant();
    const user = await provision(t);
    const operator = await consoleSignIn();
    const base = `/admin/tenants/${t.slug}/sso`;
    const page = await send("GET", `${base}?protocol=saml`, { cookie: operator.cookie });
    expect(page.status).toBe(200);
    expect(page.text).toContain("SAML 2.0");
    for (const [id, value] of [["sso-acs-url", urls(t.slug).acsUrl], ["sso-sp-entity-id", urls(t.slug).audience], ["sso-metadata-url", urls(t.slug).audience]]) {
      expect(page.text).toContain(`<code id="${id}">${value}</code>`);
      expect(page.text).toContain(`data-copy="${id}"`);
    }
    const bad = await send("POST", base, { cookie: operator.cookie, form: { _csrf: csrfOf(page.text), protocol: "saml", metadataXml: "<nope/>" } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("is not SAML 2.0 IdP metadata");
    const saved = await send("POST", base, { cookie: operator.cookie, form: { _csrf: csrfOf(page.text), protocol: "saml", metadataXml: idpMetadataXml({ entityId: IDP_ENTITY, ssoUrl: IDP_SSO, key }) } });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.text).toContain(`On, through ${IDP_ENTITY} (SAML 2.0)`);
    expect((await admin("GET", `/tenants/${t.slug}/sso`)).body.protocol).toBe("saml");

    const test = await send("GET", `${base}/test`, { cookie: operator.cookie });
    expect(test.status).toBe(302);
    const location = new URL(test.headers.get("location")!);
    expect(location.origin + location.pathname).toBe(IDP_SSO);
    const requestId = /ID="([^"]+)"/.exec(await inflateRedirectRequest(location.searchParams.get("SAMLRequest")!))![1]!;
    const xml = signedResponse({ issuer: IDP_ENTITY, ...urls(t.slug), nameId: user.userName, inResponseTo: requestId, attributes: { email: "tester@example.com", firstName: "Tess" } }, key);
    const result = await postAcs(t.slug, { SAMLResponse: b64(xml), RelayState: location.searchParams.get("RelayState")! }, test.headers.get("Set-Cookie")!.split(";")[0]!);
    expect(result.status, result.text).toBe(200);
    expect(result.text).toContain("Test sign-in");
    expect(result.text).toContain("A real sign-in would succeed");
    expect(result.text).toContain(user.userName);
    expect(result.text).toContain("tester@example.com");
    expect(result.text).toContain("No ticket was issued");
    const tickets = await env.TENANT_DEFAULT.prepare("SELECT COUNT(*) AS n FROM sso_tickets WHERE user_id = ?").bind(user.id).first<{ n: number }>();
    expect(tickets!.n).toBe(0);
  });
});

// The sign-in protocol core (src/sso/core.ts): pure decisions, no bindings.
import { describe, expect, it } from "vitest";
import {
  ATTEMPT_TTL_MS,
  attemptProblem,
  decide,
  formatTicket,
  issuerProblem,
  jitUserBody,
  matchKeys,
  parseReturnOrigins,
  providerOfIssuer,
  refusal,
  returnToProblem,
  ticketTenant,
  withTicket,
  type Attempt,
} from "../../src/sso/core";

describe("issuerProblem", () => {
  it("accepts https issuers, and http only for loopback on a local run", () => {
    expect(issuerProblem("https://acme.okta.com", false)).toBeNull();
    expect(issuerProblem("https://login.microsoftonline.com/4f1c/v2.0", false)).toBeNull();
    expect(issuerProblem("http://127.0.0.1:9000", true)).toBeNull();
    expect(issuerProblem("http://localhost:9000/oidc", true)).toBeNull();
    expect(issuerProblem("http://127.0.0.1:9000", false)).toMatch(/only for a loopback host on a local run/);
    expect(issuerProblem("http://idp.example.com", true)).toMatch(/https/);
    expect(issuerProblem("ftp://idp.example.com", true)).toMatch(/https/);
    expect(issuerProblem("acme.okta.com", false)).toMatch(/not an absolute URL/);
    expect(issuerProblem("https://u:p@acme.okta.com", false)).toMatch(/credentials/);
    expect(issuerProblem("https://acme.okta.com?x=1", false)).toMatch(/query or fragment/);
  });
});

describe("returnToProblem", () => {
  const origins = parseReturnOrigins(" https://app.example.com, https://app.example.com:8443/ignored-path ,not a url,");
  it("parses the allow-list to origins", () => {
    expect(origins).toEqual(["https://app.example.com", "https://app.example.com:8443"]);
  });
  it("allows exact origins only", () => {
    expect(returnToProblem("https://app.example.com/a?b=c", origins, false)).toBeNull();
    expect(returnToProblem("https://app.example.com:8443/", origins, false)).toBeNull();
    expect(returnToProblem("https://app.example.com.evil.test/", origins, false)).toMatch(/not one TheStorage signs in to/);
    expect(returnToProblem("http://app.example.com/", origins, false)).toMatch(/not one/);
    expect(returnToProblem("https://app.example.com:444/", origins, false)).toMatch(/not one/);
    expect(returnToProblem("//app.example.com/", origins, false)).toMatch(/absolute/);
    expect(returnToProblem("javascript:alert(1)", origins, false)).toMatch(/http/);
    expect(returnToProblem("", origins, false)).toMatch(/missing/);
  });
  it("allows loopback origins only on a local run", () => {
    expect(returnToProblem("http://127.0.0.1:5173/cb", origins, true)).toBeNull();
    expect(returnToProblem("http://localhost:3000/cb", origins, true)).toBeNull();
    expect(returnToProblem("http://127.0.0.1:5173/cb", origins, false)).toMatch(/not one/);
  });
  it("adds the ticket to return_to's query", () => {
    expect(withTicket("https://app.example.com/cb?next=%2Fx&ticket=old", "tssi_a.b")).toBe("https://app.example.com/cb?next=%2Fx&ticket=tssi_a.b");
  });
});

describe("attempts", () => {
  const attempt: Attempt = { v: 1, tenantId: "t1", issuer: "https://i", state: "s", nonce: "n", verifier: "v", returnTo: null, mode: "sign-in", createdAt: 1_000_000 };
  it("is live for 10 minutes, for its own tenant and state only", () => {
    expect(attemptProblem(attempt, "t1", "s", 1_000_000 + ATTEMPT_TTL_MS)).toBeNull();
    expect(attemptProblem(attempt, "t1", "s", 1_000_000 + ATTEMPT_TTL_MS + 1)).toBe("expired");
    expect(attemptProblem(attempt, "t2", "s", 1_000_000)).toBe("broken");
    expect(attemptProblem(attempt, "t1", "other", 1_000_000)).toBe("broken");
    expect(attemptProblem({ ...attempt, v: 2 }, "t1", "s", 1_000_000)).toBe("broken");
    expect(attemptProblem(null, "t1", "s", 1_000_000)).toBe("broken");
  });
});

describe("matching and deciding", () => {
  it("matches externalId by sub and oid, userName by preferred_username and email, folded", () => {
    expect(matchKeys({ iss: "https://i", sub: "00u1", oid: "abc", preferred_username: "Ada@Example.COM", email: "ada@example.com" })).toEqual({
      issuer: "https://i",
      subject: "00u1",
      externalIds: ["00u1", "abc"],
      userNames: ["ada@example.com"],
    });
    expect(matchKeys({ iss: "https://i", sub: "s", email: " " }).userNames).toEqual([]);
  });
  it("lets only active matched users in; JIT only with jit on and SCIM off", () => {
    expect(decide({ active: true }, { jit: false, scimEnabled: true })).toEqual({ ok: true });
    expect(decide({ active: false }, { jit: true, scimEnabled: false })).toEqual({ ok: false, reason: "deactivated" });
    expect(decide(null, { jit: false, scimEnabled: false })).toEqual({ ok: false, reason: "not_provisioned" });
    expect(decide(null, { jit: true, scimEnabled: true })).toEqual({ ok: false, reason: "not_provisioned" });
    expect(decide(null, { jit: true, scimEnabled: false })).toEqual({ ok: false, jit: true });
  });
  it("builds a JIT user from the claims", () => {
    expect(jitUserBody({ iss: "https://i", sub: "s1", email: "a@b.c", given_name: "A", family_name: "B" })).toMatchObject({
      userName: "a@b.c",
      externalId: "s1",
      emails: [{ value: "a@b.c", primary: true }],
      name: { givenName: "A", familyName: "B" },
      active: true,
    });
    expect(jitUserBody({ iss: "https://i", sub: "s1" })).toBeNull();
  });
  it("names the provider from the issuer", () => {
    expect(providerOfIssuer("https://acme.okta.com")).toBe("okta");
    expect(providerOfIssuer("https://login.microsoftonline.com/x/v2.0")).toBe("entra");
    expect(providerOfIssuer("https://idp.example")).toBe("generic");
    // SAML entity IDs: Okta http://www.okta.com/…, Entra https://sts.windows.net/…, or not a URL at all.
    expect(providerOfIssuer("http://www.okta.com/exk1")).toBe("okta");
    expect(providerOfIssuer("https://sts.windows.net/72f9/")).toBe("entra");
    expect(providerOfIssuer("my-idp")).toBe("generic");
  });
});

describe("tickets", () => {
  it("carry the tenant id and nothing else can be parsed as one", () => {
    const id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const ticket = formatTicket(id, "A".repeat(43));
    expect(ticket).toBe(`tssi_0f8fad5bd9cb469fa16570867728950e.${"A".repeat(43)}`);
    expect(ticketTenant(ticket)).toBe(id);
    expect(ticketTenant(`${ticket}x`)).toBeNull();
    expect(ticketTenant("tssi_zz.aa")).toBeNull();
    expect(ticketTenant(42)).toBeNull();
  });
});

describe("refusals", () => {
  it("say what happened and what to do, with 403 for who-may-not and 400 for broken attempts", () => {
    expect(refusal("deactivated").status).toBe(403);
    expect(refusal("not_provisioned").todo).toMatch(/assign TheStorage to you/);
    expect(refusal("expired").status).toBe(400);
    expect(refusal("replayed").todo).toMatch(/start the sign-in again/);
  });
});

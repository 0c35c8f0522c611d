import { describe, expect, it } from "vitest";
import { decideSignIn, idTokenTimeProblem, issuerProblem, matchKeys, parseOrigins, parseTicket, formatTicket, returnToProblem, type Candidate } from "../../src/sso/core";

const c = (via: Candidate["via"], active = true, id = via): Candidate => ({ id, userName: id, active, via });

describe("decideSignIn", () => {
  it("takes the stored link over externalId over userName", () => {
    expect(decideSignIn([c("userName"), c("link"), c("externalId")], { jit: false, scimEnabled: true })).toMatchObject({ kind: "signed_in", user: { via: "link" }, storeLink: false });
    expect(decideSignIn([c("userName"), c("externalId")], { jit: false, scimEnabled: true })).toMatchObject({ kind: "signed_in", user: { via: "externalId" }, storeLink: true });
  });
  it("refuses a deactivated best match without falling through to another user", () => {
    expect(decideSignIn([c("externalId", false), c("userName", true)], { jit: true, scimEnabled: false })).toMatchObject({ kind: "refused", reason: "deactivated" });
  });
  it("no match: refused, unless JIT is on and SCIM is off", () => {
    expect(decideSignIn([], { jit: false, scimEnabled: false })).toMatchObject({ kind: "refused", reason: "not_provisioned" });
    expect(decideSignIn([], { jit: true, scimEnabled: true })).toMatchObject({ kind: "refused", reason: "not_provisioned" });
    expect(decideSignIn([], { jit: true, scimEnabled: false })).toEqual({ kind: "jit" });
  });
});

describe("matchKeys", () => {
  it("externalId from sub and oid; userName from preferred_username and email, folded", () => {
    expect(matchKeys({ iss: "https://i", sub: "s", oid: "o", preferred_username: "Ann@X.com", email: "ann@x.COM" })).toEqual({ issuer: "https://i", subject: "s", externalIds: ["s", "o"], userNames: ["ann@x.com"] });
    expect(matchKeys({ iss: "https://i", sub: "s", email: 5 }).userNames).toEqual([]);
  });
});

describe("returnToProblem", () => {
  const allowed = parseOrigins(" https://app.example.com/ ,https://b.example.com");
  it("exact origin match only", () => {
    expect(returnToProblem("https://app.example.com/x?y=1", allowed, false)).toBeNull();
    expect(returnToProblem("https://app.example.com.evil.com/", allowed, false)).toMatch(/not one/);
    expect(returnToProblem("http://app.example.com/", allowed, false)).toMatch(/not one/);
    expect(returnToProblem("https://user:pw@app.example.com/", allowed, false)).toMatch(/credentials/);
    expect(returnToProblem(null, allowed, false)).toMatch(/no return_to/);
    expect(returnToProblem("javascript:alert(1)", allowed, true)).toMatch(/http/);
  });
  it("loopback only on a local run", () => {
    expect(returnToProblem("http://127.0.0.1:5173/cb", allowed, false)).toMatch(/not one/);
    expect(returnToProblem("http://127.0.0.1:5173/cb", allowed, true)).toBeNull();
    expect(returnToProblem("http://localhost:3000/cb", allowed, true)).toBeNull();
  });
});

describe("issuerProblem", () => {
  it("https, or http loopback on a local run; never private addresses", () => {
    expect(issuerProblem("https://acme.okta.com", false)).toBeNull();
    expect(issuerProblem("http://acme.okta.com", false)).toMatch(/Issuers must be https/);
    expect(issuerProblem("http://127.0.0.1:4000", false)).not.toBeNull();
    expect(issuerProblem("http://127.0.0.1:4000", true)).toBeNull();
    expect(issuerProblem("https://192.168.1.10", true)).toMatch(/private/);
  });
});

describe("idTokenTimeProblem", () => {
  it("60 s of skew on exp and iat", () => {
    expect(idTokenTimeProblem({ exp: 1000 - 59, iat: 900 }, 1000)).toBeNull();
    expect(idTokenTimeProblem({ exp: 1000 - 61, iat: 900 }, 1000)).toMatch(/expired/);
    expect(idTokenTimeProblem({ exp: 2000, iat: 1061 }, 1000)).toMatch(/future/);
    expect(idTokenTimeProblem({ exp: 2000, iat: 1059 }, 1000)).toBeNull();
  });
});

describe("tickets", () => {
  it("name their tenant", () => {
    const secret = "A".repeat(43);
    expect(parseTicket(formatTicket("acme-1", secret))).toEqual({ slug: "acme-1", secret });
    expect(parseTicket("acme." + "A".repeat(42))).toBeNull();
    expect(parseTicket(42)).toBeNull();
  });
});

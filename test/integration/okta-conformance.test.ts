// Okta's own SCIM test suites, re-walked request by request against the Worker:
// - "Okta SCIM 2.0 SPEC Test" (Runscope, 2024-05 revision): steps 1–12, each cited below.
// - "Okta SCIM 2.0 CRUD Test" (Runscope, 2023-04 revision): what a live Okta org sends to this
//   server when a user is assigned, updated, deactivated, reactivated and unassigned.
// Headers are the ones those suites send (Accept/Content-Type as SCIM JSON, even on GET).
import { beforeAll, describe, expect, it } from "vitest";
import { request, scimTenant, type ScimTenant } from "../support/harness";

const OKTA_GET_HEADERS = {
  Accept: "application/scim+json",
  "Accept-Charset": "utf-8",
  "Content-Type": "application/scim+json; charset=utf-8",
  "User-Agent": "OKTA SCIM Integration",
};
const OKTA_POST_HEADERS = { "Content-Type": "application/json", Accept: "application/scim+json; charset=utf-8" };
const LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR = "urn:ietf:params:scim:api:messages:2.0:Error";
const USER = "urn:ietf:params:scim:schemas:core:2.0:User";

/** The Runscope Initial Script's variables: a mixed-case userName that doubles as the email. */
function runscopeVariables() {
  const digits = String(Math.floor(100 + Math.random() * 900));
  const letters = Array.from({ length: 8 }, () => "abcdefghijklmnopqrstuvwxyz"[Math.floor(Math.random() * 26)]).join("");
  const givenName = `Runscope${digits}`;
  const familyName = `${"QWERTYUIOPASDFGHJKLZXCVBNM"[Math.floor(Math.random() * 26)]}${letters}${digits}`;
  const email = `${givenName}${familyName}@atko.com`;
  return { givenName, familyName, randomEmail: email, randomUsername: email, randomUsernameCaps: email.toUpperCase() };
}

function runscopeCreateBody(v: ReturnType<typeof runscopeVariables>, emailValue = v.randomEmail) {
  return {
    schemas: [USER],
    userName: v.randomUsername,
    name: { givenName: v.givenName, familyName: v.familyName },
    emails: [{ primary: true, value: emailValue, type: "work" }],
    displayName: `${v.givenName} ${v.familyName}`,
    active: true,
  };
}

describe("Okta SCIM 2.0 SPEC Test (2024-05)", () => {
  let tenant: ScimTenant;
  const v = runscopeVariables();
  let isvUserId = "";
  let idUserOne = "";
  const get = (path: string, auth?: string) => request("GET", `${tenant.base}${path}`, { headers: { ...OKTA_GET_HEADERS, Authorization: auth ?? `Bearer ${tenant.token}` } });

  beforeAll(async () => {
    tenant = await scimTenant();
    // The suite needs one pre-seeded active user with names and an email (conformance README).
    const seeded = await tenant.scim("POST", "/Users", {
      schemas: [USER],
      userName: "seed.user@atko.com",
      name: { givenName: "Seed", familyName: "User" },
      emails: [{ primary: true, value: "seed.user@atko.com", type: "work" }],
      active: true,
    });
    expect(seeded.status).toBe(201);
  });

  it("step 1 — Test Users endpoint: GET /Users?count=1&startIndex=1", async () => {
    const r = await get("/Users?count=1&startIndex=1");
    expect(r.status).toBe(200);
    expect(r.body.schemas).toContain(LIST);
    expect(r.body.Resources.length).toBeGreaterThan(0);
    for (const field of ["itemsPerPage", "startIndex", "totalResults"]) expect(Number.isInteger(r.body[field])).toBe(true);
    const first = r.body.Resources[0];
    expect(first.id).toBeTruthy();
    expect(first.name.familyName).toBeTruthy();
    expect(first.name.givenName).toBeTruthy();
    expect(first.userName).toBeTruthy();
    expect(first.active).toBe(true);
    expect(first.emails[0].value).toBeTruthy();
    isvUserId = first.id;
  });

  it("step 2 — Get Users/{{id}}", async () => {
    const r = await get(`/Users/${isvUserId}`);
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(isvUserId);
    expect(r.body.name.familyName).toBeTruthy();
    expect(r.body.name.givenName).toBeTruthy();
    expect(r.body.userName).toBeTruthy();
    expect(r.body.active).toBe(true);
    expect(r.body.emails[0].value).toBeTruthy();
  });

  it("step 3 — Test invalid User by username (no startIndex/count)", async () => {
    const r = await get(`/Users?filter=userName eq "abcdefgh@atko.com"`);
    expect(r.status).toBe(200);
    expect(r.body.schemas).toContain(LIST);
    expect(r.body.totalResults).toBe(0);
  });

  it("step 4 — Test invalid User by ID: 404, not 400, for a malformed id", async () => {
    const r = await get("/Users/010101001010101011001010101011");
    expect(r.status).toBe(404);
    expect(r.body.detail).toBeTruthy();
    expect(r.body.schemas).toContain(ERROR);
  });

  it("step 5 — Make sure random user doesn't exist", async () => {
    const r = await get(`/Users?filter=userName eq "${v.randomEmail}"`);
    expect(r.status).toBe(200);
    expect(r.body.totalResults).toBe(0);
    expect(r.body.schemas).toContain(LIST);
  });

  it("step 6 — Create Okta user with realistic values (POSTed as application/json)", async () => {
    const r = await request("POST", `${tenant.base}/Users`, {
      body: runscopeCreateBody(v),
      headers: { ...OKTA_POST_HEADERS, Authorization: `Bearer ${tenant.token}` },
    });
    expect(r.status).toBe(201);
    expect(r.body.active).toBe(true);
    expect(r.body.id).toBeTruthy();
    expect(r.body.name.familyName).toBe(v.familyName);
    expect(r.body.name.givenName).toBe(v.givenName);
    expect(r.body.schemas).toContain(USER);
    expect(r.body.userName).toBe(v.randomUsername); // mixed case, exactly as sent
    idUserOne = r.body.id;
  });

  it("step 7 — Verify that user was created", async () => {
    const r = await get(`/Users/${idUserOne}`);
    expect(r.status).toBe(200);
    expect(r.body.userName).toBe(v.randomUsername);
    expect(r.body.name.familyName).toBe(v.familyName);
    expect(r.body.name.givenName).toBe(v.givenName);
  });

  it("step 8 — Expect failure when recreating user with same values", async () => {
    const r = await request("POST", `${tenant.base}/Users`, {
      body: runscopeCreateBody(v, v.randomUsername),
      headers: { ...OKTA_POST_HEADERS, Authorization: `Bearer ${tenant.token}` },
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ schemas: [ERROR], status: "409", scimType: "uniqueness" });
  });

  it("step 9 — Username Case Sensitivity Check: the upper-cased userName finds the user", async () => {
    const r = await get(`/Users?filter=userName eq "${v.randomUsernameCaps}"`);
    expect(r.status).toBe(200);
    expect(r.body.totalResults).toBe(1);
    expect(r.body.Resources[0].id).toBe(idUserOne);
    expect(r.body.Resources[0].userName).toBe(v.randomUsername);
  });

  it("step 10 — Verify Groups endpoint (optional): GET /Groups", async () => {
    const r = await get("/Groups");
    expect(r.status).toBe(200);
    expect(r.body.totalResults === 0 || Array.isArray(r.body.Resources)).toBe(true);
    expect(Array.isArray(r.body.Resources)).toBe(true);
  });

  it("step 11 — Check status 401 with Authorization: non-token", async () => {
    const r = await get(`/Users?filter=userName eq "${v.randomUsernameCaps}"`, "non-token");
    expect(r.status).toBe(401);
    expect(r.body.detail).toBeTruthy();
    expect(r.body.status).toBe("401");
    expect(r.body.schemas).toContain(ERROR);
  });

  it("step 12 — Check status 404 for /Users/00919288221112222", async () => {
    const r = await get("/Users/00919288221112222");
    expect(r.status).toBe(404);
    expect(r.body.detail).toBeTruthy();
    expect(r.body.status).toBe("404");
    expect(r.body.schemas).toContain(ERROR);
  });
});

describe("Okta SCIM 2.0 CRUD Test (2023-04): the lifecycle a live Okta org drives", () => {
  let tenant: ScimTenant;
  const first = "Crud";
  const last = `Tester${Math.floor(Math.random() * 1e6)}`;
  const email = `${first}${last}@atko.com`;
  let scimId = "";
  const filterByEmail = () => tenant.scim("GET", `/Users?filter=${encodeURIComponent(`userName eq "${email}"`)}&startIndex=1&count=100`);

  beforeAll(async () => {
    tenant = await scimTenant();
  });

  it("steps 3–4 — assign: Okta checks for the user, POSTs it, and the filter then returns it", async () => {
    const check = await filterByEmail();
    expect(check.status).toBe(200);
    expect(check.body).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    const created = await tenant.scim("POST", "/Users", {
      schemas: [USER],
      userName: email,
      name: { givenName: first, familyName: last },
      emails: [{ primary: true, value: email, type: "work" }],
      displayName: `${first} ${last}`,
      locale: "en-US",
      externalId: "00ujl29u0le5T6Aj10h7",
      groups: [],
      password: "1mz050nq",
      active: true,
    });
    expect(created.status).toBe(201);
    const found = await filterByEmail();
    expect(found.body.totalResults).toBe(1);
    const user = found.body.Resources[0];
    expect(user.userName).toBe(email);
    expect(user.emails[0].value).toBe(email);
    expect(user.name.familyName).toBe(last);
    expect(user.name.givenName).toBe(first);
    scimId = user.id;
  });

  it("step 5 — profile update: Okta GETs the user and PUTs it back with the new first name", async () => {
    const current = await tenant.scim("GET", `/Users/${scimId}`);
    const put = await tenant.scim("PUT", `/Users/${scimId}`, { ...current.body, name: { ...current.body.name, givenName: `${first}update` } });
    expect(put.status).toBe(200);
    expect(put.body.name.givenName).toBe(`${first}update`);
    expect((await tenant.scim("GET", `/Users/${scimId}`)).body.name.givenName).toBe(`${first}update`);
  });

  it("step 6 — deactivate: PATCH replace with no path and value {active:false}", async () => {
    const patch = await tenant.scim("PATCH", `/Users/${scimId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", value: { active: false } }],
    });
    expect(patch.status).toBe(200);
    expect(patch.body.active).toBe(false);
    expect((await tenant.scim("GET", `/Users/${scimId}`)).body.active).toBe(false);
  });

  it("step 7 — reactivate and reassign: the filter still finds the inactive user, so Okta links the same id", async () => {
    const check = await filterByEmail();
    expect(check.body.totalResults).toBe(1);
    expect(check.body.Resources[0]).toMatchObject({ id: scimId, active: false });
    const patch = await tenant.scim("PATCH", `/Users/${scimId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", value: { active: true } }],
    });
    expect(patch.status).toBe(200);
    const after = await tenant.scim("GET", `/Users/${scimId}`);
    expect(after.body).toMatchObject({ id: scimId, active: true, name: { givenName: `${first}update` } });
  });

  it("step 8 — unassign: deprovisioning is a deactivation, and the user keeps its id and data", async () => {
    await tenant.scim("PATCH", `/Users/${scimId}`, {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", value: { active: false } }],
    });
    const after = await tenant.scim("GET", `/Users/${scimId}`);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ id: scimId, active: false, userName: email, externalId: "00ujl29u0le5T6Aj10h7" });
  });
});

describe("Okta Test API Credentials (the button, okta.md a.1 row 1)", () => {
  it("GET /Users?startIndex=1&count=2 then GET /Groups?startIndex=1&count=100 both answer 200 on an empty tenant", async () => {
    const tenant = await scimTenant();
    const users = await tenant.scim("GET", "/Users?startIndex=1&count=2", undefined, OKTA_GET_HEADERS);
    expect(users.status).toBe(200);
    expect(users.body).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    const groups = await tenant.scim("GET", "/Groups?startIndex=1&count=100", undefined, OKTA_GET_HEADERS);
    expect(groups.status).toBe(200);
    expect(groups.body).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });
});

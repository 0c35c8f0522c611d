// /Users: the resource, the endpoints and every Okta quirk of okta.md §c that applies to users.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, oktaUser, request, scimTenant, type ScimTenant } from "../support/harness";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const f = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}`;

async function rawRow(db: D1Database, id: string) {
  return db.prepare("SELECT * FROM users WHERE id = ?").bind(id).first<Record<string, unknown>>();
}

describe("the User resource", () => {
  let tenant: ScimTenant;
  beforeAll(async () => {
    tenant = await scimTenant();
  });

  it("round-trips every core and enterprise attribute, with meta, Location and ETag", async () => {
    const body = {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
      userName: "Barbara.Jensen@Example.com",
      externalId: "00u-bjensen",
      name: { formatted: "Ms. Barbara J Jensen III", familyName: "Jensen", givenName: "Barbara", middleName: "Jane", honorificPrefix: "Ms.", honorificSuffix: "III" },
      displayName: "Babs Jensen",
      nickName: "Babs",
      profileUrl: "https://login.example.com/bjensen",
      title: "Tour Guide",
      userType: "Employee",
      preferredLanguage: "en-US",
      locale: "en-US",
      timezone: "America/Los_Angeles",
      active: true,
      emails: [
        { value: "bjensen@example.com", type: "work", primary: true },
        { value: "babs@jensen.org", type: "home" },
      ],
      phoneNumbers: [{ value: "555-555-5555", type: "work" }],
      ims: [{ value: "someaimhandle", type: "aim" }],
      photos: [{ value: "https://photos.example.com/profilephoto/72930000000Ccne/T", type: "thumbnail" }],
      addresses: [{ type: "work", streetAddress: "100 Universal City Plaza", locality: "Hollywood", region: "CA", postalCode: "91608", country: "USA", formatted: "100 Universal City Plaza\nHollywood, CA 91608 USA", primary: true }],
      entitlements: [{ value: "reader" }],
      roles: [{ value: "guide", display: "Guide" }],
      x509Certificates: [{ value: "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx" }],
      [ENTERPRISE]: { employeeNumber: "701984", costCenter: "4130", organization: "Universal Studios", division: "Theme Park", department: "Tour Operations", manager: { value: "26118915-6090-4610-87e4-49d8ca9f808d" } },
    };
    const created = await tenant.scim("POST", "/Users", body);
    expect(created.status).toBe(201);
    const { id, meta, groups, schemas, ...rest } = created.body;
    const { schemas: _sentSchemas, ...sent } = body;
    expect(rest).toEqual(sent);
    expect(schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    expect(groups).toEqual([]);
    expect(meta).toEqual({
      resourceType: "User",
      created: expect.stringMatching(/Z$/),
      lastModified: meta.created,
      location: `https://scim.test${tenant.base}/Users/${id}`,
      version: 'W/"1"',
    });
    expect(created.headers.get("Location")).toBe(meta.location);
    expect(created.headers.get("ETag")).toBe('W/"1"');
    const read = await tenant.scim("GET", `/Users/${id}`);
    expect(read.body).toEqual(created.body);
    expect(read.headers.get("ETag")).toBe('W/"1"');
  });

  it("accepts the enterprise extension whether or not its URN is in schemas", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser({ [ENTERPRISE]: { department: "Finance" } }));
    expect(created.status).toBe(201);
    expect(created.body[ENTERPRISE]).toEqual({ department: "Finance" });
    expect(created.body.schemas).toContain(ENTERPRISE);
  });

  it("stores userName exactly as sent and refuses a case variant with 409 uniqueness", async () => {
    const user = oktaUser({ userName: "MiXeD.Case@Example.COM" });
    const created = await tenant.scim("POST", "/Users", user);
    expect(created.body.userName).toBe("MiXeD.Case@Example.COM");
    const clash = await tenant.scim("POST", "/Users", oktaUser({ userName: "mixed.case@example.com" }));
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ status: "409", scimType: "uniqueness" });
    expect(clash.body.detail).toContain("mixed.case@example.com");
  });

  it("ignores password on POST and PUT: never stored, never echoed (okta.md c.4)", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser({ password: "Sup3rSecret!" }));
    expect(created.status).toBe(201);
    expect(created.text).not.toContain("Sup3rSecret!");
    const put = await tenant.scim("PUT", `/Users/${created.body.id}`, { ...created.body, password: "An0therSecret!" });
    expect(put.status).toBe(200);
    expect(put.text).not.toContain("An0therSecret!");
    const row = await rawRow(env.TENANT_DEFAULT, created.body.id);
    expect(JSON.stringify(row)).not.toMatch(/Sup3rSecret|An0therSecret|password/i);
    const log = await env.TENANT_DEFAULT.prepare("SELECT detail FROM events").all();
    expect(JSON.stringify(log.results)).not.toMatch(/Sup3rSecret|An0therSecret/);
  });

  it("refuses a PATCH that sets the password, telling the admin to untick Sync Password (okta.md a.1 row 7)", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser());
    for (const op of [
      { op: "replace", value: { password: "Secret1!" } },
      { op: "replace", path: "password", value: "Secret1!" },
    ]) {
      const r = await tenant.scim("PATCH", `/Users/${created.body.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [op] });
      expect(r.status).toBe(400);
      expect(r.body.detail).toMatch(/Sync Password/);
      expect(r.text).not.toContain("Secret1!");
    }
  });

  it("ignores read-only and unknown attributes instead of rejecting them (okta.md c.5)", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser({
      id: "client-chosen-id",
      meta: { resourceType: "User", created: "2001-01-01T00:00:00Z" },
      groups: [{ value: "g1" }],
      locale: "en_US",
      userType: "In SCIM Group",
      favouriteColour: "teal",
      "urn:ietf:params:scim:schemas:extension:custom:2.0:User": { badge: "x" },
    }));
    expect(created.status).toBe(201);
    expect(created.body.id).not.toBe("client-chosen-id");
    expect(created.body.meta.created).not.toContain("2001");
    expect(created.body.groups).toEqual([]);
    expect(created.body.locale).toBe("en_US");
    expect(created.body).not.toHaveProperty("favouriteColour");
    expect(created.body).not.toHaveProperty(["urn:ietf:params:scim:schemas:extension:custom:2.0:User"]);
  });

  it("treats empty strings and nulls as clearing an attribute", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser({ title: "Engineer", nickName: "" , timezone: null }));
    expect(created.body.title).toBe("Engineer");
    expect(created.body).not.toHaveProperty("nickName");
    expect(created.body).not.toHaveProperty("timezone");
    const put = await tenant.scim("PUT", `/Users/${created.body.id}`, { ...created.body, title: "" });
    expect(put.body).not.toHaveProperty("title");
    const patched = await tenant.scim("PATCH", `/Users/${created.body.id}`, { Operations: [{ op: "replace", value: { displayName: null } }] });
    expect(patched.body).not.toHaveProperty("displayName");
  });

  it("answers 400 invalidValue for values of the wrong shape and stores nothing", async () => {
    const missing = await tenant.scim("POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], name: { givenName: "No" } });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ scimType: "invalidValue" });
    expect(missing.body.detail).toContain("userName");
    const badActive = await tenant.scim("POST", "/Users", oktaUser({ active: "maybe" }));
    expect(badActive.status).toBe(400);
    expect(badActive.body.detail).toContain("active");
    const badName = await tenant.scim("POST", "/Users", oktaUser({ name: ["a", "b"] }));
    expect(badName.status).toBe(400);
  });

  it("a PUT that leaves `active` out does not reactivate a deactivated user", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser());
    await tenant.scim("PATCH", `/Users/${created.body.id}`, { Operations: [{ op: "replace", value: { active: false } }] });
    const { active: _active, ...withoutActive } = created.body;
    const put = await tenant.scim("PUT", `/Users/${created.body.id}`, withoutActive);
    expect(put.body.active).toBe(false);
  });

  it("deletes for good: 204, then 404 (and the event log keeps the trace)", async () => {
    const created = await tenant.scim("POST", "/Users", oktaUser());
    const deleted = await tenant.scim("DELETE", `/Users/${created.body.id}`, undefined, { "Content-Type": "application/scim+json; charset=utf-8" });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    expect((await tenant.scim("GET", `/Users/${created.body.id}`)).status).toBe(404);
    expect((await tenant.scim("DELETE", `/Users/${created.body.id}`)).status).toBe(404);
  });

  it("answers 404 with a SCIM Error for unknown ids of any shape (okta.md c.9)", async () => {
    for (const id of ["010101001010101011001010101011", "00919288221112222", crypto.randomUUID(), "not a uuid", "%27%3B--", "x".repeat(300)]) {
      for (const method of ["GET", "PUT", "PATCH", "DELETE"]) {
        const body = method === "PUT" ? oktaUser() : method === "PATCH" ? { Operations: [{ op: "replace", value: { active: false } }] } : undefined;
        const r = await tenant.scim(method, `/Users/${id}`, body);
        expect(r.status, `${method} ${id}`).toBe(404);
        expect(r.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "404" });
      }
    }
  });
});

describe("deactivation and reactivation (okta.md c.8, c.18)", () => {
  it("keeps the id, data and group memberships, and the filter still finds the inactive user", async () => {
    const tenant = await scimTenant();
    const user = await tenant.scim("POST", "/Users", oktaUser({ title: "Analyst" }));
    const group = await tenant.scim("POST", "/Groups", { displayName: "Analysts", members: [{ value: user.body.id }] });
    const off = await tenant.scim("PATCH", `/Users/${user.body.id}`, { Operations: [{ op: "replace", value: { active: false } }] });
    expect(off.body).toMatchObject({ id: user.body.id, active: false, title: "Analyst", groups: [{ value: group.body.id, display: "Analysts" }] });
    const found = await tenant.scim("GET", f(`userName eq "${user.body.userName}"`));
    expect(found.body.Resources).toHaveLength(1);
    expect(found.body.Resources[0].active).toBe(false);
    const on = await tenant.scim("PATCH", `/Users/${user.body.id}`, { Operations: [{ op: "replace", value: { active: true } }] });
    expect(on.body).toMatchObject({ id: user.body.id, active: true, title: "Analyst" });
    expect((await tenant.scim("GET", `/Groups/${group.body.id}`)).body.members.map((m: { value: string }) => m.value)).toEqual([user.body.id]);
  });

  it("does not enforce externalId uniqueness: a re-POST after a rename with the same externalId succeeds", async () => {
    const tenant = await scimTenant();
    const first = await tenant.scim("POST", "/Users", oktaUser({ externalId: "00u-same" }));
    const second = await tenant.scim("POST", "/Users", oktaUser({ externalId: "00u-same" }));
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect((await tenant.scim("GET", f(`externalId eq "00u-same"`))).body.totalResults).toBe(2);
  });
});

describe("GET /Users: filters and paging", () => {
  let tenant: ScimTenant;
  const people: any[] = [];
  beforeAll(async () => {
    tenant = await scimTenant();
    for (let i = 0; i < 7; i++) {
      const r = await tenant.scim("POST", "/Users", oktaUser({
        userName: `Person${i}@Example.com`,
        externalId: `ext-${i}`,
        emails: [{ value: `person${i}@work.example`, type: "work", primary: true }, { value: `p${i}@home.example`, type: "home" }],
        active: i % 2 === 0,
      }));
      people.push(r.body);
    }
  });

  it("filters userName eq case-insensitively, however the query is encoded (okta.md c.11)", async () => {
    const want = people[3].id;
    const paths = [
      `/Users?filter=userName%20eq%20%22person3%40example.com%22&startIndex=1&count=100`,
      `/Users?filter=userName+eq+%22PERSON3%40EXAMPLE.COM%22`,
      `/Users?filter=${encodeURIComponent('username EQ "Person3@Example.com"')}`,
      `/Users?filter=${encodeURIComponent('USERNAME eq "person3@example.com"')}`,
    ];
    for (const path of paths) {
      const r = await tenant.scim("GET", path);
      expect(r.status, path).toBe(200);
      expect(r.body.Resources.map((u: { id: string }) => u.id), path).toEqual([want]);
    }
  });

  it("filters by externalId, id, emails.value and emails[type eq \"work\"].value, alone and with and", async () => {
    const p = people[4];
    const cases: [string, string[]][] = [
      [`externalId eq "ext-4"`, [p.id]],
      [`id eq "${p.id}"`, [p.id]],
      [`emails.value eq "p4@home.example"`, [p.id]],
      [`emails[type eq "work"].value eq "PERSON4@work.example"`, [p.id]],
      [`emails[type eq "home"].value eq "person4@work.example"`, []],
      [`userName eq "person4@example.com" and active eq true`, [p.id]],
      [`userName eq "person4@example.com" and active eq false`, []],
      [`externalId eq ext-4`, [p.id]],
    ];
    for (const [filter, ids] of cases) {
      const r = await tenant.scim("GET", f(filter));
      expect(r.status, filter).toBe(200);
      expect(r.body.Resources.map((u: { id: string }) => u.id), filter).toEqual(ids);
    }
  });

  it("parses quoted values with escapes", async () => {
    const own = await scimTenant();
    const quoted = await own.scim("POST", "/Users", oktaUser({ userName: 'odd"name\\user@example.com' }));
    expect(quoted.status).toBe(201);
    const r = await own.scim("GET", f('userName eq "odd\\"name\\\\user@example.com"'));
    expect(r.body.Resources.map((u: { id: string }) => u.id)).toEqual([quoted.body.id]);
  });

  it("answers unsupported or malformed filters with 400 invalidFilter, never a silent wrong answer", async () => {
    for (const filter of ['userName eq', 'userName xx "a"', 'nosuchattr eq "a"', 'userName eq "a" and', '(userName eq "a"', 'emails[type eq "work"', 'active gt true']) {
      const r = await tenant.scim("GET", f(filter));
      expect(r.status, filter).toBe(400);
      expect(r.body).toMatchObject({ status: "400", scimType: "invalidFilter" });
      expect(r.body.detail.length).toBeGreaterThan(20);
    }
  });

  it("pages with a 1-based startIndex, integer fields and a stable order (okta.md c.12)", async () => {
    const seen: string[] = [];
    for (let start = 1; start <= 7; start += 3) {
      const r = await tenant.scim("GET", `/Users?startIndex=${start}&count=3`);
      expect(r.body).toMatchObject({ totalResults: 7, startIndex: start, itemsPerPage: Math.min(3, 8 - start) });
      seen.push(...r.body.Resources.map((u: { id: string }) => u.id));
    }
    expect(seen).toEqual(people.map((p) => p.id));
    const again = await tenant.scim("GET", "/Users?startIndex=1&count=100");
    expect(again.body.Resources.map((u: { id: string }) => u.id)).toEqual(seen);
  });

  it("treats startIndex < 1 as 1, count=0 as totals only, and clamps count to the maximum", async () => {
    const zero = await tenant.scim("GET", "/Users?startIndex=0&count=2");
    expect(zero.body.startIndex).toBe(1);
    expect(zero.body.itemsPerPage).toBe(2);
    const totals = await tenant.scim("GET", "/Users?count=0");
    expect(totals.body).toEqual({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 7, startIndex: 1, itemsPerPage: 0, Resources: [] });
    const big = await tenant.scim("GET", "/Users?count=100000");
    expect(big.status).toBe(200);
    expect(big.body.itemsPerPage).toBe(7);
    const beyond = await tenant.scim("GET", "/Users?startIndex=50");
    expect(beyond.body).toMatchObject({ totalResults: 7, startIndex: 50, itemsPerPage: 0, Resources: [] });
    const junk = await tenant.scim("GET", "/Users?count=ten");
    expect(junk.status).toBe(400);
  });

  it("accepts every Accept and Content-Type Okta has sent, on GET too (okta.md c.13)", async () => {
    const variants: Record<string, string>[] = [
      { Accept: "application/scim+json" },
      { Accept: "application/scim+json; charset=utf-8" },
      { Accept: "application/json" },
      { Accept: "*/*", "Content-Type": "application/scim+json; charset=utf-8" },
    ];
    for (const headers of variants) {
      expect((await tenant.scim("GET", "/Users?count=1", undefined, headers)).status).toBe(200);
    }
    const asJson = await request("POST", `${tenant.base}/Users`, { body: oktaUser(), headers: { Authorization: `Bearer ${tenant.token}`, "Content-Type": "application/json" } });
    expect(asJson.status).toBe(201);
    const noType = await request("POST", `${tenant.base}/Users`, { rawBody: JSON.stringify(oktaUser()), headers: { Authorization: `Bearer ${tenant.token}` } });
    expect(noType.status).toBe(201);
  });
});

describe("TheStorage-owned fields", () => {
  it("the avatar set by an operator survives an Okta-style PUT and is exposed read-only as photos[type photo]", async () => {
    const tenant = await scimTenant();
    const created = await tenant.scim("POST", "/Users", oktaUser({ photos: [{ value: "https://idp.example/thumb.png", type: "thumbnail" }] }));
    const avatar = await admin("PATCH", `/tenants/${tenant.slug}/users/${created.body.id}`, { avatarUrl: "https://cdn.thestorage.example/avatars/1.png" });
    expect(avatar.status).toBe(200);
    expect(avatar.body.avatarUrl).toBe("https://cdn.thestorage.example/avatars/1.png");

    const current = await tenant.scim("GET", `/Users/${created.body.id}`);
    expect(current.body.photos).toEqual([
      { value: "https://idp.example/thumb.png", type: "thumbnail" },
      { value: "https://cdn.thestorage.example/avatars/1.png", type: "photo" },
    ]);
    // Okta's PUT re-sends what we returned, with its changes: even a changed photo entry is ignored.
    const put = await tenant.scim("PUT", `/Users/${created.body.id}`, {
      ...current.body,
      name: { ...current.body.name, givenName: "Renamed" },
      photos: [{ value: "https://idp.example/thumb.png", type: "thumbnail" }, { value: "https://evil.example/x.png", type: "photo" }],
    });
    expect(put.status).toBe(200);
    expect(put.body.name.givenName).toBe("Renamed");
    expect(put.body.photos).toContainEqual({ value: "https://cdn.thestorage.example/avatars/1.png", type: "photo" });
    expect(JSON.stringify(put.body)).not.toContain("evil.example");
    // A PUT without photos at all, and a PATCH that removes photos, leave the avatar alone too.
    const bare = await tenant.scim("PUT", `/Users/${created.body.id}`, oktaUser({ userName: created.body.userName }));
    expect(bare.body.photos).toEqual([{ value: "https://cdn.thestorage.example/avatars/1.png", type: "photo" }]);
    const removed = await tenant.scim("PATCH", `/Users/${created.body.id}`, { Operations: [{ op: "remove", path: "photos" }] });
    expect(removed.body.photos).toEqual([{ value: "https://cdn.thestorage.example/avatars/1.png", type: "photo" }]);
    const row = await rawRow(env.TENANT_DEFAULT, created.body.id);
    expect(row!.avatar_url).toBe("https://cdn.thestorage.example/avatars/1.png");
  });

  it("keeps the IdP's photo of type photo apart: shown while no avatar is set, the avatar wins once one is, never dropped", async () => {
    const tenant = await scimTenant();
    const idpPhoto = { value: "https://idp.example/ada.jpg", type: "photo" };
    const created = await tenant.scim("POST", "/Users", oktaUser({ photos: [idpPhoto] }));
    expect(created.status).toBe(201);
    expect(created.body.photos).toEqual([idpPhoto]);
    const id = created.body.id;
    // Entra's mapping: a filtered PATCH of the photo's value.
    const patched = await tenant.scim("PATCH", `/Users/${id}`, { Operations: [{ op: "replace", path: 'photos[type eq "photo"].value', value: "https://idp.example/ada2.jpg" }] });
    expect(patched.status).toBe(200);
    expect(patched.body.photos).toEqual([{ value: "https://idp.example/ada2.jpg", type: "photo" }]);

    await admin("PATCH", `/tenants/${tenant.slug}/users/${id}`, { avatarUrl: "https://cdn.thestorage.example/avatars/9.png" });
    const shown = await tenant.scim("GET", `/Users/${id}`);
    expect(shown.body.photos).toEqual([{ value: "https://cdn.thestorage.example/avatars/9.png", type: "photo" }]);
    // Okta's profile push sends back what it read (the avatar): the IdP's photo is not lost.
    const put = await tenant.scim("PUT", `/Users/${id}`, { ...shown.body, title: "Countess" });
    expect(put.status).toBe(200);
    await admin("PATCH", `/tenants/${tenant.slug}/users/${id}`, { avatarUrl: null });
    expect((await tenant.scim("GET", `/Users/${id}`)).body.photos).toEqual([{ value: "https://idp.example/ada2.jpg", type: "photo" }]);
  });

  it("records the provider of the creating token as the origin badge", async () => {
    const okta = await scimTenant();
    const entra = await scimTenant({ provider: "entra" });
    const a = await okta.scim("POST", "/Users", oktaUser());
    const b = await entra.scim("POST", "/Users", oktaUser());
    const listA = await admin("GET", `/tenants/${okta.slug}/users`);
    const listB = await admin("GET", `/tenants/${entra.slug}/users`);
    expect(listA.body.users).toEqual([expect.objectContaining({ id: a.body.id, source: "okta" })]);
    expect(listB.body.users).toEqual([expect.objectContaining({ id: b.body.id, source: "entra" })]);
  });
});

describe("PATCH paths the server does not keep are never a silent 200", () => {
  const patchOp = (...Operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });
  const lastLog = async (slug: string, id: string) => (await admin("GET", `/tenants/${slug}/events?resourceId=${id}&limit=1`)).body.events[0];

  it("applies the dot form of an enterprise path (urn:…:User.department) on users and groups", async () => {
    const tenant = await scimTenant({ provider: "entra" });
    const user = (await tenant.scim("POST", "/Users", oktaUser({ [ENTERPRISE]: { department: "R&D" } }))).body;
    const r = await tenant.scim("PATCH", `/Users/${user.id}`, patchOp({ op: "replace", path: `${ENTERPRISE}.department`, value: "Sales" }));
    expect(r.status).toBe(200);
    expect(r.body[ENTERPRISE].department).toBe("Sales");
    expect((await tenant.scim("GET", f('department eq "Sales"'))).body.totalResults).toBe(1);
    expect((await lastLog(tenant.slug, user.id)).detail).toContain(`changed: ${ENTERPRISE}`);

    const other = (await tenant.scim("POST", "/Users", oktaUser())).body;
    const group = (await tenant.scim("POST", "/Groups", { displayName: "Dots", members: [{ value: user.id }] })).body;
    const members = "urn:ietf:params:scim:schemas:core:2.0:Group.members";
    expect((await tenant.scim("PATCH", `/Groups/${group.id}`, patchOp({ op: "add", path: members, value: [{ value: other.id }] }))).status).toBe(204);
    expect((await tenant.scim("PATCH", `/Groups/${group.id}`, patchOp({ op: "replace", path: members, value: [{ value: other.id }] }))).status).toBe(204);
    const got = await tenant.scim("GET", `/Groups/${group.id}`);
    expect(got.body.members.map((m: { value: string }) => m.value)).toEqual([other.id]);
  });

  it("ignores a path under an unknown extension (an Entra custom extension) and says so in the log", async () => {
    const tenant = await scimTenant({ provider: "entra" });
    const user = (await tenant.scim("POST", "/Users", oktaUser())).body;
    const custom = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:costCenter";
    const r = await tenant.scim("PATCH", `/Users/${user.id}`, patchOp({ op: "replace", path: custom, value: "C-1" }));
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).not.toContain("C-1");
    expect(await lastLog(tenant.slug, user.id)).toMatchObject({ outcome: "success", status: 200, detail: `no changes; ignored: ${custom} (not a schema of User)` });
    // With a change beside it, the log names both.
    await tenant.scim("PATCH", `/Users/${user.id}`, patchOp({ op: "replace", path: "title", value: "CTO" }, { op: "replace", value: { favouriteColour: "blue" } }));
    expect((await lastLog(tenant.slug, user.id)).detail).toBe("changed: title; ignored: favouriteColour (unknown attribute)");
    // Groups too, on the one-batch membership path.
    const group = (await tenant.scim("POST", "/Groups", { displayName: "Custom" })).body;
    const g = await tenant.scim("PATCH", `/Groups/${group.id}`, patchOp({ op: "add", path: "members", value: [{ value: user.id }] }, { op: "replace", path: "urn:example:custom:2.0:Group:tier", value: 2 }));
    expect(g.status).toBe(204);
    expect((await lastLog(tenant.slug, group.id)).detail).toBe("added 1 member; ignored: urn:example:custom:2.0:Group:tier (not a schema of Group)");
  });
});

// Microsoft Entra ID's PATCH and filter shapes (peers.md §3), concurrency on one user, atomic
// failure, and the provisioning log of refused writes.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, oktaUser, scimTenant, type ScimTenant } from "../support/harness";
import { connectedTenant } from "../support/connection";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const patch = (...Operations: unknown[]) => ({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations });

describe("Entra ID shapes", () => {
  let tenant: ScimTenant;
  beforeAll(async () => {
    tenant = await scimTenant({ provider: "entra" });
  });
  const newUser = async (overrides: Record<string, unknown> = {}) => (await tenant.scim("POST", "/Users", oktaUser(overrides))).body;

  it("Test Connection: a filter on a random GUID answers 200 with an empty list", async () => {
    const r = await tenant.scim("GET", `/Users?filter=${encodeURIComponent(`id eq "${crypto.randomUUID()}"`)}`);
    expect(r.status).toBe(200);
    expect(r.body.totalResults).toBe(0);
  });

  it("capitalised ops and the string booleans of the unflagged endpoint", async () => {
    const user = await newUser();
    const off = await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "Replace", path: "active", value: "False" }));
    expect(off.status).toBe(200);
    expect(off.body.active).toBe(false);
    const on = await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "Replace", path: "active", value: "True" }));
    expect(on.body.active).toBe(true);
    const nick = await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "Add", path: "nickName", value: "Nicky" }));
    expect(nick.body.nickName).toBe("Nicky");
    const row = await env.TENANT_DEFAULT.prepare("SELECT active, json_extract(data, '$.active') AS json_active FROM users WHERE id = ?").bind(user.id).first();
    expect(row).toEqual({ active: 1, json_active: 1 });
  });

  it("many separate Replace ops in one request, including enterprise attributes by URN path", async () => {
    const user = await newUser();
    const r = await tenant.scim(
      "PATCH",
      `/Users/${user.id}`,
      patch(
        { op: "Replace", path: "title", value: "Director" },
        { op: "Replace", path: "name.givenName", value: "Ada" },
        { op: "Replace", path: "name.familyName", value: "Lovelace" },
        { op: "Replace", path: `${ENTERPRISE}:department`, value: "Engineering" },
        { op: "Replace", path: `${ENTERPRISE}:employeeNumber`, value: 4242 },
      ),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ title: "Director", name: { givenName: "Ada", familyName: "Lovelace" }, [ENTERPRISE]: { department: "Engineering", employeeNumber: "4242" } });
  });

  it("the flagged (aadOptscim062020) path-less replace with dotted and URN-qualified keys", async () => {
    const user = await newUser();
    const r = await tenant.scim(
      "PATCH",
      `/Users/${user.id}`,
      patch({ op: "replace", value: { "name.givenName": "Grace", "name.familyName": "Hopper", [`${ENTERPRISE}:employeeNumber`]: "1906", active: false } }),
    );
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: { givenName: "Grace", familyName: "Hopper" }, active: false, [ENTERPRISE]: { employeeNumber: "1906" } });
  });

  it("a filtered replace that matches nothing creates exactly one entry", async () => {
    const user = await newUser({ addresses: undefined, phoneNumbers: undefined });
    const r = await tenant.scim(
      "PATCH",
      `/Users/${user.id}`,
      patch(
        { op: "Add", path: 'addresses[type eq "work"].streetAddress', value: "1 Main St" },
        { op: "Add", path: 'addresses[type eq "work"].locality', value: "Springfield" },
        { op: "Replace", path: 'addresses[type eq "work"].postalCode', value: "12345" },
        { op: "Replace", path: 'phoneNumbers[type eq "mobile"].value', value: "+1 555 0100" },
        { op: "Replace", path: 'emails[type eq "work"].value', value: "new.work@example.com" },
      ),
    );
    expect(r.status).toBe(200);
    expect(r.body.addresses).toEqual([{ type: "work", streetAddress: "1 Main St", locality: "Springfield", postalCode: "12345" }]);
    expect(r.body.phoneNumbers).toEqual([{ type: "mobile", value: "+1 555 0100" }]);
    expect(r.body.emails).toHaveLength(1);
    expect(r.body.emails[0]).toMatchObject({ type: "work", value: "new.work@example.com" });
  });

  it("manager as a bare string, an object or a singleton array; cleared with an empty string", async () => {
    const manager = await newUser();
    const user = await newUser();
    for (const value of [manager.id, { value: manager.id }, [{ value: manager.id }]]) {
      const r = await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "Replace", path: `${ENTERPRISE}:manager`, value }));
      expect(r.status).toBe(200);
      expect(r.body[ENTERPRISE].manager).toEqual({ value: manager.id });
    }
    const bare = await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "Replace", path: "manager", value: "" }));
    expect(bare.status).toBe(200);
    expect(bare.body).not.toHaveProperty(ENTERPRISE);
  });

  it("an empty Operations list is a no-op that keeps the version", async () => {
    const user = await newUser();
    const r = await tenant.scim("PATCH", `/Users/${user.id}`, patch());
    expect(r.status).toBe(200);
    expect(r.headers.get("ETag")).toBe('W/"1"');
    expect(r.body.meta.lastModified).toBe(user.meta.lastModified);
  });

  it("filters by unquoted externalId and by work email, as Entra's matching does", async () => {
    const user = await newUser({ externalId: "jyoung", emails: [{ value: "J.Young@Contoso.com", type: "work", primary: true }] });
    for (const filter of ["externalId eq jyoung", 'emails[type eq "work"].value eq "j.young@contoso.com"']) {
      const r = await tenant.scim("GET", `/Users?filter=${encodeURIComponent(filter)}`);
      expect(r.body.Resources.map((u: { id: string }) => u.id), filter).toEqual([user.id]);
    }
  });
});

describe("concurrency on one user", () => {
  it("40 concurrent creates of one userName in mixed case: exactly one 201, the rest 409, one stored user", async () => {
    const tenant = await scimTenant();
    const base = `race.${crypto.randomUUID().slice(0, 6)}@example.com`;
    const variants = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? base.toUpperCase() : i % 3 === 1 ? base : base.replace(/^r/, "R")));
    const results = await Promise.all(variants.map((userName) => tenant.scim("POST", "/Users", oktaUser({ userName }))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(39);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.scimType).toBe("uniqueness");
    const stored = await env.TENANT_DEFAULT.prepare("SELECT count(*) AS n FROM users WHERE user_name_norm = ?").bind(base.toLowerCase()).first<{ n: number }>();
    expect(stored!.n).toBe(1);
  });

  it("20 concurrent PATCHes, each replacing a different attribute: all 20 values are present afterwards", async () => {
    const tenant = await scimTenant();
    const user = (await tenant.scim("POST", "/Users", oktaUser())).body;
    const paths = [
      "title", "nickName", "displayName", "profileUrl", "userType", "preferredLanguage", "locale", "timezone",
      "name.givenName", "name.familyName", "name.middleName", "name.honorificPrefix", "name.honorificSuffix", "name.formatted",
      `${ENTERPRISE}:employeeNumber`, `${ENTERPRISE}:costCenter`, `${ENTERPRISE}:organization`, `${ENTERPRISE}:division`, `${ENTERPRISE}:department`,
      "externalId",
    ];
    const valueFor = (path: string) => (path === "profileUrl" ? "https://example.com/p" : `v-${path.split(":").pop()}`);
    const results = await Promise.all(paths.map((path) => tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "replace", path, value: valueFor(path) }))));
    for (const r of results) expect(r.status).toBe(200);
    const after = (await tenant.scim("GET", `/Users/${user.id}`)).body;
    const read = (path: string) => {
      if (path.startsWith(ENTERPRISE)) return after[ENTERPRISE]?.[path.slice(ENTERPRISE.length + 1)];
      return path.split(".").reduce((node: any, key) => node?.[key], after);
    };
    for (const path of paths) expect(read(path), path).toBe(valueFor(path));
    expect(after.meta.version).toBe('W/"21"');
  });

  it("a failed PATCH changes nothing: the stored row is byte-for-byte the same", async () => {
    const tenant = await scimTenant();
    const user = (await tenant.scim("POST", "/Users", oktaUser({ title: "Before" }))).body;
    const before = await env.TENANT_DEFAULT.prepare("SELECT * FROM users WHERE id = ?").bind(user.id).first();
    const bad = await tenant.scim(
      "PATCH",
      `/Users/${user.id}`,
      patch({ op: "replace", path: "title", value: "After" }, { op: "replace", path: "nickName", value: "Nick" }, { op: "remove", path: 'emails[type eq "work"' }),
    );
    expect(bad.status).toBe(400);
    expect(["invalidPath", "invalidFilter"]).toContain(bad.body.scimType);
    for (const [body, scimType] of [
      [patch({ op: "replace", path: "title", value: "After" }, { op: "remove" }), "noTarget"],
      [patch({ op: "replace", path: "title", value: "After" }, { op: "replace", path: "nosuch", value: 1 }), "invalidPath"],
      [patch({ op: "replace", path: "title", value: "After" }, { op: "replace", path: "id", value: "x" }), "mutability"],
      [patch({ op: "replace", path: "title", value: "After" }, { op: "replace", path: "active", value: "perhaps" }), "invalidValue"],
      [patch({ op: "replace", path: "title", value: "After" }, { op: "frobnicate", path: "title" }), "invalidSyntax"],
      [{ Operations: "nope" }, "invalidSyntax"],
    ] as const) {
      const r = await tenant.scim("PATCH", `/Users/${user.id}`, body);
      expect(r.status).toBe(400);
      expect(r.body.scimType).toBe(scimType);
    }
    const after = await env.TENANT_DEFAULT.prepare("SELECT * FROM users WHERE id = ?").bind(user.id).first();
    expect(after).toEqual(before);
  });

  it("a rename onto another user's userName is a 409 and changes nothing", async () => {
    const tenant = await scimTenant();
    const a = (await tenant.scim("POST", "/Users", oktaUser())).body;
    const b = (await tenant.scim("POST", "/Users", oktaUser())).body;
    const r = await tenant.scim("PATCH", `/Users/${b.id}`, patch({ op: "replace", path: "userName", value: a.userName.toUpperCase() }));
    expect(r.status).toBe(409);
    expect(r.body.scimType).toBe("uniqueness");
    expect((await tenant.scim("GET", `/Users/${b.id}`)).body.userName).toBe(b.userName);
  });
});

describe("ETags (RFC 7644 §3.14)", () => {
  it("If-Match guards writes with 412, If-None-Match answers 304", async () => {
    const tenant = await scimTenant();
    const user = (await tenant.scim("POST", "/Users", oktaUser())).body;
    expect((await tenant.scim("GET", `/Users/${user.id}`, undefined, { "If-None-Match": 'W/"1"' })).status).toBe(304);
    expect((await tenant.scim("GET", `/Users/${user.id}`, undefined, { "If-None-Match": 'W/"7"' })).status).toBe(200);
    const stale = await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "replace", path: "title", value: "x" }), { "If-Match": 'W/"9"' });
    expect(stale.status).toBe(412);
    const fresh = await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "replace", path: "title", value: "x" }), { "If-Match": 'W/"1"' });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("ETag")).toBe('W/"2"');
    expect((await tenant.scim("PUT", `/Users/${user.id}`, fresh.body, { "If-Match": 'W/"1"' })).status).toBe(412);
    expect((await tenant.scim("DELETE", `/Users/${user.id}`, undefined, { "If-Match": 'W/"1"' })).status).toBe(412);
    expect((await tenant.scim("DELETE", `/Users/${user.id}`, undefined, { "If-Match": "*" })).status).toBe(204);
  });
});

describe("the provisioning log", () => {
  it("records successful and refused writes, newest first, with the token prefix and never a secret", async () => {
    // Connected first, so its health row (design.md §4g) has a known place in the log.
    const tenant = await connectedTenant();
    const user = (await tenant.scim("POST", "/Users", oktaUser({ password: "Pa55word!" }))).body;
    await tenant.scim("POST", "/Users", oktaUser({ userName: user.userName.toUpperCase() }));
    await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "replace", value: { password: "N3wPass!" } }));
    await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "replace", path: "nosuch", value: 1 }));
    await tenant.scim("PATCH", `/Users/${user.id}`, patch({ op: "replace", value: { active: false } }));

    const log = await admin("GET", `/tenants/${tenant.slug}/events`);
    expect(log.status).toBe(200);
    const events = log.body.events;
    expect(events.map((e: { action: string; outcome: string; status: number }) => [e.action, e.outcome, e.status])).toEqual([
      ["user.deactivate", "success", 200],
      ["user.update", "failure", 400],
      ["user.update", "failure", 400],
      ["user.create", "failure", 409],
      ["user.create", "success", 201],
      ["connection.health_changed", "success", 200],
      // The operator's setup of the tenant, with its actor (admin actions are in the log too).
      ["scim.enable", "success", 201],
      ["tenant.create", "success", 201],
    ]);
    expect(events.slice(6).map((e: { actor: unknown }) => e.actor)).toEqual([{ type: "admin-token" }, { type: "admin-token" }]);
    for (const event of events.slice(0, 5)) {
      expect(event.tokenPrefix).toBe(tenant.token.slice(0, 12));
      expect(event).toMatchObject({ resourceType: "User", userName: expect.any(String), at: expect.stringMatching(/Z$/) });
    }
    expect(events[1].detail).toContain("nosuch");
    expect(events[2].detail).toMatch(/Sync Password/);
    expect(events[3].detail).toMatch(/already exists/);
    const dump = JSON.stringify(events);
    expect(dump).not.toContain(tenant.token);
    expect(dump).not.toMatch(/Pa55word|N3wPass/);

    const page = await admin("GET", `/tenants/${tenant.slug}/events?limit=2&before=${events[1].id}`);
    expect(page.body.events.map((e: { id: number }) => e.id)).toEqual([events[2].id, events[3].id]);
    expect((await admin("GET", `/tenants/${tenant.slug}/events?outcome=failure`)).body.events).toHaveLength(3);
    expect((await admin("GET", `/tenants/${tenant.slug}/events?limit=501`)).status).toBe(400);
  });

  it("the admin user list searches, pages and shows the badge", async () => {
    const tenant = await scimTenant();
    for (const name of ["alice", "bob", "carol"]) await tenant.scim("POST", "/Users", oktaUser({ userName: `${name}@corp.example`, displayName: `${name} Smith` }));
    const all = await admin("GET", `/tenants/${tenant.slug}/users`);
    expect(all.body.totalResults).toBe(3);
    expect(all.body.users[0]).toEqual({
      id: expect.any(String),
      userName: "alice@corp.example",
      displayName: "alice Smith",
      email: expect.stringContaining("@example.com"),
      active: true,
      source: "okta",
      avatarUrl: null,
      role: "member",
      attributes: {},
      lastSignInAt: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await admin("GET", `/tenants/${tenant.slug}/users?q=BOB`)).body.users.map((u: { userName: string }) => u.userName)).toEqual(["bob@corp.example"]);
    expect((await admin("GET", `/tenants/${tenant.slug}/users?q=100%25`)).body.totalResults).toBe(0);
    await tenant.scim("PATCH", `/Users/${all.body.users[2].id}`, { Operations: [{ op: "replace", value: { active: false } }] });
    expect((await admin("GET", `/tenants/${tenant.slug}/users?status=deactivated`)).body.users.map((u: { userName: string }) => u.userName)).toEqual(["carol@corp.example"]);
    expect((await admin("GET", `/tenants/${tenant.slug}/users?status=active`)).body.totalResults).toBe(2);
    expect((await admin("GET", `/tenants/${tenant.slug}/users?status=asleep`)).status).toBe(400);
    const paged = await admin("GET", `/tenants/${tenant.slug}/users?startIndex=2&count=1`);
    expect(paged.body.users.map((u: { userName: string }) => u.userName)).toEqual(["bob@corp.example"]);
    expect((await admin("PATCH", `/tenants/${tenant.slug}/users/${all.body.users[0].id}`, { avatarUrl: "javascript:alert(1)" })).status).toBe(400);
    expect((await admin("PATCH", `/tenants/${tenant.slug}/users/${crypto.randomUUID()}`, { avatarUrl: null })).status).toBe(404);
  });
});

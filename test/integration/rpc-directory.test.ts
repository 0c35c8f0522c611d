// The ScimDirectory RPC entrypoint, called through a real service binding (env.DIRECTORY, bound in
// vitest.config.ts exactly as a consumer Worker binds it).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { connectedTenant } from "../support/connection";
import { admin, oktaUser, rejection, scimTenant, uniqueSlug, type ScimTenant } from "../support/harness";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async function createUser(tenant: ScimTenant, overrides: Record<string, unknown> = {}) {
  const res = await tenant.scim("POST", "/Users", oktaUser(overrides));
  expect(res.status).toBe(201);
  return res.body;
}

describe("ScimDirectory over a service binding", () => {
  it("getUser returns the webhook payload's user shape, null for an unknown id", async () => {
    const tenant = await scimTenant();
    const created = await createUser(tenant, { title: "Engineer", [ENTERPRISE]: { department: "R&D" } });
    const user = await env.DIRECTORY.getUser(tenant.slug, created.id);
    expect(user).toEqual({
      id: created.id,
      userName: created.userName,
      externalId: created.externalId,
      displayName: created.displayName,
      name: created.name,
      emails: created.emails,
      active: true,
      title: "Engineer",
      department: "R&D",
      source: "okta",
      avatarUrl: null,
      role: "member",
      attributes: {},
    });
    expect(await env.DIRECTORY.getUser(tenant.slug, "no-such-id")).toBeNull();
  });

  it("findUserByUserName matches case-insensitively; isActive follows deactivation and is false for unknown users", async () => {
    const tenant = await scimTenant();
    const created = await createUser(tenant, { userName: "Mixed.Case@Example.com" });
    expect((await env.DIRECTORY.findUserByUserName(tenant.slug, "mixed.case@EXAMPLE.COM"))?.id).toBe(created.id);
    expect(await env.DIRECTORY.findUserByUserName(tenant.slug, "nobody@example.com")).toBeNull();

    expect(await env.DIRECTORY.isActive(tenant.slug, "MIXED.case@example.com")).toBe(true);
    const off = await tenant.scim("PATCH", `/Users/${created.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] });
    expect(off.status).toBe(200);
    expect(await env.DIRECTORY.isActive(tenant.slug, "Mixed.Case@Example.com")).toBe(false);
    expect(await env.DIRECTORY.isActive(tenant.slug, "nobody@example.com")).toBe(false);
  });

  it("listUsers pages every user once in a stable order", async () => {
    const tenant = await scimTenant();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createUser(tenant)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { users: { id: string }[]; nextCursor: string | null } = await env.DIRECTORY.listUsers(tenant.slug, { cursor, limit: 3 });
      expect(page.users.length).toBeLessThanOrEqual(3);
      seen.push(...page.users.map((u) => u.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    const all = await env.DIRECTORY.listUsers(tenant.slug);
    expect(all.users.map((u) => u.id)).toEqual(ids);
    expect(all.nextCursor).toBeNull();
    expect((await rejection(env.DIRECTORY.listUsers(tenant.slug, { limit: 0 }))).message).toMatch(/limit/);
    expect((await rejection(env.DIRECTORY.listUsers(tenant.slug, { cursor: "garbage" }))).message).toMatch(/cursor/);
  });

  it("groupsOf lists the user's groups", async () => {
    const tenant = await scimTenant();
    const user = await createUser(tenant);
    const other = await createUser(tenant);
    const engineering = await tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering", externalId: "g-eng", members: [{ value: user.id }] });
    const admins = await tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Admins", members: [{ value: user.id }, { value: other.id }] });
    await tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Sales", members: [{ value: other.id }] });
    expect(await env.DIRECTORY.groupsOf(tenant.slug, user.id)).toEqual([
      { id: admins.body.id, displayName: "Admins", externalId: null },
      { id: engineering.body.id, displayName: "Engineering", externalId: "g-eng" },
    ]);
    expect(await env.DIRECTORY.groupsOf(tenant.slug, "no-such-user")).toEqual([]);
  });

  it("changes answers the feed, with the admin route's page and validation", async () => {
    const tenant = await connectedTenant();
    const user = await createUser(tenant);
    const viaHttp = await admin("GET", `/tenants/${tenant.slug}/changes?limit=500`);
    const viaRpc = await env.DIRECTORY.changes(tenant.slug, { limit: 500 });
    expect(viaRpc).toEqual(viaHttp.body);
    expect(viaRpc.data.map((e) => e.type)).toEqual(["connection.enabled", "connection.health_changed", "user.created"]);
    expect(viaRpc.data[2].data.user).toEqual(await env.DIRECTORY.getUser(tenant.slug, user.id));
    const onlyUsers = await env.DIRECTORY.changes(tenant.slug, { types: ["user.created"] });
    expect(onlyUsers.data.map((e) => e.id)).toEqual([viaRpc.data[2].id]);
    const after = await env.DIRECTORY.changes(tenant.slug, { after: viaRpc.nextCursor });
    expect(after.data).toEqual([]);
    expect((await rejection(env.DIRECTORY.changes(tenant.slug, { after: "garbage!" }))).message).toMatch(/after/);
    expect((await rejection(env.DIRECTORY.changes(tenant.slug, { limit: 501 }))).message).toMatch(/limit/);
    expect((await rejection(env.DIRECTORY.changes(tenant.slug, { types: ["user.nope"] }))).message).toMatch(/valid types/);
  });

  it("throws a clear error for an unknown tenant", async () => {
    const slug = uniqueSlug("missing");
    expect((await rejection(env.DIRECTORY.isActive(slug, "a@example.com"))).message).toMatch(`No tenant with slug '${slug}'`);
    expect((await rejection(env.DIRECTORY.getUser(slug, "x"))).message).toMatch(/No tenant/);
  });

  it("never shows tenant A's users through tenant B (same database)", async () => {
    const a = await scimTenant();
    const b = await scimTenant();
    const user = await createUser(a, { userName: "shared.name@example.com" });
    await tenant_b_has_groups(b);
    expect(await env.DIRECTORY.getUser(b.slug, user.id)).toBeNull();
    expect(await env.DIRECTORY.findUserByUserName(b.slug, "shared.name@example.com")).toBeNull();
    expect(await env.DIRECTORY.isActive(b.slug, "shared.name@example.com")).toBe(false);
    expect((await env.DIRECTORY.listUsers(b.slug)).users.map((u) => u.id)).not.toContain(user.id);
    const group = await a.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "A only", members: [{ value: user.id }] });
    expect(group.status).toBe(201);
    expect(await env.DIRECTORY.groupsOf(b.slug, user.id)).toEqual([]);
    expect(await env.DIRECTORY.groupsOf(a.slug, user.id)).toHaveLength(1);
    // And A sees it: the negative answers above are about scope, not about a missing user.
    expect(await env.DIRECTORY.isActive(a.slug, "shared.name@example.com")).toBe(true);
  });
});

/** B gets a user of its own so its lists are not trivially empty. */
async function tenant_b_has_groups(b: ScimTenant) {
  await createUser(b);
}

// Per-tenant database routing: a tenant's rows land in the D1 database its row names, and nowhere else.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { oktaUser, scimTenant } from "../support/harness";

async function usersIn(db: D1Database, userName: string) {
  const { results } = await db.prepare("SELECT tenant_id, user_name FROM users WHERE user_name = ?").bind(userName).all();
  return results;
}

describe("tenant databases", () => {
  it("routes each tenant's writes and reads to its own binding", async () => {
    const onDefault = await scimTenant();
    const onDemo = await scimTenant({ database: "TENANT_DEMO" });
    const a = oktaUser();
    const b = oktaUser();
    expect((await onDefault.scim("POST", "/Users", a)).status).toBe(201);
    expect((await onDemo.scim("POST", "/Users", b)).status).toBe(201);

    expect(await usersIn(env.TENANT_DEFAULT, a.userName)).toHaveLength(1);
    expect(await usersIn(env.TENANT_DEMO, a.userName)).toHaveLength(0);
    expect(await usersIn(env.TENANT_DEMO, b.userName)).toHaveLength(1);
    expect(await usersIn(env.TENANT_DEFAULT, b.userName)).toHaveLength(0);

    const events = await env.TENANT_DEMO.prepare("SELECT action, target FROM events WHERE target = ?").bind(b.userName).all();
    expect(events.results).toEqual([{ action: "user.create", target: b.userName }]);
  });

  it("scopes tenants that share a database by tenant_id", async () => {
    const first = await scimTenant();
    const second = await scimTenant();
    const user = oktaUser();
    const created = await first.scim("POST", "/Users", user);
    expect(created.status).toBe(201);
    // The same userName is free in the other tenant of the same database …
    expect((await second.scim("POST", "/Users", user)).status).toBe(201);
    // … and neither tenant sees the other's user, by filter or by id.
    const listed = await second.scim("GET", `/Users?filter=${encodeURIComponent(`userName eq "${user.userName}"`)}`);
    expect(listed.body.totalResults).toBe(1);
    expect(listed.body.Resources[0].id).not.toBe(created.body.id);
    expect((await second.scim("GET", `/Users/${created.body.id}`)).status).toBe(404);
    expect((await second.scim("PATCH", `/Users/${created.body.id}`, { Operations: [{ op: "replace", value: { active: false } }] })).status).toBe(404);
    expect((await first.scim("GET", `/Users/${created.body.id}`)).body.active).toBe(true);
  });
});

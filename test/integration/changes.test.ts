// The change feed (design.md §4b): GET /admin/v1/tenants/{slug}/changes, oldest first, cursor-paged,
// fed by real SCIM writes through the outbox.
import { describe, expect, it } from "vitest";
import { admin, oktaUser, scimTenant, uniqueSlug, type JsonResponse, type ScimTenant } from "../support/harness";
import { connectedTenant } from "../support/connection";

/** Creates `count` users through SCIM /Bulk (in request order); their ids in creation order. */
async function createUsers(tenant: ScimTenant, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 100) {
    const size = Math.min(100, count - start);
    const operations = Array.from({ length: size }, (_, i) => ({ method: "POST", path: "/Users", bulkId: `u${start + i}`, data: oktaUser() }));
    const res = await tenant.scim("POST", "/Bulk", { schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], Operations: operations });
    expect(res.status).toBe(200);
    for (const op of res.body.Operations) {
      expect(op.status).toBe("201");
      ids.push(op.location.split("/").pop());
    }
  }
  return ids;
}

async function deleteUser(tenant: ScimTenant, id: string) {
  expect((await tenant.scim("DELETE", `/Users/${id}`)).status).toBe(204);
}

async function feed(slug: string, query = ""): Promise<JsonResponse> {
  return admin("GET", `/tenants/${slug}/changes${query ? `?${query}` : ""}`);
}

describe("change feed", () => {
  it("pages 1,000 changes with limit=100: each once, oldest first, then an empty page that keeps the cursor", async () => {
    const tenant = await connectedTenant();
    const ids = await createUsers(tenant, 1000);

    const seen: any[] = [];
    let cursor: string | null = null;
    let pages = 0;
    for (;;) {
      const page: JsonResponse = await feed(tenant.slug, `limit=100${cursor ? `&after=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      pages += 1;
      expect(page.body.data.length).toBeLessThanOrEqual(100);
      if (page.body.data.length === 0) {
        // Nothing newer: the cursor stays usable (it is the one given).
        expect(page.body.nextCursor).toBe(cursor);
        break;
      }
      seen.push(...page.body.data);
      cursor = page.body.nextCursor;
    }
    // connection.enabled (SCIM switched on), connection.health_changed (the first request), then one
    // user.created per user, in creation order.
    expect(seen.map((e) => e.type)).toEqual(["connection.enabled", "connection.health_changed", ...ids.map(() => "user.created")]);
    expect(seen.slice(2).map((e) => e.data.user.id)).toEqual(ids);
    expect(new Set(seen.map((e) => e.id)).size).toBe(1002);
    expect(pages).toBe(12);
    expect(seen[2]).toMatchObject({ id: expect.stringMatching(/^evt_[0-9a-f]{32}$/), type: "user.created", data: { tenant: tenant.slug, version: 1, user: { id: ids[0], active: true } } });
    expect(Date.parse(seen[2].occurredAt)).not.toBeNaN();

    const again = await feed(tenant.slug, `after=${cursor}`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ data: [], nextCursor: cursor });

    // A consumer that stored the cursor sees exactly the changes made since.
    await deleteUser(tenant, ids[5]);
    const next = await feed(tenant.slug, `after=${cursor}`);
    expect(next.body.data.map((e: any) => [e.type, e.data.user.id])).toEqual([["user.deleted", ids[5]]]);
    expect(next.body.nextCursor).not.toBe(cursor);
  });

  it("defaults to 100 a page; nextCursor is null only when there are no events and no cursor", async () => {
    const slug = uniqueSlug("feed");
    expect((await admin("POST", "/tenants", { slug })).status).toBe(201);
    expect((await feed(slug)).body).toEqual({ data: [], nextCursor: null });

    const tenant = await connectedTenant();
    await createUsers(tenant, 148); // after connection.enabled and connection.health_changed: 150 events
    const first = await feed(tenant.slug);
    expect(first.body.data).toHaveLength(100);
    const second = await feed(tenant.slug, `after=${first.body.nextCursor}`);
    expect(second.body.data).toHaveLength(50);
  });

  it("filters by types", async () => {
    const tenant = await scimTenant();
    const ids = await createUsers(tenant, 4);
    await deleteUser(tenant, ids[1]);
    await deleteUser(tenant, ids[3]);
    const group = await tenant.scim("POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Team", members: [{ value: ids[0] }] });
    expect(group.status).toBe(201);

    const deletions = await feed(tenant.slug, "types=user.deleted,group.deleted");
    expect(deletions.status).toBe(200);
    expect(deletions.body.data.map((e: any) => [e.type, e.data.user.id])).toEqual([
      ["user.deleted", ids[1]],
      ["user.deleted", ids[3]],
    ]);
    const groupsOnly = await feed(tenant.slug, "types=group.created,group.user_added");
    expect(groupsOnly.body.data.map((e: any) => e.type)).toEqual(["group.created", "group.user_added"]);
    expect(groupsOnly.body.data[1].data).toMatchObject({ group: { id: group.body.id }, user: { id: ids[0] } });
  });

  it.each([
    ["after=nonsense!", "after"],
    ["after=MTIz", "after"], // base64url of "123": a bare number is not a cursor
    ["after=" + "A".repeat(100), "after"],
    ["limit=0", "limit"],
    ["limit=501", "limit"],
    ["limit=ten", "limit"],
    ["limit=1.5", "limit"],
    ["types=user.created,user.exploded", "user.exploded"],
  ])("refuses %s with a 400 naming %s", async (query, named) => {
    const { slug } = await scimTenant();
    const res = await feed(slug, query);
    expect(res.status).toBe(400);
    expect(res.headers.get("Content-Type")).toContain("application/problem+json");
    expect(res.body.detail).toContain(named);
    if (named === "user.exploded") expect(res.body.detail).toContain("valid types: user.created, user.updated");
  });

  it("answers 404 for an unknown tenant", async () => {
    expect((await feed(uniqueSlug("none"))).status).toBe(404);
  });

  it("never shows another tenant's changes (same database), whatever cursor is passed", async () => {
    const a = await connectedTenant();
    const b = await connectedTenant();
    const idsA = await createUsers(a, 3);
    const idsB = await createUsers(b, 2);
    idsA.push(...(await createUsers(a, 2)));
    const pageA = await feed(a.slug, "limit=500");
    const pageB = await feed(b.slug, "limit=500");
    expect(pageA.body.data.slice(2).map((e: any) => e.data.user.id)).toEqual(idsA);
    expect(pageB.body.data.slice(2).map((e: any) => e.data.user.id)).toEqual(idsB);
    expect(pageA.body.data.every((e: any) => e.data.tenant === a.slug)).toBe(true);
    // A cursor taken from A's feed, used on B's: still only B's changes.
    const crossed = await feed(b.slug, `after=${pageA.body.nextCursor}`);
    expect(crossed.status).toBe(200);
    expect(crossed.body.data).toEqual([]);
    const fromStartOfA = await feed(b.slug, `after=${(await feed(a.slug, "limit=1")).body.nextCursor}`);
    expect(fromStartOfA.body.data.map((e: any) => e.type)).toEqual(["connection.enabled", "connection.health_changed", "user.created", "user.created"]);
    expect(fromStartOfA.body.data.every((e: any) => e.data.tenant === b.slug)).toBe(true);
    expect(fromStartOfA.body.data.slice(2).map((e: any) => e.data.user.id)).toEqual(idsB);
  });
});

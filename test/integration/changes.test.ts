// The change feed (design.md §4b): GET /admin/v1/tenants/{slug}/changes, oldest first, cursor-paged.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, scimTenant, uniqueSlug, type JsonResponse } from "../support/harness";

async function tenantId(slug: string): Promise<string> {
  const row = await env.CONTROL_DB.prepare("SELECT id FROM tenants WHERE slug = ?").bind(slug).first<{ id: string }>();
  return row!.id;
}

/** Outbox rows as the write path stores them (used where the test needs many events fast). */
async function insertChanges(slug: string, count: number, type = "user.created"): Promise<string[]> {
  const id = await tenantId(slug);
  const ids: string[] = [];
  const statements = [];
  for (let i = 0; i < count; i++) {
    const eventId = `evt_${crypto.randomUUID().replace(/-/g, "")}`;
    ids.push(eventId);
    const data = JSON.stringify({ tenant: slug, version: 1, user: { id: `u${i}`, userName: `user${i}@example.com` } });
    statements.push(
      env.TENANT_DEFAULT.prepare("INSERT INTO change_events (id, tenant_id, type, occurred_at, resource_id, version, data) VALUES (?, ?, ?, ?, ?, 1, ?)").bind(
        eventId,
        id,
        type,
        new Date().toISOString(),
        `u${i}`,
        data,
      ),
    );
  }
  for (let i = 0; i < statements.length; i += 200) await env.TENANT_DEFAULT.batch(statements.slice(i, i + 200));
  return ids;
}

async function readAll(slug: string, limit: number, query = "") {
  const seen: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  for (;;) {
    const page: JsonResponse = await admin("GET", `/tenants/${slug}/changes?limit=${limit}${cursor ? `&after=${cursor}` : ""}${query}`);
    expect(page.status).toBe(200);
    pages += 1;
    if (page.body.data.length === 0) {
      // Nothing newer: the cursor stays usable (it is the one given).
      expect(page.body.nextCursor).toBe(cursor);
      return { seen, cursor, pages };
    }
    expect(page.body.data.length).toBeLessThanOrEqual(limit);
    seen.push(...page.body.data);
    cursor = page.body.nextCursor;
  }
}

describe("change feed", () => {
  it("pages 1,000 events with limit=100: each once, oldest first, then an empty page that keeps the cursor", async () => {
    const { slug } = await scimTenant();
    const before = await readAll(slug, 100);
    const ids = await insertChanges(slug, 1000);
    const { seen, cursor, pages } = await readAll(slug, 100);
    const mine = seen.filter((e) => ids.includes(e.id));
    expect(mine.map((e) => e.id)).toEqual(ids);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    expect(seen.length).toBe(before.seen.length + 1000);
    expect(pages).toBeGreaterThanOrEqual(11);
    expect(mine[0]).toMatchObject({ type: "user.created", data: { tenant: slug, version: 1, user: { id: "u0" } } });
    expect(typeof mine[0].occurredAt).toBe("string");

    const after = await admin("GET", `/tenants/${slug}/changes?after=${cursor}`);
    expect(after.status).toBe(200);
    expect(after.body).toEqual({ data: [], nextCursor: cursor });

    // A consumer that stored the cursor sees exactly the events written since.
    const later = await insertChanges(slug, 3, "user.updated");
    const next = await admin("GET", `/tenants/${slug}/changes?after=${cursor}`);
    expect(next.body.data.map((e: any) => e.id)).toEqual(later);
  });

  it("defaults to 100 per page and answers null nextCursor only when there are no events", async () => {
    const slug = uniqueSlug("feed");
    expect((await admin("POST", "/tenants", { slug })).status).toBe(201);
    const empty = await admin("GET", `/tenants/${slug}/changes`);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ data: [], nextCursor: null });

    await insertChanges(slug, 150);
    const first = await admin("GET", `/tenants/${slug}/changes`);
    expect(first.body.data).toHaveLength(100);
    const second = await admin("GET", `/tenants/${slug}/changes?after=${first.body.nextCursor}`);
    expect(second.body.data).toHaveLength(50);
  });

  it("filters by types", async () => {
    const slug = uniqueSlug("feed");
    await admin("POST", "/tenants", { slug });
    await insertChanges(slug, 2, "user.created");
    const deleted = await insertChanges(slug, 2, "user.deleted");
    await insertChanges(slug, 2, "group.created");
    const page = await admin("GET", `/tenants/${slug}/changes?types=user.deleted,group.deleted`);
    expect(page.status).toBe(200);
    expect(page.body.data.map((e: any) => e.id)).toEqual(deleted);
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
    const res = await admin("GET", `/tenants/${slug}/changes?${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.get("Content-Type")).toContain("application/problem+json");
    expect(res.body.detail).toContain(named);
    if (named === "user.exploded") expect(res.body.detail).toContain("valid types: user.created, user.updated");
  });

  it("answers 404 for an unknown tenant", async () => {
    const res = await admin("GET", `/tenants/${uniqueSlug("none")}/changes`);
    expect(res.status).toBe(404);
  });

  it("never shows another tenant's events (same database)", async () => {
    const a = uniqueSlug("fa");
    const b = uniqueSlug("fb");
    await admin("POST", "/tenants", { slug: a });
    await admin("POST", "/tenants", { slug: b });
    const idsA = [...(await insertChanges(a, 5)), ...(await insertChanges(a, 5))];
    const idsB = await insertChanges(b, 5);
    const pageA = await admin("GET", `/tenants/${a}/changes?limit=500`);
    const pageB = await admin("GET", `/tenants/${b}/changes?limit=500`);
    expect(pageA.body.data.map((e: any) => e.id)).toEqual(idsA);
    expect(pageB.body.data.map((e: any) => e.id)).toEqual(idsB);
    // A's cursor used on B's feed still shows only B's events.
    const crossed = await admin("GET", `/tenants/${b}/changes?after=${pageA.body.data[0] && pageA.body.nextCursor}`);
    expect(crossed.body.data.every((e: any) => e.data.tenant === b)).toBe(true);
  });
});

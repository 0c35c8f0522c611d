/**
 * Console: Settings › Roles (with the preview) and Settings › Custom attributes, for the operator
 * and for the customer's IT admin through a real setup link; the user page shows role and values.
 */
import { describe, expect, it } from "vitest";
import { csrfOf, send, signIn } from "../support/console-session";
import { admin, oktaUser, randomIp, scimTenant } from "../support/harness";

const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";
const EXT = "urn:ietf:params:scim:schemas:extension:thestorage:2.0:User";

/** A signed-in session of either kind: cookie, CSRF and IP, and a form post helper. */
async function itAdmin(slug: string) {
  const link = await admin("POST", `/tenants/${slug}/setup-links`, {});
  const ip = randomIp();
  const redeemed = await send("GET", new URL(link.body.url).pathname, { ip });
  const cookie = redeemed.headers.get("Set-Cookie")!.split(";")[0]!;
  const page = await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie, ip });
  return { cookie, ip, csrf: csrfOf(page.text) };
}

async function operator() {
  const s = await signIn();
  return { cookie: s.cookie, csrf: s.csrf, ip: undefined as string | undefined };
}

type Session = Awaited<ReturnType<typeof operator>>;
const get = (s: Session, path: string) => send("GET", path, { cookie: s.cookie, ip: s.ip });
const post = (s: Session, path: string, form: string[][]) => send("POST", path, { cookie: s.cookie, ip: s.ip, form: [["_csrf", s.csrf], ...form] });

for (const who of ["operator", "IT admin"] as const) {
  describe(`Settings › Roles (${who})`, () => {
    it("shows the mapping, previews how many users a change moves without saving, then saves it (audited)", async () => {
      const t = await scimTenant();
      const session = who === "operator" ? await operator() : await itAdmin(t.slug);
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await t.scim("POST", "/Users", oktaUser())).body.id);
      const group = (await t.scim("POST", "/Groups", { schemas: [GROUP], displayName: "Admins", members: [{ value: ids[0] }] })).body.id;

      const page = await get(session, `/admin/tenants/${t.slug}/roles`);
      expect(page.status).toBe(200);
      expect(page.text).toContain("Settings › Roles");
      expect(page.text).toContain("Users now: viewer 0 · member 3 · admin 0");
      expect(page.text).toContain(`<option value="${group}">Admins</option>`);

      const form = [["default", "viewer"], ["group", group], ["role", "admin"], ["group", ""], ["role", ""]];
      const preview = await post(session, `/admin/tenants/${t.slug}/roles/preview`, form);
      expect(preview.status).toBe(200);
      expect(preview.text).toContain("saving this mapping gives 3 users another role: member → viewer: 2; member → admin: 1. Nothing is saved yet.");
      // Nothing was saved.
      expect((await admin("GET", `/tenants/${t.slug}/role-mappings`)).body.rules).toEqual([]);
      // The form keeps what was previewed.
      expect(preview.text).toContain(`<option value="${group}" selected="">Admins</option>`);

      const saved = await post(session, `/admin/tenants/${t.slug}/roles`, form);
      expect(saved.status).toBe(303);
      const after = await get(session, saved.headers.get("Location")!);
      expect(after.text).toContain("Saved. 3 users changed role.");
      expect(after.text).toContain("Users now: viewer 2 · member 0 · admin 1");
      expect((await admin("GET", `/tenants/${t.slug}/role-mappings`)).body).toMatchObject({ default: "viewer", rules: [{ group, role: "admin" }] });
      const log = await admin("GET", `/tenants/${t.slug}/events?limit=5`);
      expect(log.body.events.find((e: { action: string }) => e.action === "roles.mapping_update").actor.type).toBe(who === "operator" ? "console" : "setup-link");

      const refused = await post(session, `/admin/tenants/${t.slug}/roles`, [["default", "root"]]);
      expect(refused.status).toBe(400);
      expect(refused.text).toContain("is not a role of this deployment");
    });
  });

  describe(`Settings › Custom attributes (${who})`, () => {
    it("adds one, refuses a bad name, removes one only with the erasure confirmed; the user page shows role and values", async () => {
      const t = await scimTenant();
      const session = who === "operator" ? await operator() : await itAdmin(t.slug);
      const added = await post(session, `/admin/tenants/${t.slug}/attributes`, [["name", "costCenter"], ["type", "string"], ["description", "Cost centre"]]);
      expect(added.status).toBe(303);
      expect((await get(session, added.headers.get("Location")!)).text).toContain("Added costCenter.");
      expect((await admin("GET", `/tenants/${t.slug}/attributes`)).body.attributes).toEqual([{ name: "costCenter", type: "string", multiValued: false, description: "Cost centre" }]);
      const bad = await post(session, `/admin/tenants/${t.slug}/attributes`, [["name", "cost_center"], ["type", "string"]]);
      expect(bad.status).toBe(400);
      expect(bad.text).toContain("attributes[1].name");

      const user = await t.scim("POST", "/Users", oktaUser({ [EXT]: { costCenter: "CC-7" } }));
      expect(user.status).toBe(201);
      const userPage = await get(session, `/admin/tenants/${t.slug}/users/${user.body.id}`);
      expect(userPage.status).toBe(200);
      expect(userPage.text).toMatch(/<dt>Role<\/dt><dd>member/);
      expect(userPage.text).toMatch(/costCenter <span class="muted small">custom<\/span><\/dt><dd>CC-7<\/dd>/);

      const unconfirmed = await post(session, `/admin/tenants/${t.slug}/attributes/remove`, [["remove", "costCenter"]]);
      expect(unconfirmed.status).toBe(400);
      expect((await admin("GET", `/tenants/${t.slug}/attributes`)).body.attributes).toHaveLength(1);
      const removed = await post(session, `/admin/tenants/${t.slug}/attributes/remove`, [["remove", "costCenter"], ["erase", "1"]]);
      expect(removed.status).toBe(303);
      expect((await get(session, removed.headers.get("Location")!)).text).toContain("Removed costCenter. Values erased from 1 user.");
      expect((await t.scim("GET", `/Users/${user.body.id}`)).body[EXT]).toBeUndefined();
    });
  });
}

describe("another tenant's pages", () => {
  it("an IT admin cannot reach another tenant's roles or attributes", async () => {
    const mine = await scimTenant();
    const theirs = await scimTenant();
    const session = await itAdmin(mine.slug);
    expect((await get(session, `/admin/tenants/${theirs.slug}/roles`)).status).toBe(403);
    expect((await get(session, `/admin/tenants/${theirs.slug}/attributes`)).status).toBe(403);
    expect((await post(session, `/admin/tenants/${theirs.slug}/attributes`, [["name", "x"], ["type", "string"]])).status).toBe(403);
    expect((await admin("GET", `/tenants/${theirs.slug}/attributes`)).body.attributes).toEqual([]);
  });
});

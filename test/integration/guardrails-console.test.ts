// Guardrails in the console (design.md §4g), for the operator and the customer's IT admin: the
// held-deactivations banner with its list and Release (audited), the hold's settings, the
// connection's health in the tenant list and on the provisioning page, provider-specific steps,
// the first-request poll, and webhooks that get held events only once released.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { csrfOf, post, send, signIn } from "../support/console-session";
import { admin, oktaUser, randomIp, scimTenant, type ScimTenant } from "../support/harness";
import { addWebhook, Receivers, WAIT } from "../support/webhooks";
import { vi } from "vitest";

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const deactivate = { schemas: [PATCH_OP], Operations: [{ op: "replace", value: { active: false } }] };

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => receivers.restore());

async function itAdmin(slug: string) {
  const link = await admin("POST", `/tenants/${slug}/setup-links`, {});
  const ip = randomIp();
  const redeemed = await send("GET", new URL(link.body.url).pathname, { ip });
  expect(redeemed.status).toBe(303);
  const cookie = redeemed.headers.get("Set-Cookie")!.split(";")[0]!;
  const page = await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie, ip });
  return { cookie, ip, csrf: csrfOf(page.text) };
}

/** A tenant whose guard has tripped: 6 users, limit 2, 5 deactivated (3 held). */
async function trippedTenant(): Promise<{ tenant: ScimTenant; ids: string[]; names: string[] }> {
  const tenant = await scimTenant();
  const ids: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await tenant.scim("POST", "/Users", oktaUser());
    ids.push(res.body.id);
    names.push(res.body.userName);
  }
  expect((await admin("PUT", `/tenants/${tenant.slug}/guard`, { threshold: 2, percent: 1, windowMinutes: 10 })).status).toBe(200);
  for (const id of ids.slice(0, 5)) expect((await tenant.scim("PATCH", `/Users/${id}`, deactivate)).status).toBe(200);
  return { tenant, ids, names };
}

describe("guardrails in the console", () => {
  it("shows the held banner with the list to the IT admin, whose Release is audited and only then reaches the webhook", async () => {
    const { tenant, ids, names } = await trippedTenant();
    const hook = receivers.add();
    await addWebhook(tenant.slug, hook, ["user.deactivated"]);
    const it = await itAdmin(tenant.slug);
    const page = await send("GET", `/admin/tenants/${tenant.slug}/provisioning`, { cookie: it.cookie, ip: it.ip });
    expect(page.text).toContain('id="held-banner"');
    expect(page.text).toMatch(/Held: 3 deactivations from Okta in (under a minute|\d+ minutes?)/);
    for (const name of names.slice(2, 5)) expect(page.text).toContain(name);
    for (const name of names.slice(0, 2)) expect(page.text).not.toContain(`>${name}<`);
    expect(page.text).toContain("Release 3 held deactivations");
    // The Users page carries the headline too, linking to the list.
    const usersPage = await send("GET", `/admin/tenants/${tenant.slug}/users`, { cookie: it.cookie, ip: it.ip });
    expect(usersPage.text).toContain('id="held-headline"');
    expect(usersPage.text).toMatch(/<strong>Held: 3 deactivations from Okta in /);

    // Nothing of the held three was delivered.
    await new Promise((r) => setTimeout(r, 300));
    expect(receivers.at(hook)).toHaveLength(0); // the hook came after the first two

    const released = await send("POST", `/admin/tenants/${tenant.slug}/provisioning/held/release`, { cookie: it.cookie, ip: it.ip, form: { _csrf: it.csrf } });
    expect(released.status).toBe(303);
    expect(released.headers.get("Location")).toBe(`/admin/tenants/${tenant.slug}/provisioning?done=released`);
    const after = await send("GET", released.headers.get("Location")!, { cookie: it.cookie, ip: it.ip });
    expect(after.text).not.toContain('id="held-banner"');
    expect(after.text).toContain("Released:");
    expect((await send("GET", `/admin/tenants/${tenant.slug}/users`, { cookie: it.cookie, ip: it.ip })).text).not.toContain('id="held-headline"');
    await vi.waitFor(() => expect(receivers.at(hook)).toHaveLength(3), WAIT);
    expect(receivers.at(hook).map((r) => r.json.data.user.id).sort()).toEqual(ids.slice(2, 5).sort());
    const audit = (await admin("GET", "/audit?limit=100")).body.events;
    const entry = audit.find((e: any) => e.action === "guard.release" && e.actor?.type === "setup-link");
    expect(entry).toBeDefined();
  });

  it("lets the operator set the hold from the console, refusing bad values without saving", async () => {
    const tenant = await scimTenant();
    const session = await signIn();
    const page = `/admin/tenants/${tenant.slug}/provisioning`;
    const shown = await send("GET", page, { cookie: session.cookie });
    expect(shown.text).toContain('id="deactivation-hold"');
    expect(shown.text).toContain('name="threshold" type="number" min="1" value="50"');
    const bad = await post(session, `${page}/guard`, { enabled: "1", threshold: "0", percent: "10", windowMinutes: "10" });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("Nothing was saved");
    expect((await admin("GET", `/tenants/${tenant.slug}/guard`)).body.threshold).toBe(50);
    const saved = await post(session, `${page}/guard`, { threshold: "200", percent: "5", windowMinutes: "30" }); // unticked: off
    expect(saved.status).toBe(303);
    expect((await admin("GET", `/tenants/${tenant.slug}/guard`)).body).toMatchObject({ enabled: false, threshold: 200, percent: 5, windowMinutes: 30 });
    const log = (await admin("GET", `/tenants/${tenant.slug}/events?action=guard.update`)).body.events;
    expect(log[0].actor.type).toBe("console");
  });

  it("shows health in the tenant list and on the page, and the first request live through the poll endpoint", async () => {
    const tenant = await scimTenant({ provider: "onelogin" });
    const session = await signIn();
    const page = `/admin/tenants/${tenant.slug}/provisioning`;
    const waiting = await send("GET", page, { cookie: session.cookie });
    expect(waiting.text).toContain("Connect OneLogin");
    expect(waiting.text).toContain("SCIM Bearer Token");
    expect(waiting.text).toContain(`data-first-request-poll="${page}/health.json"`);
    expect(waiting.text).toContain("Waiting for the first request from OneLogin");
    expect(JSON.parse((await send("GET", `${page}/health.json`, { cookie: session.cookie })).text)).toEqual({ state: "never_connected", firstRequest: null });

    expect((await tenant.scim("GET", "/Users?filter=userName%20eq%20%22a%40b.c%22")).status).toBe(200);
    let poll: any;
    await vi.waitFor(async () => {
      poll = JSON.parse((await send("GET", `${page}/health.json`, { cookie: session.cookie })).text);
      expect(poll.firstRequest).not.toBeNull();
    }, WAIT);
    expect(poll.state).toBe("healthy");
    expect(poll.firstRequest.text).toMatch(/^Received GET \/Users from OneLogin at \d\d:\d\d:\d\d UTC$/);
    const received = await send("GET", page, { cookie: session.cookie });
    expect(received.text).toContain(poll.firstRequest.text);
    expect(received.text).not.toContain("data-first-request-poll");
    expect(received.text).toMatch(/Connection health <span class="badge success" data-health="healthy">Healthy/);

    // A rotated-away token still presented shows in the tenant list.
    await admin("POST", `/tenants/${tenant.slug}/scim/token`);
    expect((await tenant.scim("GET", "/Users")).status).toBe(401);
    await vi.waitFor(async () => {
      const list = await send("GET", "/admin/tenants", { cookie: session.cookie });
      expect(list.text).toContain(`OneLogin still uses token ${tenant.token.slice(0, 12)}…`);
    }, WAIT);
  });

  it("while SCIM is off shows every provider's steps, Okta's first, for the form's choice", async () => {
    const session = await signIn();
    const slug = `off-${crypto.randomUUID().slice(0, 8)}`;
    await admin("POST", "/tenants", { slug });
    const page = await send("GET", `/admin/tenants/${slug}/provisioning`, { cookie: session.cookie });
    expect(page.text).toContain('<div data-steps-for="okta">');
    for (const p of ["entra", "onelogin", "jumpcloud", "google", "generic"]) expect(page.text).toContain(`<div data-steps-for="${p}" hidden="">`);
    expect(page.text).not.toContain("data-first-request-poll");
  });
});

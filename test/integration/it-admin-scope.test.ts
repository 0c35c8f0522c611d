// What a customer IT admin's setup-link session may do (src/console/scope.ts), through HTTP with a
// real redeemed link: the panel's list is what the code enforces. TheStorage's own webhooks are the
// operator's; regenerating warns what it breaks and needs an explicit "I understand".
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IT_ADMIN_CAN, IT_ADMIN_CANNOT } from "../../src/console/scope";
import { csrfOf, itAdminSession, send, signIn } from "../support/console-session";
import { admin, randomIp, request, scimTenant } from "../support/harness";
import { addWebhook, Receivers } from "../support/webhooks";

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => receivers.restore());

const itAdmin = itAdminSession;

const html = (text: string) => text.replace(/&/g, "&amp;").replace(/'/g, "&#39;").replace(/"/g, "&quot;");

describe("customer IT admin (setup-link session)", () => {
  it("is told exactly what it may do, and the operator is told the same before sending the link", async () => {
    const t = await scimTenant();
    const it = await itAdmin(t.slug);
    for (const line of [...IT_ADMIN_CAN]) expect(it.page).toContain(html(line.slice(1)));
    expect(it.page).toContain(html(`Only your TheStorage administrator can ${IT_ADMIN_CANNOT.join("; ")}.`));
    const operator = await signIn();
    const panel = await send("GET", `/admin/tenants/${t.slug}/provisioning`, { cookie: operator.cookie });
    expect(panel.text).toContain(html(`They can ${IT_ADMIN_CAN.join("; ")}. They cannot ${IT_ADMIN_CANNOT.join("; ")}.`));
  });

  it("cannot open, test, resend to, rotate or remove a webhook the operator added (403, nothing changes), but manages its own", async () => {
    const t = await scimTenant();
    const operatorUrl = receivers.add();
    const operatorHook = await addWebhook(t.slug, operatorUrl);
    const it = await itAdmin(t.slug);
    const base = `/admin/tenants/${t.slug}/webhooks`;

    const list = await send("GET", base, { cookie: it.cookie, ip: it.ip });
    expect(list.status).toBe(200);
    expect(list.text).toContain(operatorUrl);
    expect(list.text).toContain("Managed by TheStorage");
    expect(list.text).not.toContain(`${base}/${operatorHook.id}`);

    const hook = `${base}/${operatorHook.id}`;
    for (const path of [hook, `${hook}/rotate`, `${hook}/remove`]) {
      const res = await send("GET", path, { cookie: it.cookie, ip: it.ip });
      expect(res.status, path).toBe(403);
      expect(res.text).toContain("Only your TheStorage administrator can change it");
    }
    for (const [action, form] of [["rotate", {}], ["remove", {}], ["test", {}], ["resend", { eventId: "evt_00000000000000000000000000000000" }]] as const) {
      const res = await send("POST", `${hook}/${action}`, { cookie: it.cookie, ip: it.ip, form: { _csrf: it.csrf, ...form } });
      expect(res.status, action).toBe(403);
      expect(res.text).not.toMatch(/whsec_/);
    }
    const still = await admin("GET", `/tenants/${t.slug}/webhooks`);
    expect(still.body.webhooks).toEqual([expect.objectContaining({ id: operatorHook.id, url: operatorUrl, secretRotatedAt: null })]);
    expect(receivers.at(operatorUrl)).toEqual([]); // no test event went out either

    // Its own webhook: added, rotated and removed from the same session.
    const ownUrl = receivers.add();
    const added = await send("POST", base, { cookie: it.cookie, ip: it.ip, form: { _csrf: it.csrf, url: ownUrl } });
    expect(added.status).toBe(201);
    const ownId = (await admin("GET", `/tenants/${t.slug}/webhooks`)).body.webhooks.find((w: { url: string }) => w.url === ownUrl).id as string;
    expect((await send("GET", `${base}/${ownId}`, { cookie: it.cookie, ip: it.ip })).status).toBe(200);
    const rotated = await send("POST", `${base}/${ownId}/rotate`, { cookie: it.cookie, ip: it.ip, form: { _csrf: it.csrf } });
    expect(rotated.status).toBe(200);
    expect(rotated.text).toMatch(/whsec_/);
    const removed = await send("POST", `${base}/${ownId}/remove`, { cookie: it.cookie, ip: it.ip, form: { _csrf: it.csrf } });
    expect(removed.status).toBe(303);

    // The operator manages both kinds.
    const operator = await signIn();
    const operatorList = await send("GET", base, { cookie: operator.cookie });
    expect(operatorList.text).toContain(`${base}/${operatorHook.id}`);
    expect((await send("POST", `${hook}/remove`, { cookie: operator.cookie, form: { _csrf: operator.csrf } })).status).toBe(303);
  });

  it("is warned what regenerating breaks and must confirm it; without the confirmation nothing changes", async () => {
    const t = await scimTenant();
    expect((await t.scim("GET", "/Users?count=1")).status).toBe(200); // the operator's IdP is using the token
    const it = await itAdmin(t.slug);
    const prefix = t.token.slice(0, 12);
    expect(it.page).toContain("SCIM is already on for this organisation");
    expect(it.page).toContain(`The current token (${prefix}…`);
    expect(it.page).toContain("If your TheStorage administrator set up this connection, it breaks for them too");
    expect(it.page).toContain('name="understood"');

    const confirmPage = await send("GET", `/admin/tenants/${t.slug}/provisioning/regenerate`, { cookie: it.cookie, ip: it.ip });
    expect(confirmPage.text).toContain("Okta provisioning, which is using it, fails with 401");
    expect(confirmPage.text).toContain('name="understood"');

    const refused = await send("POST", `/admin/tenants/${t.slug}/provisioning/regenerate`, { cookie: it.cookie, ip: it.ip, form: { _csrf: it.csrf } });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("Nothing was changed");
    expect(refused.text).not.toMatch(/tsscim_[A-Za-z0-9_-]{43}/);
    expect((await t.scim("GET", "/Users?count=1")).status).toBe(200);

    const done = await send("POST", `/admin/tenants/${t.slug}/provisioning/regenerate`, { cookie: it.cookie, ip: it.ip, form: { _csrf: it.csrf, understood: "1" } });
    expect(done.status).toBe(200);
    const fresh = /tsscim_[A-Za-z0-9_-]{43}/.exec(done.text)![0];
    expect((await t.scim("GET", "/Users?count=1")).status).toBe(401);
    expect((await request("GET", `${t.base}/Users?count=1`, { headers: { Authorization: `Bearer ${fresh}` } })).status).toBe(200);
  });

  it("the operator sees the same warning in the confirmation (no extra box: the token is theirs)", async () => {
    const t = await scimTenant({ provider: "entra" });
    const operator = await signIn();
    const page = await send("GET", `/admin/tenants/${t.slug}/provisioning`, { cookie: operator.cookie });
    expect(page.text).toContain("Entra ID provisioning fails with 401 until someone pastes the new token into Entra ID");
    expect(page.text).not.toContain('name="understood"');
    // Steps for the tenant's own provider, not Okta's.
    expect(page.text).toContain("Connect Entra ID");
    expect(page.text).toContain("Tenant URL");
    expect(page.text).not.toContain("Connect Okta");
  });
});

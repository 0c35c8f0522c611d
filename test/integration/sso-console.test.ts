// Settings › Single sign-on in the console (design.md §4e): the operator and the tenant's IT admin
// (setup-link session) connect the IdP, copy the values to paste, and run Test sign-in, which shows
// the claims and the matched user and issues no ticket. The Users page marks who signed in through SSO.
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { csrfOf, itAdminSession as itAdmin, send, signIn } from "../support/console-session";
import { admin, oktaUser, scimTenant } from "../support/harness";
import { StandInIdp } from "../support/idp";

const ORIGIN = "https://scim.test";
const idps: StandInIdp[] = [];
afterAll(() => idps.forEach((idp) => idp.dispose()));

async function newIdp() {
  const idp = await StandInIdp.create();
  idps.push(idp);
  return idp;
}

describe("Settings › Single sign-on", () => {
  it("the operator connects the IdP (a clear error first), copies the values to paste, and Test sign-in shows the claims and the matched user without a ticket", async () => {
    const idp = await newIdp();
    const t = await scimTenant();
    const user = await t.scim("POST", "/Users", oktaUser({ externalId: "00uTEST1" }));
    const operator = await signIn();
    const base = `/admin/tenants/${t.slug}/sso`;

    const empty = await send("GET", base, { cookie: operator.cookie });
    expect(empty.status).toBe(200);
    expect(empty.text).toContain("Settings › Single sign-on");
    expect(empty.text).toContain(`<code id="sso-redirect-uri">${ORIGIN}/api/${t.slug}/sso/oidc/callback</code>`);
    expect(empty.text).toContain(`<code id="sso-initiate-uri">${ORIGIN}/api/${t.slug}/sso/oidc/initiate</code>`);
    expect(empty.text).toContain('data-copy="sso-redirect-uri"');
    expect(empty.text).toContain('data-copy="sso-initiate-uri"');
    expect(empty.text).not.toContain("Test sign-in</a>");

    const bad = await send("POST", base, { cookie: operator.cookie, form: { _csrf: csrfOf(empty.text), issuer: `${idp.origin}/wrong`, clientId: idp.clientId, clientSecret: idp.clientSecret } });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("discovery document");
    expect((await admin("GET", `/tenants/${t.slug}/sso`)).status).toBe(404);

    const saved = await send("POST", base, { cookie: operator.cookie, form: { _csrf: csrfOf(empty.text), issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret } });
    expect(saved.status, saved.text).toBe(200);
    expect(saved.text).toContain(`On, through ${idp.issuer}`);
    expect(saved.text).toContain(`href="${base}/test" target="_blank"`);
    expect(saved.text).not.toContain(idp.clientSecret);

    const test = await send("GET", `${base}/test`, { cookie: operator.cookie });
    expect(test.status).toBe(302);
    const attempt = test.headers.get("Set-Cookie")!.split(";")[0]!;
    const back = new URL(idp.authorize(test.headers.get("location")!, { sub: "00uTEST1", email: "tester@example.com" }));
    const callback = await send("GET", back.pathname + back.search, { cookie: attempt });
    expect(callback.status, callback.text).toBe(200);
    expect(callback.text).toContain("Test sign-in");
    expect(callback.text).toContain("A real sign-in would succeed");
    expect(callback.text).toContain(user.body.userName);
    expect(callback.text).toContain("00uTEST1");
    expect(callback.text).toContain("No ticket was issued");
    const tickets = await env.TENANT_DEFAULT.prepare("SELECT COUNT(*) AS n FROM sso_tickets WHERE user_id = ?").bind(user.body.id).first<{ n: number }>();
    expect(tickets!.n).toBe(0);
    const log = await admin("GET", `/tenants/${t.slug}/events?limit=10`);
    expect(log.body.events.find((e: any) => e.action === "sso.test_sign_in").detail).toMatch(/matched .* no ticket issued/);

    const off = await send("POST", `${base}/disable`, { cookie: operator.cookie, form: { _csrf: csrfOf(saved.text) } });
    expect(off.status).toBe(303);
    expect((await admin("GET", `/tenants/${t.slug}/sso`)).status).toBe(404);
  });

  it("Test sign-in without a connection says sign-in through the IdP is off", async () => {
    const t = await scimTenant();
    const operator = await signIn();
    const r = await send("GET", `/admin/tenants/${t.slug}/sso/test`, { cookie: operator.cookie });
    expect(r.status).toBe(403);
    expect(r.text).toContain("identity provider is off");
    expect(r.headers.get("location")).toBeNull();
  });

  it("Test sign-in says why when nobody matches", async () => {
    const idp = await newIdp();
    const t = await scimTenant();
    expect((await admin("PUT", `/tenants/${t.slug}/sso`, idp.connection())).status).toBe(200);
    const operator = await signIn();
    const test = await send("GET", `/admin/tenants/${t.slug}/sso/test`, { cookie: operator.cookie });
    const back = new URL(idp.authorize(test.headers.get("location")!, { sub: "nobody", email: "nobody@example.com" }));
    const result = await send("GET", back.pathname + back.search, { cookie: test.headers.get("Set-Cookie")!.split(";")[0]! });
    expect(result.status).toBe(200);
    expect(result.text).toContain("No user of this tenant");
    expect(result.text).toContain("nobody@example.com");
  });

  it("the tenant's IT admin (setup link) reaches its own Single sign-on page and nobody else's", async () => {
    const idp = await newIdp();
    const t = await scimTenant();
    const other = await scimTenant();
    const it = await itAdmin(t.slug);
    const page = await send("GET", `/admin/tenants/${t.slug}/sso`, { cookie: it.cookie, ip: it.ip });
    expect(page.status).toBe(200);
    const saved = await send("POST", `/admin/tenants/${t.slug}/sso`, { cookie: it.cookie, ip: it.ip, form: { _csrf: csrfOf(page.text), issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret } });
    expect(saved.status, saved.text).toBe(200);
    expect((await admin("GET", `/tenants/${t.slug}/sso`)).body.issuer).toBe(idp.issuer);
    const audit = await admin("GET", `/tenants/${t.slug}/events?limit=10`);
    expect(audit.body.events.find((e: any) => e.action === "sso.configure").actor.type).toBe("setup-link");
    expect([403, 404]).toContain((await send("GET", `/admin/tenants/${other.slug}/sso`, { cookie: it.cookie, ip: it.ip })).status);
  });

  it("the Users page marks users who signed in through the IdP, and the user page shows when", async () => {
    const idp = await newIdp();
    const t = await scimTenant();
    expect((await admin("PUT", `/tenants/${t.slug}/sso`, idp.connection())).status).toBe(200);
    const signedIn = await t.scim("POST", "/Users", oktaUser({ externalId: "00uMARK" }));
    const never = await t.scim("POST", "/Users", oktaUser());
    const start = await send("GET", `/api/${t.slug}/sso/start?return_to=${encodeURIComponent("https://app.thestorage.test/cb")}`);
    const back = new URL(idp.authorize(start.headers.get("location")!, { sub: "00uMARK" }));
    expect((await send("GET", back.pathname + back.search, { cookie: start.headers.get("Set-Cookie")!.split(";")[0]! })).status).toBe(303);

    const operator = await signIn();
    const list = await send("GET", `/admin/tenants/${t.slug}/users`, { cookie: operator.cookie });
    const rowOf = (id: string) => list.text.slice(list.text.indexOf(`/users/${id}`), list.text.indexOf("</tr>", list.text.indexOf(`/users/${id}`)));
    expect(rowOf(signedIn.body.id)).toContain('class="badge sso"');
    expect(rowOf(never.body.id)).not.toContain('class="badge sso"');
    const detail = await send("GET", `/admin/tenants/${t.slug}/users/${signedIn.body.id}`, { cookie: operator.cookie });
    expect(detail.text).toContain("Last sign-in through the IdP");
  });
});

// Settings › Webhooks in the admin console over HTTP: add (secret shown once), validation, deliveries, test, resend, rotate, remove.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { send, signIn } from "../support/console-session";
import { admin, oktaUser } from "../support/harness";
import { quietTenant, Receivers, WAIT } from "../support/webhooks";

const secretsIn = (html: string) => html.match(/whsec_[A-Za-z0-9+/=]{44}/g) ?? [];

let receivers: Receivers;
beforeEach(() => {
  receivers = new Receivers();
});
afterEach(() => receivers.restore());

describe("console: Settings › Webhooks", () => {
  it("adds an endpoint with chosen event types, shows its secret once, then lists deliveries of SCIM writes and console writes", async () => {
    const t = await quietTenant();
    const { cookie, csrf } = await signIn();
    const base = `/admin/tenants/${t.slug}/webhooks`;

    const empty = await send("GET", base, { cookie });
    expect(empty.status).toBe(200);
    expect(empty.text).toContain("No webhooks yet");
    expect(empty.text).toContain('aria-current="page">Settings › Webhooks');

    const url = receivers.add();
    const added = await send("POST", base, { cookie, form: [["_csrf", csrf], ["url", url], ["events", "user.created"], ["events", "user.updated"]] });
    expect(added.status).toBe(201);
    const secrets = secretsIn(added.text);
    expect(secrets).toHaveLength(1);
    expect(added.text).toContain("This secret is shown once");
    const list = await send("GET", base, { cookie });
    expect(secretsIn(list.text)).toEqual([]);
    expect(list.text).toContain(url);
    expect(list.text).toContain("user.created, user.updated");
    const hookId = /webhooks\/(wh_[0-9a-f]+)/.exec(list.text)![1]!;

    const user = await t.scim("POST", "/Users", oktaUser({ userName: "linus@example.com" }));
    expect(user.status).toBe(201);
    // An avatar set in the console is a user.updated change: the console's writes are dispatched too.
    const avatar = await send("POST", `/admin/tenants/${t.slug}/users/${user.body.id}/avatar`, { cookie, form: [["_csrf", csrf], ["avatarUrl", "https://cdn.example.com/linus.png"]] });
    expect(avatar.status).toBe(303);
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.json.type)).toEqual(["user.created", "user.updated"]), WAIT);

    await vi.waitFor(async () => {
      const detail = await send("GET", `${base}/${hookId}`, { cookie });
      expect(detail.status).toBe(200);
      expect(detail.text.match(/✓ Delivered/g)).toHaveLength(2);
      expect(detail.text).toContain("user.created");
    }, WAIT);
  });

  it("keeps the form and says why when the URL or the event types are refused", async () => {
    const t = await quietTenant();
    const { cookie, csrf } = await signIn();
    const refused = await send("POST", `/admin/tenants/${t.slug}/webhooks`, { cookie, form: [["_csrf", csrf], ["url", "https://192.168.1.5/hook"], ["events", "user.deleted"]] });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("private address");
    expect(refused.text).toContain('value="https://192.168.1.5/hook"');
    expect(refused.text).toMatch(/value="user.deleted" checked/);
    expect(secretsIn(refused.text)).toEqual([]);
    const unknown = await send("POST", `/admin/tenants/${t.slug}/webhooks`, { cookie, form: [["_csrf", csrf], ["url", "https://app.example.com/h"], ["events", "user.exploded"]] });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain("Valid types:");
    const noCsrf = await send("POST", `/admin/tenants/${t.slug}/webhooks`, { cookie, form: [["url", "https://app.example.com/h"]] });
    expect(noCsrf.status).toBe(403);
    expect((await send("GET", `/admin/tenants/${t.slug}/webhooks`, { cookie })).text).toContain("No webhooks yet");
  });

  it("sends a test event, resends a change event, rotates the secret (shown once) and removes the webhook", async () => {
    const t = await quietTenant();
    const { cookie, csrf } = await signIn();
    const base = `/admin/tenants/${t.slug}/webhooks`;
    const url = receivers.add([500, 200]);
    await send("POST", base, { cookie, form: [["_csrf", csrf], ["url", url]] });
    const hookId = /webhooks\/(wh_[0-9a-f]+)/.exec((await send("GET", base, { cookie })).text)![1]!;

    const tested = await send("POST", `${base}/${hookId}/test`, { cookie, form: [["_csrf", csrf]] });
    expect(tested.status).toBe(303);
    expect(tested.headers.get("Location")).toBe(`${base}/${hookId}?done=tested`);
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.json.type)).toEqual(["webhook.test", "webhook.test"]), WAIT);

    // A change event can be sent again by hand, with the same webhook-id.
    await t.scim("POST", "/Users", oktaUser());
    await vi.waitFor(() => expect(receivers.at(url)).toHaveLength(3), WAIT);
    const eventId = receivers.at(url)[2]!.headers["webhook-id"]!;
    const resent = await send("POST", `${base}/${hookId}/resend`, { cookie, form: [["_csrf", csrf], ["eventId", eventId]] });
    expect(resent.status).toBe(303);
    await vi.waitFor(() => expect(receivers.at(url).map((r) => r.headers["webhook-id"]).filter((id) => id === eventId)).toHaveLength(2), WAIT);
    const detail = await send("GET", `${base}/${hookId}?done=resent`, { cookie });
    expect(detail.text).toContain("↻ Failed");
    expect(detail.text).toContain("HTTP 500");

    const confirm = await send("GET", `${base}/${hookId}/rotate`, { cookie });
    expect(confirm.text).toContain("Rotate the signing secret?");
    const rotated = await send("POST", `${base}/${hookId}/rotate`, { cookie, form: [["_csrf", csrf]] });
    expect(rotated.status).toBe(200);
    expect(secretsIn(rotated.text)).toHaveLength(1);
    expect(secretsIn((await send("GET", `${base}/${hookId}`, { cookie })).text)).toEqual([]);

    const removed = await send("POST", `${base}/${hookId}/remove`, { cookie, form: [["_csrf", csrf]] });
    expect(removed.status).toBe(303);
    const after = await send("GET", `${base}?done=removed`, { cookie });
    expect(after.text).toContain("Webhook removed");
    expect(after.text).not.toContain(url);
    expect((await send("GET", `${base}/${hookId}`, { cookie })).status).toBe(404);
  });

  it("lets a customer IT admin's setup-link session manage its own tenant's webhooks (audited as the link), and no other tenant's", async () => {
    const t = await quietTenant();
    const other = await quietTenant();
    const link = await admin("POST", `/tenants/${t.slug}/setup-links`, {});
    expect(link.status).toBe(201);
    const redeemed = await send("GET", new URL(link.body.url).pathname);
    const cookie = redeemed.headers.get("Set-Cookie")!.split(";")[0]!;
    const page = await send("GET", `/admin/tenants/${t.slug}/webhooks`, { cookie });
    expect(page.status).toBe(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const added = await send("POST", `/admin/tenants/${t.slug}/webhooks`, { cookie, form: [["_csrf", csrf], ["url", "https://it.example.com/scim-events"]] });
    expect(added.status).toBe(201);
    expect(secretsIn(added.text)).toHaveLength(1);
    const audit = await env.CONTROL_DB.prepare("SELECT actor FROM audit_events WHERE tenant_slug = ? AND action = 'webhook.create'").bind(t.slug).first<{ actor: string }>();
    expect(JSON.parse(audit!.actor)).toMatchObject({ type: "setup-link" });
    expect((await send("GET", `/admin/tenants/${other.slug}/webhooks`, { cookie })).status).toBe(403);
    expect((await send("POST", `/admin/tenants/${other.slug}/webhooks`, { cookie, form: [["_csrf", csrf], ["url", "https://it.example.com/x"]] })).status).toBe(403);
    expect((await admin("GET", `/tenants/${other.slug}/webhooks`)).body.webhooks).toEqual([]);
  });
});

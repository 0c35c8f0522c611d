/// <reference types="node" />
// Guardrails in Chromium against a real `wrangler dev` (design.md §4g): while the IdP is being set
// up, the provisioning page shows the first request received without reloading; a deactivation wave
// beyond the hold's limit shows the banner with the held list, and Release empties it into the feed.
// The CLI regenerates a token with an overlap.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { screenshot, startE2e, type E2e } from "./harness";

const SLUG = "guard-e2e";
const ADMIN = join(import.meta.dirname, "..", "..", "scripts", "admin.mjs");
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

let e2e: E2e | undefined;
let token = "";

async function adminApi(method: string, path: string, body?: unknown) {
  const response = await e2e!.adminApi(method, path, body);
  return { status: response.status, json: (await response.json().catch(() => null)) as any };
}

function scim(method: string, path: string, body?: unknown) {
  return fetch(`${e2e!.origin}/api/${SLUG}/scim/v2${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

beforeAll(async () => {
  e2e = await startE2e({ persistPrefix: "thestorage-e2e-guard-" });
}, 180_000);

afterAll(() => e2e?.stop());

describe("guardrails in Chromium", () => {
  it("shows the first request received, live, without reloading the page", async () => {
    expect((await adminApi("POST", "/tenants", { slug: SLUG, name: "Guard Corp" })).status).toBe(201);
    const enabled = await adminApi("POST", `/tenants/${SLUG}/scim`, { provider: "okta" });
    expect(enabled.status).toBe(201);
    token = enabled.json.token;
    const page = e2e!.page;
    await e2e!.signIn();
    await page.goto(`${e2e!.origin}/admin/tenants/${SLUG}/provisioning`);
    expect(await page.textContent("#first-request")).toContain("Waiting for the first request from Okta");
    await page.evaluate(() => ((globalThis as { notReloaded?: boolean }).notReloaded = true)); // gone if the page reloads

    expect((await scim("GET", "/Users?startIndex=1&count=1")).status).toBe(200);
    await page.locator("#first-request", { hasText: /^Received GET \/Users from Okta at \d\d:\d\d:\d\d UTC$/ }).waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await screenshot(page, "guardrails-first-request");
    expect(e2e!.pageProblems).toEqual([]);
  });

  it("shows held deactivations in a banner with the list, and Release empties it into the change feed", async () => {
    const ids: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await scim("POST", "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: `wave${i}@guard.example`, active: true });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { id: string }).id);
      names.push(`wave${i}@guard.example`);
    }
    expect((await adminApi("PUT", `/tenants/${SLUG}/guard`, { threshold: 2, percent: 1, windowMinutes: 10 })).status).toBe(200);
    for (const id of ids.slice(0, 5)) expect((await scim("PATCH", `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", value: { active: false } }] })).status).toBe(200);

    const page = e2e!.page;
    await page.goto(`${e2e!.origin}/admin/tenants/${SLUG}/provisioning`);
    const banner = page.locator("#held-banner");
    expect(await banner.isVisible()).toBe(true);
    expect(await banner.locator("h2").textContent()).toMatch(/^Held: 3 deactivations from Okta in /);
    for (const name of names.slice(2, 5)) expect(await banner.textContent()).toContain(name);
    await screenshot(page, "guardrails-held-banner");
    // Nothing overflows on a phone: the banner, its list, the health and hold panels.
    const narrow = await e2e!.context.newPage();
    await narrow.setViewportSize({ width: 390, height: 900 });
    await narrow.goto(`${e2e!.origin}/admin/tenants/${SLUG}/provisioning`);
    const overflow = await narrow.evaluate(() => {
      const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    await screenshot(narrow, "guardrails-held-banner-390");
    await narrow.close();
    expect(overflow).toBeLessThanOrEqual(0);

    await page.click("#release-held");
    await page.waitForURL(/done=released/);
    expect(await page.locator("#held-banner").count()).toBe(0);
    expect(await page.textContent("body")).toContain("Released:");
    const feed = await adminApi("GET", `/tenants/${SLUG}/changes?limit=500&types=user.deactivated`);
    expect(feed.json.data.map((e: any) => e.data.user.id)).toEqual(ids.slice(0, 5));
    expect(e2e!.pageProblems).toEqual([]);
  });

  it("the CLI sets the hold, lists what is held, and regenerates with an overlap saying until when the old token works", async () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, [ADMIN, ...args], { encoding: "utf8", env: { ...process.env, SCIM_ADMIN_URL: e2e!.origin, ADMIN_TOKEN: e2e!.adminToken } });
    const guard = cli("guard", SLUG, "--threshold", "100", "--window", "5");
    expect(guard.status, guard.stderr).toBe(0);
    expect(guard.stdout).toContain("Deactivation hold on: trips above the larger of 100 users and 1% of 1 active users within 5 minutes.");
    expect(cli("held", SLUG).stdout.trim()).toBe("Nothing held.");
    const ran = cli("scim", "regenerate", SLUG, "--keep-previous", "1h");
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/The previous token keeps working until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    expect((await scim("GET", "/Users")).status).toBe(200); // the old token, still
  });
});

/// <reference types="node" />
// The console's layout at a phone's 390 px and a desktop's 1440 px, as outside testers walked it
// (issue 17): nothing cut off or overflowing, emails not broken mid-word, the Settings tabs all
// reachable; and the shown-once token dialog, which Esc must not close, and avatars that fail to load.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { freePort, screenshot, startE2e, type E2e } from "./harness";

const SLUG = "layout-e2e";
const LONG_EMAIL = "maximilian.alexander-hamilton@engineering.example.com";

let e2e: E2e | undefined;
let origin = "";
let page: Page;
let hookId = "";

beforeAll(async () => {
  e2e = await startE2e({
    persistPrefix: "thestorage-e2e-layout-",
    vars: { WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString("base64"), WEBHOOK_ALLOW_LOOPBACK: "true", WEBHOOK_RETRY_BASE_SECONDS: "3600" },
  });
  ({ origin, page } = e2e);
  expect((await e2e.adminApi("POST", "/tenants", { slug: SLUG, name: "Layout Industries International" })).status).toBe(201);
  const enabled = await e2e.adminApi("POST", `/tenants/${SLUG}/scim`, { provider: "entra" });
  const { token } = (await enabled.json()) as { token: string };
  const scim = (body: unknown) =>
    fetch(`${origin}/api/${SLUG}/scim/v2/Users`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" }, body: JSON.stringify(body) });
  for (const [userName, displayName] of [
    [LONG_EMAIL, "Maximilian Alexander-Hamilton"],
    ["ada@example.com", "Ada Lovelace"],
  ]) {
    const res = await scim({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName, displayName, emails: [{ value: userName, primary: true }], title: "Principal Engineer" });
    expect(res.status).toBe(201);
  }
  // A webhook whose receiver refuses connections: failed deliveries with long errors and Resend buttons.
  const closed = await freePort();
  const hook = await e2e.adminApi("POST", `/tenants/${SLUG}/webhooks`, { url: `http://127.0.0.1:${closed}/a/rather/long/path/to/the/receiver/of/scim/events` });
  hookId = ((await hook.json()) as { id: string }).id;
  const user = await scim({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "grace@example.com", displayName: "Grace Hopper" });
  expect(user.status).toBe(201);
  await vi.waitFor(
    async () => {
      const { deliveries } = (await (await e2e!.adminApi("GET", `/tenants/${SLUG}/webhooks/${hookId}/deliveries`)).json()) as { deliveries: unknown[] };
      expect(deliveries.length).toBeGreaterThan(0);
    },
    { timeout: 30_000, interval: 500 },
  );
  await e2e.signIn();
}, 240_000);

afterAll(() => e2e?.stop());

/** How far the page scrolls sideways (0: it fits). */
function overflow(target: Page): Promise<number> {
  return target.evaluate(() => {
    const root = (globalThis as any).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}

/** Elements matching `selector` whose box reaches past the viewport's right edge or is clipped by a scrolling ancestor. */
function cutOff(target: Page, selector: string): Promise<string[]> {
  return target.evaluate((sel) => {
    const doc = (globalThis as any).document;
    const width = doc.documentElement.clientWidth;
    const out: string[] = [];
    for (const el of doc.querySelectorAll(sel)) {
      const box = el.getBoundingClientRect();
      let clipped = box.right > width + 0.5;
      for (let p = el.parentElement; p && !clipped; p = p.parentElement) {
        const style = (globalThis as any).getComputedStyle(p);
        if (style.overflowX !== "visible") {
          const outer = p.getBoundingClientRect();
          if (box.right > outer.right + 0.5 || box.left < outer.left - 0.5) clipped = true;
        }
      }
      if (clipped) out.push(`${el.textContent.trim()} (right ${Math.round(box.right)} of ${width})`);
    }
    return out;
  }, selector);
}

describe("console layout at 390 and 1440 px", () => {
  for (const width of [390, 1440]) {
    it(`fits at ${width} px: users, a user, the deliveries table, the API reference and the Settings tabs`, async () => {
      const view = await e2e!.context.newPage();
      await view.setViewportSize({ width, height: 900 });
      const pages: Array<[string, string]> = [
        ["users", `/admin/tenants/${SLUG}/users`],
        ["provisioning", `/admin/tenants/${SLUG}/provisioning`],
        ["webhook", `/admin/tenants/${SLUG}/webhooks/${hookId}`],
        ["api", "/admin/api"],
        ["tenants", "/admin/tenants"],
        ["audit", "/admin/audit"],
        ["roles", `/admin/tenants/${SLUG}/roles`],
        ["attributes", `/admin/tenants/${SLUG}/attributes`],
      ];
      for (const [name, path] of pages) {
        await view.goto(`${origin}${path}`);
        await screenshot(view, `layout-${width}-${name}`);
        expect(await overflow(view), `${name} at ${width}`).toBeLessThanOrEqual(0);
      }
      // Every Settings tab is on screen (wrapped, not scrolled out of sight).
      await view.goto(`${origin}/admin/tenants/${SLUG}/users`);
      expect(await cutOff(view, "nav.tabs a")).toEqual([]);
      // The deliveries table shows its Resend buttons whole, without scrolling sideways.
      await view.goto(`${origin}/admin/tenants/${SLUG}/webhooks/${hookId}`);
      expect(await view.locator("text=Resend").count()).toBeGreaterThan(0);
      if (width === 1440) expect(await cutOff(view, ".table-wrap button, .table-wrap td")).toEqual([]);
      if (width === 1440) {
        // An email in the users table is on one line, not broken mid-word.
        await view.goto(`${origin}/admin/tenants/${SLUG}/users`);
        const cell = view.locator("td", { hasText: LONG_EMAIL }).locator("div").first();
        // One line box: the text's client rects all sit on the same line.
        const lines = await cell.evaluate((el) => {
          const range = (globalThis as any).document.createRange();
          range.selectNodeContents(el);
          return new Set([...range.getClientRects()].map((r: { top: number }) => Math.round(r.top))).size;
        });
        expect(lines).toBe(1);
      }
      await view.close();
    });
  }
});

describe("shown-once token dialog and avatars", () => {
  it("does not let Esc throw the token away: it warns and stays until Done", async () => {
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.goto(`${origin}/admin/tenants/${SLUG}/provisioning`);
    await page.click("text=Regenerate token");
    const confirm = page.locator("#confirm-regenerate");
    await expect.poll(() => confirm.isVisible()).toBe(true);
    expect(await confirm.textContent()).toContain("Entra ID provisioning");
    await Promise.all([page.waitForLoadState("load"), confirm.locator("button[type=submit]").click()]);
    const dialog = page.locator("#token-dialog");
    await expect.poll(() => dialog.isVisible()).toBe(true);
    const token = (await page.textContent("#token-value"))!.trim();
    // The console script has made it modal (before that, Esc does nothing to an open dialog either).
    await expect.poll(() => dialog.evaluate((el) => el.matches(":modal"))).toBe(true);
    await page.keyboard.press("Escape");
    await expect.poll(() => page.locator("#token-escape-warning").isVisible()).toBe(true);
    expect(await page.textContent("#token-escape-warning")).toContain("shown only once");
    expect(await dialog.isVisible()).toBe(true);
    await screenshot(page, "layout-token-escape-warning");
    await page.keyboard.press("Escape");
    await page.keyboard.press("Escape");
    await page.waitForTimeout(200);
    expect(await dialog.isVisible()).toBe(true);
    expect(new URL(page.url()).pathname).toBe(`/admin/tenants/${SLUG}/provisioning/regenerate`);
    await Promise.all([page.waitForURL(`${origin}/admin/tenants/${SLUG}/provisioning`), page.click("#token-done")]);
    expect(await page.content()).not.toContain(token);
    expect(e2e!.pageProblems).toEqual([]);
  });

  it("shows initials when an avatar image fails to load, not a broken image", async () => {
    const users = (await (await e2e!.adminApi("GET", `/tenants/${SLUG}/users?q=ada`)).json()) as { users: Array<{ id: string }> };
    // Any host but 127.0.0.1 is aborted in this browser: the image fails to load.
    expect((await e2e!.adminApi("PATCH", `/tenants/${SLUG}/users/${users.users[0]!.id}`, { avatarUrl: "https://img.example/ada.png" })).status).toBe(200);
    for (const path of [`/admin/tenants/${SLUG}/users`, `/admin/tenants/${SLUG}/users/${users.users[0]!.id}`]) {
      await page.goto(`${origin}${path}`);
      await expect.poll(() => page.locator("img.avatar").count()).toBe(0);
      expect(await page.locator(".avatar", { hasText: "AL" }).count()).toBeGreaterThan(0);
    }
    await screenshot(page, "layout-avatar-fallback");
    expect(e2e!.pageProblems.filter((p) => !/img\.example/.test(p))).toEqual([]);
  });
});

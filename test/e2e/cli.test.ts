/// <reference types="node" />
// `npm run admin` against a real `wrangler dev`: lists print tables (--json keeps the API's JSON for
// scripts), help names every command group, an unknown command is reported and exits non-zero.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startE2e, type E2e } from "./harness";

const SLUG = "cli-e2e";
const ADMIN = join(import.meta.dirname, "..", "..", "scripts", "admin.mjs");

let e2e: E2e | undefined;

function admin(...args: string[]) {
  const ran = spawnSync(process.execPath, [ADMIN, ...args], { encoding: "utf8", env: { ...process.env, SCIM_ADMIN_URL: e2e!.origin, ADMIN_TOKEN: e2e!.adminToken } });
  return { code: ran.status, out: ran.stdout, err: ran.stderr };
}

beforeAll(async () => {
  e2e = await startE2e({ persistPrefix: "thestorage-e2e-cli-" });
}, 180_000);

afterAll(() => e2e?.stop());

describe("npm run admin", () => {
  it("sets a tenant up and prints tenants, users, groups, the log and the change feed as tables", async () => {
    const setup = admin("setup", SLUG, "--name", "CLI Corp");
    expect(setup.code, setup.err).toBe(0);
    const token = /API Token\s+(tsscim_\S+)/.exec(setup.out)![1]!;
    const scim = (path: string, body: unknown) =>
      fetch(`${e2e!.origin}/api/${SLUG}/scim/v2${path}`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" }, body: JSON.stringify(body) });
    const user = await scim("/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "ada@example.com", displayName: "Ada Lovelace" });
    expect(user.status).toBe(201);
    const { id } = (await user.json()) as { id: string };
    expect((await scim("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering", members: [{ value: id }] })).status).toBe(201);

    const tenants = admin("tenants");
    expect(tenants.out.split("\n")[0]).toMatch(/^SLUG\s+NAME\s+SCIM\s+LAST SYNC/);
    expect(tenants.out).toMatch(new RegExp(`${SLUG}\\s+CLI Corp\\s+on · okta`));
    const users = admin("users", SLUG);
    expect(users.out).toMatch(/^USERNAME\s+NAME\s+STATUS/);
    expect(users.out).toMatch(/ada@example\.com\s+Ada Lovelace\s+active\s+okta/);
    expect(users.out).toContain("1–1 of 1");
    expect(users.out).not.toContain("{");
    const json = JSON.parse(admin("users", SLUG, "--json").out);
    expect(json).toMatchObject({ totalResults: 1, users: [{ userName: "ada@example.com" }] });
    expect(admin("users", SLUG, "--status", "deactivated").out).toContain("No users.");
    expect(admin("groups", SLUG).out).toMatch(/Engineering\s+1\s+okta/);
    const events = admin("events", SLUG);
    expect(events.out).toMatch(/^TIME\s+ACTION/);
    expect(events.out).toMatch(/user\.create\s+✓\s+201\s+ada@example\.com/);
    const changes = admin("changes", SLUG);
    expect(changes.out).toMatch(/user\.created\s+ada@example\.com\s+evt_/);
    expect(changes.out).toMatch(/group\.user_added\s+Engineering ← ada@example\.com/);
    expect(changes.out).toMatch(/Next: --after \S+/);
    const csv = admin("export", SLUG);
    expect(csv.out.split("\r\n")[0]).toMatch(/^id,userName,displayName,email,active/);
    expect(csv.out).toContain("ada@example.com");
    expect(admin("audit").out).toMatch(/scim\.enable\s+✓\s+cli-e2e\s+admin-token/);
  });

  it("moves the tenant onto another D1 binding, showing its progress, and its data goes with it", () => {
    const moved = admin("move", SLUG, "TENANT_DEMO");
    expect(moved.code, moved.err).toBe(0);
    expect(moved.out).toMatch(/TENANT_DEFAULT → TENANT_DEMO/);
    expect(moved.out).toContain(`'${SLUG}' now lives in TENANT_DEMO`);
    expect(admin("tenants").out).toMatch(new RegExp(`${SLUG}\\s.*TENANT_DEMO`));
    expect(admin("users", SLUG).out).toMatch(/ada@example\.com\s+Ada Lovelace/);
    expect(admin("move", SLUG).out).toMatch(/^(switched|erasing|done)\s/m);
    const again = admin("move", SLUG, "TENANT_DEMO");
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/400.*already on TENANT_DEMO/);
  });

  it("documents every command group, and refuses an unknown command with a non-zero exit", () => {
    const help = admin("help");
    expect(help.code).toBe(0);
    for (const command of ["setup", "tenants", "move", "users", "groups", "group", "export", "events", "changes", "webhooks", "audit", "link", "token"]) {
      expect(help.out).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
    const unknown = admin("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("Unknown command 'frobnicate'");
    expect(unknown.out).toBe("");
    expect(admin("tenant", "explode", "x").code).toBe(2);
    expect(admin("webhooks", "explode").code).toBe(2);
    expect(admin("token").out.trim()).toBe(e2e!.adminToken);
  });
});

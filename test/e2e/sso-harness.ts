/// <reference types="node" />
// The sign-in e2e files' shared setup (sso.test.ts: OpenID Connect, sso-saml.test.ts: SAML 2.0):
// a `wrangler dev` from ./harness, a tenant with SCIM on and two provisioned users (Alice active,
// Bob deactivated), and `npm run idp` (scripts/sso-idp.mjs) connecting the tenant to a local IdP.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { freePort, startE2e, type E2e } from "./harness";

const IDP_SCRIPT = join(import.meta.dirname, "..", "..", "scripts", "sso-idp.mjs");
const IDP_START_TIMEOUT_MS = 60_000;

export interface SsoE2e {
  e2e: E2e;
  slug: string;
  /** userName of the active user (with a primary email) and of the deactivated one. */
  alice: string;
  bob: string;
  aliceId: string;
  /** A SCIM request to the tenant with its token; fails the test unless it answers 2xx. */
  scim(method: string, path: string, body: unknown): Promise<any>;
  /** The `Open:` URL `npm run idp` prints: SP-initiated sign-in that returns to its stand-in app. */
  openUrl: string;
  /** Everything `npm run idp` printed so far. */
  idpLog(): string;
  /** Stops the IdP, then the server (harness `stop()`). */
  stop(): Promise<void>;
}

/**
 * startE2e, then the tenant `slug` with SCIM on (provider okta) and Alice and Bob provisioned, then
 * `npm run idp -- <slug> ...idpArgs` until it prints the URL to open. Call from beforeAll with a
 * timeout above 150 s and `stop()` from afterAll; when this throws, it has cleaned up already.
 */
export async function startSsoE2e(options: { slug: string; name: string; persistPrefix: string; idpArgs?: string[] }): Promise<SsoE2e> {
  const { slug } = options;
  const alice = `alice@${slug}.example`;
  const bob = `bob@${slug}.example`;
  const e2e = await startE2e({ persistPrefix: options.persistPrefix, clipboard: true, vars: { WEBHOOK_SECRET_KEY: randomBytes(32).toString("base64"), WEBHOOK_ALLOW_LOOPBACK: "true" } });
  let idp: ChildProcess | undefined;
  let log = "";
  const stop = async () => {
    if (idp && idp.exitCode === null) {
      const exited = new Promise((resolve) => idp!.once("exit", resolve));
      idp.kill("SIGTERM");
      await exited;
    }
    await e2e.stop();
  };

  try {
    expect((await e2e.adminApi("POST", "/tenants", { slug, name: options.name })).status).toBe(201);
    const enabled = (await (await e2e.adminApi("POST", `/tenants/${slug}/scim`, { provider: "okta" })).json()) as any;
    const scim = async (method: string, path: string, body: unknown) => {
      const response = await fetch(`${e2e.origin}/api/${slug}/scim/v2${path}`, { method, headers: { Authorization: `Bearer ${enabled.token}`, "Content-Type": "application/scim+json" }, body: JSON.stringify(body) });
      expect(response.status, await response.clone().text()).toBeLessThan(300);
      return (await response.json()) as any;
    };
    const user = "urn:ietf:params:scim:schemas:core:2.0:User";
    const created = await scim("POST", "/Users", { schemas: [user], userName: alice, displayName: "Alice Anders", emails: [{ value: alice, primary: true }], active: true });
    await scim("POST", "/Users", { schemas: [user], userName: bob, displayName: "Bob Bauer", active: false });

    // One command: the local IdP connects the tenant to itself and prints the URL to open.
    const args = [slug, ...(options.idpArgs ?? [])];
    idp = spawn(process.execPath, [IDP_SCRIPT, ...args], {
      env: { ...process.env, THESTORAGE_URL: e2e.origin, ADMIN_TOKEN: e2e.adminToken, IDP_PORT: String(await freePort()) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    idp.stdout!.on("data", (chunk) => (log += String(chunk)));
    idp.stderr!.on("data", (chunk) => (log += String(chunk)));
    const deadline = Date.now() + IDP_START_TIMEOUT_MS;
    while (!/^Open:\s+(\S+)/m.test(log)) {
      if (idp.exitCode !== null || Date.now() > deadline) throw new Error(`npm run idp -- ${args.join(" ")} did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return { e2e, slug, alice, bob, aliceId: created.id, scim, openUrl: /^Open:\s+(\S+)/m.exec(log)![1]!, idpLog: () => log, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * On the IdP's login page: enters `login` (any password) and submits, while `until` waits for what
 * the submit leads to (a URL, a response), whose result it returns.
 */
export async function signInAtIdp<T>(page: Page, login: string, until: () => Promise<T>): Promise<T> {
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "anything");
  const [result] = await Promise.all([until(), page.click("button[type=submit]")]);
  return result;
}

#!/usr/bin/env node
/**
 * `npm run bench:saml`: the CPU time of one SAML ACS request (issue 22), measured on the Worker
 * itself. Starts `wrangler dev` with fresh local state, connects a tenant over SAML (IdP-initiated
 * allowed, so each request is one POST), provisions one user, then posts N freshly signed Okta-shaped
 * Responses (test/support/saml-idp.ts, bundled here with esbuild; signed with xml-crypto in this
 * process, before the clock starts) and reads the CPU used by wrangler + workerd from /proc. The
 * same is done for N GET /healthz as the floor of a request through `wrangler dev`.
 *
 *   npm run bench:saml -- [--requests 200]
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadSamlIdp } from "../scripts/lib/saml-idp-module.mjs";
import { freePort, groupCpuMs, startDev, stopAll, waitForHttp, wrangler } from "./lib/proc.mjs";

const { values } = parseArgs({ options: { requests: { type: "string", default: "200" } } });
const N = Number(values.requests);

const stateDir = await mkdtemp(path.join(os.tmpdir(), "saml-bench-"));
const idp = await loadSamlIdp();

try {
  for (const db of ["CONTROL_DB", "TENANT_DEFAULT"]) await wrangler(["d1", "migrations", "apply", db, "--local", "--persist-to", stateDir]);
  const adminToken = randomBytes(24).toString("base64url");
  const server = startDev({
    name: "wrangler dev (saml bench)",
    port: await freePort(),
    inspectorPort: await freePort(),
    persistTo: stateDir,
    vars: { ADMIN_TOKEN: adminToken, WEBHOOK_ALLOW_LOOPBACK: "true", WEBHOOK_SECRET_KEY: randomBytes(32).toString("base64") },
    logPath: path.join(stateDir, "wrangler-dev.log"),
  });
  const admin = { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" };
  await waitForHttp(server, `${server.url}/admin/v1/tenants`, { headers: admin });
  const call = async (method, p, body, headers = admin) => {
    const r = await fetch(`${server.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${p} → ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const slug = "saml-bench";
  await call("POST", "/admin/v1/tenants", { slug });
  const { token, endpoint } = await call("POST", `/admin/v1/tenants/${slug}/scim`, { provider: "okta" });
  const userName = "bench.user@example.com";
  const scimHeaders = { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" };
  const created = await fetch(`${endpoint}/Users`, { method: "POST", headers: scimHeaders, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName, active: true }) });
  if (created.status !== 201) throw new Error(`create user → ${created.status}`);
  const key = await idp.newIdpKey("bench.okta.test");
  const entityId = "http://www.okta.com/exkbench";
  const conn = await call("PUT", `/admin/v1/tenants/${slug}/sso`, {
    protocol: "saml",
    metadataXml: idp.idpMetadataXml({ entityId, ssoUrl: "https://bench.okta.test/sso/saml", key }),
    allowIdpInitiated: true,
    defaultReturnTo: "http://127.0.0.1:9/signed-in",
  });
  const bodies = Array.from({ length: N + 5 }, () =>
    new URLSearchParams({ SAMLResponse: idp.b64(idp.signedResponse({ issuer: entityId, acsUrl: conn.acsUrl, audience: conn.spEntityId, nameId: userName, attributes: { email: userName, firstName: "Bench", lastName: "User" } }, key, { sign: "both" })) }).toString(),
  );
  const acs = async (body) => {
    const r = await fetch(`${server.url}/api/${slug}/sso/saml/acs`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body, redirect: "manual" });
    await r.text();
    if (r.status !== 303) throw new Error(`ACS → ${r.status}`);
  };
  for (const body of bodies.slice(0, 5)) await acs(body); // warm-up (JIT, module init)
  const pgid = server.child.pid;
  const measure = async (label, fn) => {
    const cpu0 = groupCpuMs(pgid);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await fn(i);
    const wall = performance.now() - t0;
    const cpu = groupCpuMs(pgid) - cpu0;
    console.log(`${label.padEnd(44)} ${N} requests  wall ${(wall / N).toFixed(2)} ms/request  CPU (wrangler + workerd) ${(cpu / N).toFixed(2)} ms/request`);
    return cpu / N;
  };
  const floor = await measure("GET /healthz (floor)", () => fetch(`${server.url}/healthz`).then((r) => r.text()));
  const total = await measure("POST …/sso/saml/acs (signed twice, 303)", (i) => acs(bodies[5 + i]));
  console.log(`ACS CPU above the floor: ${(total - floor).toFixed(2)} ms/request (verify two signatures, match, one D1 batch, ticket)`);
} finally {
  await stopAll();
  await rm(stateDir, { recursive: true, force: true });
}

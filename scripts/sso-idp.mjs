#!/usr/bin/env node
// Try sign-in through an IdP without an Okta org (design.md §4e, issue 19):
//
//   npm run idp -- <tenant-slug>            OpenID Connect
//   npm run idp -- <tenant-slug> --saml     SAML 2.0 (issue 22)
//
// Beside `npm start`, starts a local OpenID Provider (panva's certified `oidc-provider`) whose
// accounts are the tenant's provisioned users, connects the tenant to it over the admin API
// (PUT /admin/v1/tenants/<slug>/sso), and prints the URL to open. Sign in with a provisioned user's
// userName (any password): the sign-in ends on a small stand-in for TheStorage's app on this same
// server, which redeems the one-time ticket over the admin API and shows who signed in.
// With --saml it is instead a small SAML 2.0 IdP (Redirect-binding AuthnRequests in, responses
// signed with xml-crypto by the tests' own stand-in IdP code, test/support/saml-idp.ts, POSTed to
// the ACS); IdP-initiated sign-in is allowed for the tenant, from /saml/idp-initiated.
//
// Environment: THESTORAGE_URL (default http://127.0.0.1:$PORT or :8787), ADMIN_TOKEN (default: the
// one `npm start` keeps in .dev.vars), IDP_PORT (default 8790).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import Provider from "oidc-provider";
import { loadSamlIdp } from "./lib/saml-idp-module.mjs";

const root = join(import.meta.dirname, "..");
const args = process.argv.slice(2);
const samlMode = args.includes("--saml");
const slug = args.find((a) => !a.startsWith("--")) ?? process.env.SSO_TENANT;
if (!slug) {
  console.error("Usage: npm run idp -- <tenant-slug> [--saml]   (the tenant must exist; provision users into it first)");
  process.exit(2);
}
const base = (process.env.THESTORAGE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`).replace(/\/+$/, "");
const port = Number(process.env.IDP_PORT ?? 8790);
const issuer = `http://127.0.0.1:${port}`;
const appReturn = `${issuer}/app/signed-in`;

function adminToken() {
  if (process.env.ADMIN_TOKEN) return process.env.ADMIN_TOKEN;
  const devVars = join(root, ".dev.vars");
  const token = existsSync(devVars) ? readFileSync(devVars, "utf8").match(/^ADMIN_TOKEN\s*=\s*"?([^"\n]+)"?\s*$/m)?.[1] : undefined;
  if (!token) {
    console.error("No ADMIN_TOKEN: set it, or run `npm start` first (it keeps one in .dev.vars).");
    process.exit(2);
  }
  return token;
}
const token = adminToken();

async function adminApi(method, path, body) {
  const response = await fetch(`${base}/admin/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: response.status, json, text };
}

/** The tenant's user with this userName (case-insensitive), from the admin API. */
async function provisionedUser(login) {
  const found = await adminApi("GET", `/tenants/${encodeURIComponent(slug)}/users?q=${encodeURIComponent(login)}&count=50`);
  return (found.json?.users ?? []).find((u) => u.userName.toLowerCase() === login.toLowerCase()) ?? null;
}

const clientId = `thestorage-${slug}`;
const clientSecret = randomBytes(24).toString("base64url");

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [`${base}/api/${slug}/sso/oidc/callback`],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "RS256",
    },
  ],
  // Accounts are the tenant's users. `sub` is the login typed at this provider (oidc-provider's
  // development login page; a real IdP sends its own user id, which its SCIM push also sends as
  // externalId); preferred_username and email carry the userName, so TheStorage matches on userName
  // at the first sign-in and links the account from then on. Anyone else may sign in too, with their
  // login as email: TheStorage refuses them as not provisioned.
  async findAccount(_ctx, id) {
    const user = await provisionedUser(id);
    return {
      accountId: id,
      async claims() {
        return user
          ? { sub: id, preferred_username: user.userName, email: user.email ?? user.userName, email_verified: true, name: user.displayName ?? user.userName }
          : { sub: id, preferred_username: id, email: id, name: id };
      },
    };
  },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "preferred_username"] },
  // Put the requested claims in the ID token itself (TheStorage reads only the ID token).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: [randomBytes(32).toString("base64url")] },
  // First-party app: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body style="font:16px system-ui;margin:3rem auto;max-width:40rem"><h1>${escape(title)}</h1>${body}</body></html>`;
}

/** The stand-in for TheStorage's app: receives the ticket on return_to and redeems it server-to-server. */
async function app(req, res, url) {
  const ticket = url.searchParams.get("ticket");
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  if (!ticket) {
    res.writeHead(400).end(page("No ticket", "<p>This page is where a sign-in lands with its ticket.</p>"));
    return;
  }
  const redeemed = await adminApi("POST", "/sign-ins/redeem", { ticket });
  if (redeemed.status !== 200) {
    res.writeHead(400).end(page("Ticket refused", `<p id="refused">${escape(redeemed.json?.detail ?? redeemed.text)}</p>`));
    return;
  }
  const { user, signIn } = redeemed.json;
  res.writeHead(200).end(
    page(
      "Signed in to TheStorage",
      `<p id="who">Signed in as <strong>${escape(user.userName)}</strong> (${escape(user.displayName ?? "")}) of tenant <strong>${escape(redeemed.json.tenant)}</strong>.</p>
       <p>Groups: <span id="groups">${escape(user.groups.map((g) => g.displayName).join(", ") || "none")}</span></p>
       <p>Through ${escape(signIn.issuer)} as ${escape(signIn.subject)} at ${escape(signIn.at)}.</p>
       <pre id="redeemed">${escape(JSON.stringify(redeemed.json, null, 2))}</pre>`,
    ),
  );
}

// ── SAML 2.0 (--saml) ─────────────────────────────────────────────────────────────────────────

const samlIdp = samlMode ? await loadSamlIdp() : null;
const samlKey = samlMode ? await samlIdp.newIdpKey("127.0.0.1") : null;
const samlEntityId = `${issuer}/saml/metadata`;
const samlSsoUrl = `${issuer}/saml/sso`;
/** The connection as TheStorage answered it (acsUrl, spEntityId), once saved. */
let samlConnection = null;

async function formBody(req) {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  return new URLSearchParams(raw);
}

function loginForm(fields) {
  const hidden = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`).join("");
  return page(
    "Local SAML IdP: sign in",
    `<form method="post" action="/saml/sso">${hidden}<p><label>Login <input name="login" autofocus></label></p><p><label>Password <input name="password" type="password"></label></p><button type="submit">Sign in</button></form><p>Use the userName of a user provisioned into tenant ${escape(slug)} (any password).</p>`,
  );
}

/** The signed response for `login`, auto-POSTed to TheStorage's ACS (the HTTP-POST binding). */
async function postResponse(res, login, inResponseTo, relayState) {
  const user = await provisionedUser(login);
  const nameId = user?.userName ?? login;
  const xml = samlIdp.signedResponse(
    { issuer: samlEntityId, acsUrl: samlConnection.acsUrl, audience: samlConnection.spEntityId, nameId, ...(inResponseTo ? { inResponseTo } : {}), attributes: { email: user?.email ?? nameId, displayName: user?.displayName ?? nameId } },
    samlKey,
    { sign: "both" },
  );
  const fields = { SAMLResponse: samlIdp.b64(xml), ...(relayState ? { RelayState: relayState } : {}) };
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.writeHead(200).end(
    `<!doctype html><html><body><form method="post" action="${escape(samlConnection.acsUrl)}">${Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${escape(v)}">`).join("")}<noscript><button type="submit">Continue</button></noscript></form><script>document.forms[0].submit()</script></body></html>`,
  );
}

async function saml(req, res, url) {
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  if (url.pathname === "/saml/metadata") {
    res.setHeader("Content-Type", "application/samlmetadata+xml");
    res.writeHead(200).end(samlIdp.idpMetadataXml({ entityId: samlEntityId, ssoUrl: samlSsoUrl, key: samlKey }));
  } else if (url.pathname === "/saml/sso" && req.method === "GET") {
    const request = inflateRawSync(Buffer.from(url.searchParams.get("SAMLRequest") ?? "", "base64")).toString("utf8");
    const requestId = /\sID="([^"]+)"/.exec(request)?.[1];
    const acs = /AssertionConsumerServiceURL="([^"]+)"/.exec(request)?.[1];
    if (!requestId || acs !== samlConnection.acsUrl) {
      res.writeHead(400).end(page("Bad AuthnRequest", `<p>Not an AuthnRequest from tenant ${escape(slug)}'s ACS.</p>`));
      return;
    }
    res.writeHead(200).end(loginForm({ requestId, RelayState: url.searchParams.get("RelayState") ?? "" }));
  } else if (url.pathname === "/saml/sso" && req.method === "POST") {
    const form = await formBody(req);
    await postResponse(res, form.get("login") ?? "", form.get("requestId"), form.get("RelayState"));
  } else if (url.pathname === "/saml/idp-initiated") {
    if (req.method === "POST") await postResponse(res, (await formBody(req)).get("login") ?? "", null, null);
    else res.writeHead(200).end(loginForm({}).replace('action="/saml/sso"', 'action="/saml/idp-initiated"'));
  } else {
    res.writeHead(404).end(page("Not found", ""));
  }
}

const handle = provider.callback();
const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", issuer);
  if (url.pathname === "/app/signed-in") {
    app(req, res, url).catch((error) => res.writeHead(500).end(String(error)));
    return;
  }
  if (samlMode && url.pathname.startsWith("/saml/")) {
    saml(req, res, url).catch((error) => res.writeHead(500).end(String(error)));
    return;
  }
  handle(req, res);
});

server.listen(port, "127.0.0.1", async () => {
  const connection = samlMode
    ? { protocol: "saml", metadataXml: samlIdp.idpMetadataXml({ entityId: samlEntityId, ssoUrl: samlSsoUrl, key: samlKey }), allowIdpInitiated: true, defaultReturnTo: appReturn }
    : { protocol: "oidc", issuer, clientId, clientSecret, defaultReturnTo: appReturn };
  const saved = await adminApi("PUT", `/tenants/${encodeURIComponent(slug)}/sso`, connection);
  if (saved.status !== 200) {
    console.error(`Could not connect tenant '${slug}' to ${issuer}: ${saved.status} ${saved.json?.detail ?? saved.text}`);
    console.error(saved.status === 404 ? "Create the tenant first (console or POST /admin/v1/tenants)." : "Is `npm start` running, and is THESTORAGE_URL right?");
    server.close();
    process.exit(1);
  }
  samlConnection = saved.json;
  if (samlMode) {
    console.log(`Local SAML 2.0 IdP for tenant '${slug}': entity ID ${samlEntityId} (Ctrl+C to stop)`);
    console.log(`Tenant '${slug}' now signs in through it (ACS ${saved.json.acsUrl}); IdP-initiated: ${issuer}/saml/idp-initiated`);
  } else {
    console.log(`Local OpenID Provider for tenant '${slug}': ${issuer} (Ctrl+C to stop)`);
    console.log(`Tenant '${slug}' now signs in through it (redirect URI ${saved.json.redirectUri}).`);
  }
  console.log("");
  console.log(`Open:  ${base}/api/${slug}/sso/start?return_to=${encodeURIComponent(appReturn)}`);
  console.log("Sign in with the userName of a user provisioned into the tenant (any password).");
  console.log(`Or use Test sign-in on ${base}/admin/tenants/${slug}/sso.`);
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));

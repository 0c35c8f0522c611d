/**
 * Admin API for sign-in through the customer's IdP (design.md §4e): the tenant's OIDC or SAML connection
 * (PUT / GET / DELETE …/sso) and the redemption of a one-time ticket (POST /sign-ins/redeem).
 */
import { publicOrigin } from "../lib/hono";
import { readJsonObject } from "../lib/respond";
import { parseInput } from "../lib/validate";
import { pathTenantRef } from "../routes/admin/path-tenant";
import { adminRoute, createAdminRouter, createRoute, errors, json, Problem, SlugParam, z } from "../routes/admin/openapi";
import { clientIp } from "../services/auth-throttle";
import { connectionInput, connectionView, redeemSignIn, removeConnection, requireConnection, saveConnection } from "./service";

const NO_STORE = { "Cache-Control": "no-store" };

const ConnectionBody = z
  .object({
    protocol: z.enum(["oidc", "saml"]).openapi({ description: '"oidc" (OpenID Connect) or "saml" (SAML 2.0).' }),
    issuer: z.string().optional().openapi({ description: "The IdP's issuer: Okta's org authorization server https://<org>.okta.com; Entra ID https://login.microsoftonline.com/<tenant id>/v2.0.", example: "https://acme.okta.com" }),
    clientId: z.string().optional().openapi({ example: "0oa1b2c3d4e5f6g7h8i9" }),
    clientSecret: z.string().optional().openapi({ description: "Stored encrypted, never returned. May be left out when updating a saved connection." }),
    jit: z.boolean().optional().openapi({ description: "Create unknown users on sign-in; only ever while SCIM is off for the tenant. Default false." }),
    defaultReturnTo: z.string().nullable().optional().openapi({ description: "Where initiate-login and IdP-initiated sign-ins land (an origin of SIGN_IN_RETURN_ORIGINS)." }),
    metadataXml: z.string().optional().openapi({ description: "SAML: the IdP's metadata XML (entity ID, HTTP-Redirect SSO URL, signing certificates). Or the three values below." }),
    idpEntityId: z.string().optional().openapi({ description: "SAML: the IdP's entity ID (Okta: Identity Provider Issuer).", example: "http://www.okta.com/exk1a2b3c4d5e6f7g8h9" }),
    idpSsoUrl: z.string().optional().openapi({ description: "SAML: the IdP's single sign-on URL (HTTP-Redirect binding)." }),
    idpCertificate: z.string().optional().openapi({ description: "SAML: the IdP's X.509 signing certificate, PEM or its base64 body. Responses are verified with it only." }),
    allowIdpInitiated: z.boolean().optional().openapi({ description: "SAML: accept unsolicited (IdP-initiated) responses, landing on defaultReturnTo. Default false." }),
  })
  .openapi("SsoConnectionInput");

const Connection = z
  .object({
    protocol: z.enum(["oidc", "saml"]),
    enabled: z.boolean(),
    issuer: z.string().optional().openapi({ description: "OIDC" }),
    clientId: z.string().optional().openapi({ description: "OIDC" }),
    idpEntityId: z.string().optional().openapi({ description: "SAML" }),
    idpSsoUrl: z.string().optional().openapi({ description: "SAML" }),
    idpCertificates: z.array(z.object({ sha256Fingerprint: z.string() })).optional().openapi({ description: "SAML: the signing certificates responses are verified with." }),
    allowIdpInitiated: z.boolean().optional().openapi({ description: "SAML" }),
    spCertificate: z.string().optional().openapi({ description: "SAML: the certificate (PEM) our AuthnRequests are signed with (RSA-SHA256), also in our SP metadata; for IdPs that verify signed requests." }),
    jit: z.boolean(),
    defaultReturnTo: z.string().nullable(),
    redirectUri: z.string().openapi({ description: "Paste into the IdP app's sign-in redirect URIs." }),
    initiateLoginUri: z.string().openapi({ description: "Paste into Okta's Initiate login URI." }),
    acsUrl: z.string().openapi({ description: "SAML: Okta's Single sign-on URL (the ACS, HTTP-POST)." }),
    spEntityId: z.string().openapi({ description: "SAML: Okta's Audience URI (SP Entity ID)." }),
    metadataUrl: z.string().openapi({ description: "SAML: our SP metadata." }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("SsoConnection");

const RedeemBody = z.object({ ticket: z.string().openapi({ example: "tssi_…" }) }).openapi("SignInRedeem");

const Redemption = z
  .object({
    tenant: z.string(),
    user: z.object({
      id: z.string(),
      userName: z.string(),
      displayName: z.string().nullable(),
      emails: z.array(z.object({ value: z.string(), type: z.string().optional(), primary: z.boolean().optional() })),
      active: z.boolean(),
      source: z.string().nullable(),
      externalId: z.string().nullable(),
      role: z.string().nullable().openapi({ description: "The user's effective role (design.md §4f)." }),
      attributes: z.record(z.string(), z.unknown()).openapi({ description: "The tenant's custom attributes this user has values for, by name." }),
      groups: z.array(z.object({ id: z.string(), displayName: z.string() })),
    }),
    signIn: z.object({ protocol: z.string(), issuer: z.string(), subject: z.string(), at: z.string() }),
  })
  .openapi("SignInRedemption");

const secretKeyProblem = {
  503: { description: "ADMIN_TOKEN or WEBHOOK_SECRET_KEY (the key the client secret is encrypted with) is not set.", content: { "application/problem+json": { schema: Problem } } },
};

export const ssoAdminRoutes = createAdminRouter();

adminRoute(
  ssoAdminRoutes,
  createRoute({
    method: "put",
    path: "/tenants/{slug}/sso",
    summary: "Connect the tenant's IdP for sign-in (OpenID Connect or SAML 2.0)",
    description: "OIDC: reads the issuer's discovery document and JWKS first; SAML: reads the metadata XML or checks entity ID, SSO URL and certificate. A 400 says what is wrong.",
    tags: ["Single sign-on"],
    request: { params: SlugParam, body: { content: { "application/json": { schema: ConnectionBody } } } },
    responses: { 200: json(Connection, "The connection (never the secret) and the values to paste into the IdP"), ...errors(400, 404), ...secretKeyProblem },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const input = parseInput(connectionInput, await readJsonObject(c));
    const row = await saveConnection(c.env, tenant, input, { actor: c.get("adminActor"), ip: clientIp(c) });
    return c.json(connectionView(publicOrigin(c.env, c.req.url), tenant.slug, row), 200, NO_STORE);
  },
);

adminRoute(
  ssoAdminRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/sso",
    summary: "The tenant's sign-in connection",
    tags: ["Single sign-on"],
    request: { params: SlugParam },
    responses: { 200: json(Connection, "The connection"), ...errors(404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    return c.json(connectionView(publicOrigin(c.env, c.req.url), tenant.slug, await requireConnection(c.env, tenant)));
  },
);

adminRoute(
  ssoAdminRoutes,
  createRoute({
    method: "delete",
    path: "/tenants/{slug}/sso",
    summary: "Switch sign-in through the IdP off",
    tags: ["Single sign-on"],
    request: { params: SlugParam },
    responses: { 204: { description: "Off" }, ...errors(404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    await removeConnection(c.env, tenant, { actor: c.get("adminActor"), ip: clientIp(c) });
    return c.body(null, 204);
  },
);

adminRoute(
  ssoAdminRoutes,
  createRoute({
    method: "post",
    path: "/sign-ins/redeem",
    summary: "Redeem a one-time sign-in ticket",
    description: "The ticket comes back to TheStorage's app on `return_to`; it is valid once, for 60 seconds. The same as RPC `redeemSignIn(ticket)` on ScimDirectory.",
    tags: ["Single sign-on"],
    request: { body: { content: { "application/json": { schema: RedeemBody } } } },
    responses: { 200: json(Redemption, "Who signed in"), ...errors(400) },
  }),
  async (c) => {
    const body = await readJsonObject(c);
    return c.json(await redeemSignIn(c.env, body.ticket), 200, NO_STORE);
  },
);

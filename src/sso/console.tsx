/**
 * Console: Settings › Single sign-on (design.md §4e), for the operator and the tenant's IT admin
 * (setup-link session). Choose OpenID Connect or SAML 2.0, paste the IdP's values, copy ours, and run **Test sign-in**: the whole flow
 * in a new tab, ending on a page with the claims received and the directory user they matched (or
 * why none), without issuing a ticket. Registered after the console's session middleware, so every
 * POST here has passed the origin and CSRF checks.
 */
import type { Context, Hono } from "hono";
import type { PropsWithChildren } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { SsoConnectionRow } from "../db/control/schema";
import { publicOrigin } from "../lib/hono";
import { getConnection } from "../repo/sso";
import { controlDb, type TenantWithToken } from "../repo/control";
import { pathTenant } from "../routes/admin/path-tenant";
import { ApiError } from "../scim/errors";
import { clientIp } from "../services/auth-throttle";
import { tenantRefOf } from "../tenancy/tenant-db";
import type { ConsoleEnv } from "../console/routes";
import { consoleActor } from "../console/session";
import { CsrfField, ErrorPage, Field, Layout, Notice, pageCtx, Time, type SignedInContext } from "../console/ui";
import { connectionUrls, refusal } from "./core";
import { setAttemptCookie } from "./routes";
import { connectionView, removeConnection, saveConnection, startSignIn, type ConnectionView } from "./service";

type C = Context<ConsoleEnv>;

export function ssoBase(slug: string): string {
  return `/admin/tenants/${slug}/sso`;
}

interface SsoForm {
  protocol: "oidc" | "saml";
  issuer: string;
  clientId: string;
  jit: boolean;
  defaultReturnTo: string;
  /** SAML */
  metadataXml: string;
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificate: string;
  allowIdpInitiated: boolean;
  error?: { field: string; text: string };
}

function formOf(connection: ConnectionView | null, protocol: "oidc" | "saml"): SsoForm {
  return {
    protocol,
    issuer: connection?.issuer ?? "",
    clientId: connection?.clientId ?? "",
    jit: connection?.jit ?? false,
    defaultReturnTo: connection?.defaultReturnTo ?? "",
    metadataXml: "",
    idpEntityId: connection?.idpEntityId ?? "",
    idpSsoUrl: connection?.idpSsoUrl ?? "",
    idpCertificate: "",
    allowIdpInitiated: connection?.allowIdpInitiated ?? false,
  };
}

function TextArea(props: { name: string; value: string; error?: string; rows?: number; placeholder?: string }) {
  return (
    <textarea id={`f-${props.name}`} name={props.name} rows={props.rows ?? 6} placeholder={props.placeholder} aria-invalid={props.error ? "true" : undefined}>
      {props.value}
    </textarea>
  );
}

function CopyValue(props: { id: string; label: string; value: string; hint: string }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>
        <div class="copy-row">
          <code id={props.id}>{props.value}</code>
          <button type="button" class="secondary small" data-copy={props.id} aria-label={`Copy ${props.label}`}>
            Copy
          </button>
        </div>
        <span class="muted small">{props.hint}</span>
      </dd>
    </>
  );
}

function SsoPage(props: { ctx: SignedInContext; tenant: TenantWithToken; origin: string; connection: ConnectionView | null; protocol?: "oidc" | "saml"; form?: SsoForm; notice?: { kind: "ok" | "error"; text: string } }) {
  const { tenant, connection } = props;
  const urls = connection ?? connectionUrls(props.origin, tenant.slug);
  const protocol = props.form?.protocol ?? props.protocol ?? connection?.protocol ?? "oidc";
  const form: SsoForm = props.form ?? formOf(connection?.protocol === protocol ? connection : null, protocol);
  const err = (field: string) => (form.error?.field === field ? form.error.text : undefined);
  const through = connection ? `On, through ${connection.protocol === "saml" ? `${connection.idpEntityId} (SAML 2.0)` : connection.issuer}` : "Off";
  return (
    <Layout title={`Single sign-on · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="sso">
      {props.notice ? <Notice kind={props.notice.kind}>{props.notice.text}</Notice> : null}
      {form.error?.field === "form" ? <Notice kind="error">{form.error.text}</Notice> : null}
      <section class="panel" aria-labelledby="sso-heading">
        <h2 id="sso-heading">Sign-in through your IdP ({protocol === "saml" ? "SAML 2.0" : "OpenID Connect"})</h2>
        <p class="muted">
          People sign in to TheStorage with their company account. Only people your IdP provisioned here, and left active, get in
          {tenant.token ? "." : "; with SCIM off, turn on JIT to create people on their first sign-in."}
        </p>
        <p>
          Status: <strong id="sso-status">{through}</strong>
          {connection ? (
            <span class="muted small">
              {" "}
              (saved <Time at={connection.updatedAt} />)
            </span>
          ) : null}
        </p>
        <p id="sso-protocol">
          Protocol:{" "}
          {protocol === "oidc" ? <strong>OpenID Connect</strong> : <a href={`${ssoBase(tenant.slug)}?protocol=oidc`}>OpenID Connect</a>}
          {" · "}
          {protocol === "saml" ? <strong>SAML 2.0</strong> : <a href={`${ssoBase(tenant.slug)}?protocol=saml`}>SAML 2.0</a>}
          {connection && connection.protocol !== protocol ? <span class="muted small"> (saving replaces the {connection.protocol === "saml" ? "SAML" : "OpenID Connect"} connection)</span> : null}
        </p>
        {protocol === "saml" ? <SamlSteps {...props} urls={urls} form={form} err={err} /> : <>
        <h3>1. In your IdP, create an OIDC Web app and paste these</h3>
        <dl class="props">
          <CopyValue id="sso-redirect-uri" label="Sign-in redirect URI" value={urls.redirectUri} hint="Okta: Sign-in redirect URIs. Entra ID: Authentication › Web › Redirect URIs." />
          <CopyValue id="sso-initiate-uri" label="Initiate login URI" value={urls.initiateLoginUri} hint="Okta only (optional): lets people start from the Okta dashboard tile. Needs a default return URL below." />
        </dl>
        <h3>2. Paste your IdP's values here</h3>
        <form method="post" action={ssoBase(tenant.slug)}>
          <CsrfField token={props.ctx.csrfToken} />
          <input type="hidden" name="protocol" value="oidc" />
          <Field label="Issuer" name="issuer" value={form.issuer} required error={err("issuer")} hint="Okta: https://<your-org>.okta.com. Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0." placeholder="https://acme.okta.com" />
          <Field label="Client ID" name="clientId" value={form.clientId} required error={err("clientId")} autocomplete="off" />
          <Field
            label="Client secret"
            name="clientSecret"
            type="password"
            error={err("clientSecret")}
            autocomplete="new-password"
            hint={connection ? "Leave empty to keep the saved secret. It is stored encrypted and never shown again." : "Stored encrypted and never shown again."}
          />
          <FormTail form={form} err={err} saved={connection !== null} />
        </form>
        </>}
        {connection ? (
          <>
            <h3>3. Try it</h3>
            <p class="muted">
              Test sign-in runs the whole sign-in in a new tab and shows the claims your IdP sent and which user they matched, or why none. It issues no ticket.
            </p>
            <div class="actions">
              <a class="button" id="sso-test" href={`${ssoBase(tenant.slug)}/test`} target="_blank" rel="noopener">
                Test sign-in
              </a>
              <form method="post" action={`${ssoBase(tenant.slug)}/disable`} class="inline">
                <CsrfField token={props.ctx.csrfToken} />
                <button type="submit" class="secondary">
                  Turn sign-in through the IdP off
                </button>
              </form>
            </div>
          </>
        ) : null}
      </section>
    </Layout>
  );
}

/** What both protocols' forms end with: the default return URL, protocol options (children), JIT, Save. */
function FormTail(props: PropsWithChildren<{ form: SsoForm; err: (field: string) => string | undefined; saved: boolean }>) {
  const { form, err } = props;
  return (
    <>
      <Field label="Default return URL (optional)" name="defaultReturnTo" value={form.defaultReturnTo} error={err("defaultReturnTo")} hint="Where sign-ins started from the IdP's dashboard land in TheStorage." />
      {props.children}
      <div class="field">
        <label>
          <input type="checkbox" name="jit" value="1" checked={form.jit} /> Create unknown people on their first sign-in (JIT) — only ever while SCIM is off
        </label>
      </div>
      <div class="actions">
        <button type="submit">{props.saved ? "Save" : "Save and turn on"}</button>
      </div>
    </>
  );
}

function SamlSteps(props: { ctx: SignedInContext; tenant: TenantWithToken; connection: ConnectionView | null; urls: ReturnType<typeof connectionUrls>; form: SsoForm; err: (field: string) => string | undefined }) {
  const { tenant, connection, urls, form, err } = props;
  return (
    <>
      <h3>1. In your IdP, create a SAML 2.0 app and paste these</h3>
      <dl class="props">
        <CopyValue id="sso-acs-url" label="Single sign-on URL (ACS)" value={urls.acsUrl} hint="Okta: Single sign-on URL (also Recipient and Destination). Entra ID: Reply URL." />
        <CopyValue id="sso-sp-entity-id" label="Audience URI (SP entity ID)" value={urls.spEntityId} hint="Okta: Audience URI (SP Entity ID). Entra ID: Identifier (Entity ID)." />
        <CopyValue id="sso-metadata-url" label="SP metadata URL" value={urls.metadataUrl} hint="For IdPs that import the SP's metadata. Name ID: the user's TheStorage userName (Okta: Okta username or Email); SHA-256 signatures." />
      </dl>
      <h3>2. Paste your IdP's metadata, or its three values</h3>
      <form method="post" action={ssoBase(tenant.slug)}>
        <CsrfField token={props.ctx.csrfToken} />
        <input type="hidden" name="protocol" value="saml" />
        <Field label="IdP metadata XML" name="metadataXml" error={err("metadataXml")} hint="Okta: Sign On › SAML Signing Certificates › Actions › View IdP metadata; copy it all.">
          <TextArea name="metadataXml" value={form.metadataXml} error={err("metadataXml")} placeholder='<md:EntityDescriptor entityID="http://www.okta.com/…">' />
        </Field>
        <p class="muted small">Or, instead of the metadata:</p>
        <Field label="IdP entity ID" name="idpEntityId" value={form.idpEntityId} error={err("idpEntityId")} hint="Okta: Identity Provider Issuer." placeholder="http://www.okta.com/exk…" />
        <Field label="IdP single sign-on URL" name="idpSsoUrl" value={form.idpSsoUrl} error={err("idpSsoUrl")} hint="Okta: Identity Provider Single Sign-On URL." />
        <Field label="IdP signing certificate (PEM)" name="idpCertificate" error={err("idpCertificate")} hint={connection?.idpCertificates?.length ? `Saved: SHA-256 ${connection.idpCertificates.map((c) => c.sha256Fingerprint).join(", ")}. Paste again to replace.` : "Responses are verified with this certificate only."}>
          <TextArea name="idpCertificate" value={form.idpCertificate} error={err("idpCertificate")} rows={4} placeholder="-----BEGIN CERTIFICATE-----" />
        </Field>
        <FormTail form={form} err={err} saved={connection !== null}>
          <div class="field">
            <label>
              <input type="checkbox" name="allowIdpInitiated" value="1" checked={form.allowIdpInitiated} /> Accept sign-ins started from the IdP's dashboard (IdP-initiated) — off by default
            </label>
          </div>
        </FormTail>
      </form>
    </>
  );
}

async function render(c: C, tenant: TenantWithToken, extra: { form?: SsoForm; notice?: { kind: "ok" | "error"; text: string }; connection?: SsoConnectionRow | null } = {}, status: ContentfulStatusCode = 200) {
  const origin = publicOrigin(c.env, c.req.url);
  const row = extra.connection !== undefined ? extra.connection : await getConnection(controlDb(c.env.CONTROL_DB), tenant.id);
  const asked = c.req.query("protocol");
  const protocol = asked === "saml" || asked === "oidc" ? asked : undefined;
  return c.html(<SsoPage ctx={pageCtx(c)} tenant={tenant} origin={origin} connection={row ? connectionView(origin, tenant.slug, row) : null} protocol={protocol} form={extra.form} notice={extra.notice} />, status);
}

const str = (v: unknown) => (typeof v === "string" ? v.trim() : "");

export function registerSsoPages(app: Hono<ConsoleEnv>) {
  app.get("/tenants/:slug/sso", async (c) => {
    const tenant = await pathTenant(c);
    const done = c.req.query("done");
    return render(c, tenant, done === "off" ? { notice: { kind: "ok", text: "Sign-in through the IdP is off." } } : {});
  });

  app.post("/tenants/:slug/sso", async (c) => {
    const tenant = await pathTenant(c);
    const body = await c.req.parseBody();
    const form: SsoForm = {
      protocol: body.protocol === "saml" ? "saml" : "oidc",
      issuer: str(body.issuer),
      clientId: str(body.clientId),
      jit: body.jit === "1",
      defaultReturnTo: str(body.defaultReturnTo),
      metadataXml: str(body.metadataXml),
      idpEntityId: str(body.idpEntityId),
      idpSsoUrl: str(body.idpSsoUrl),
      idpCertificate: str(body.idpCertificate),
      allowIdpInitiated: body.allowIdpInitiated === "1",
    };
    const input =
      form.protocol === "saml"
        ? {
            protocol: "saml",
            ...(form.metadataXml ? { metadataXml: form.metadataXml } : { idpEntityId: form.idpEntityId || undefined, idpSsoUrl: form.idpSsoUrl || undefined, idpCertificate: form.idpCertificate || undefined }),
            allowIdpInitiated: form.allowIdpInitiated,
            jit: form.jit,
            defaultReturnTo: form.defaultReturnTo || null,
          }
        : { protocol: "oidc", issuer: form.issuer || undefined, clientId: form.clientId || undefined, clientSecret: str(body.clientSecret) || undefined, jit: form.jit, defaultReturnTo: form.defaultReturnTo || null };
    try {
      const row = await saveConnection(c.env, tenantRefOf(tenant), input, { actor: consoleActor(c), ip: clientIp(c) });
      const text = row.protocol === "saml" ? `Saved: responses from ${row.issuer} are verified with its signing certificate. Run Test sign-in to try it.` : `Saved: TheStorage read ${row.issuer}'s discovery document and signing keys. Run Test sign-in to try it.`;
      return render(c, tenant, { connection: row, notice: { kind: "ok", text } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        const m = /^(issuer|clientId|clientSecret|defaultReturnTo|metadataXml|idpEntityId|idpSsoUrl|idpCertificate): (.*)$/s.exec(error.detail);
        return render(c, tenant, { form: { ...form, error: m ? { field: m[1]!, text: m[2]! } : { field: "form", text: error.detail } } }, 400);
      }
      throw error;
    }
  });

  app.post("/tenants/:slug/sso/disable", async (c) => {
    const tenant = await pathTenant(c);
    try {
      await removeConnection(c.env, tenantRefOf(tenant), { actor: consoleActor(c), ip: clientIp(c) });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    return c.redirect(`${ssoBase(tenant.slug)}?done=off`, 303);
  });

  // Test sign-in: a GET opened in a new tab; it only redirects to the IdP (the attempt is sealed in a cookie).
  app.get("/tenants/:slug/sso/test", async (c) => {
    const tenant = await pathTenant(c);
    const step = await startSignIn(c.env, tenant.slug, { returnTo: null, mode: "test", origin: publicOrigin(c.env, c.req.url) });
    if (step.kind === "redirect" && step.cookie) {
      setAttemptCookie(c, tenant.slug, step.cookie);
      return c.redirect(step.location, 302);
    }
    const r = refusal(step.kind === "refused" ? step.reason : "broken");
    return c.html(<ErrorPage ctx={pageCtx(c)} status={r.status} title={r.title} detail={`${r.what} ${r.todo}`} back={{ href: ssoBase(tenant.slug), label: "Back to Single sign-on" }} />, r.status);
  });
}

/**
 * Console: Settings › Single sign-on (design.md §4e), for the operator and the tenant's IT admin
 * (setup-link session). Paste the IdP's values, copy ours, and run **Test sign-in**: the whole flow
 * in a new tab, ending on a page with the claims received and the directory user they matched (or
 * why none), without issuing a ticket. Registered after the console's session middleware, so every
 * POST here has passed the origin and CSRF checks.
 */
import type { Context, Hono } from "hono";
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
  issuer: string;
  clientId: string;
  jit: boolean;
  defaultReturnTo: string;
  error?: { field: string; text: string };
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

function SsoPage(props: { ctx: SignedInContext; tenant: TenantWithToken; origin: string; connection: ConnectionView | null; form?: SsoForm; notice?: { kind: "ok" | "error"; text: string } }) {
  const { tenant, connection } = props;
  const urls = connection ?? connectionUrls(props.origin, tenant.slug);
  const form: SsoForm = props.form ?? { issuer: connection?.issuer ?? "", clientId: connection?.clientId ?? "", jit: connection?.jit ?? false, defaultReturnTo: connection?.defaultReturnTo ?? "" };
  const err = (field: string) => (form.error?.field === field ? form.error.text : undefined);
  return (
    <Layout title={`Single sign-on · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="sso">
      {props.notice ? <Notice kind={props.notice.kind}>{props.notice.text}</Notice> : null}
      {form.error?.field === "form" ? <Notice kind="error">{form.error.text}</Notice> : null}
      <section class="panel" aria-labelledby="sso-heading">
        <h2 id="sso-heading">Sign-in through your IdP (OpenID Connect)</h2>
        <p class="muted">
          People sign in to TheStorage with their company account. Only people your IdP provisioned here, and left active, get in
          {tenant.token ? "." : "; with SCIM off, turn on JIT to create people on their first sign-in."}
        </p>
        <p>
          Status: <strong id="sso-status">{connection ? `On, through ${connection.issuer}` : "Off"}</strong>
          {connection ? (
            <span class="muted small">
              {" "}
              (saved <Time at={connection.updatedAt} />)
            </span>
          ) : null}
        </p>
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
          <Field label="Default return URL (optional)" name="defaultReturnTo" value={form.defaultReturnTo} error={err("defaultReturnTo")} hint="Where sign-ins started from the IdP's dashboard land in TheStorage." />
          <div class="field">
            <label>
              <input type="checkbox" name="jit" value="1" checked={form.jit} /> Create unknown people on their first sign-in (JIT) — only ever while SCIM is off
            </label>
          </div>
          <div class="actions">
            <button type="submit">{connection ? "Save" : "Save and turn on"}</button>
          </div>
        </form>
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

async function render(c: C, tenant: TenantWithToken, extra: { form?: SsoForm; notice?: { kind: "ok" | "error"; text: string }; connection?: SsoConnectionRow | null } = {}, status: ContentfulStatusCode = 200) {
  const origin = publicOrigin(c.env, c.req.url);
  const row = extra.connection !== undefined ? extra.connection : await getConnection(controlDb(c.env.CONTROL_DB), tenant.id);
  return c.html(<SsoPage ctx={pageCtx(c)} tenant={tenant} origin={origin} connection={row ? connectionView(origin, tenant.slug, row) : null} form={extra.form} notice={extra.notice} />, status);
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
    const form: SsoForm = { issuer: str(body.issuer), clientId: str(body.clientId), jit: body.jit === "1", defaultReturnTo: str(body.defaultReturnTo) };
    try {
      const row = await saveConnection(
        c.env,
        tenantRefOf(tenant),
        { protocol: "oidc", issuer: form.issuer || undefined, clientId: form.clientId || undefined, clientSecret: str(body.clientSecret) || undefined, jit: form.jit, defaultReturnTo: form.defaultReturnTo || null },
        { actor: consoleActor(c), ip: clientIp(c) },
      );
      return render(c, tenant, { connection: row, notice: { kind: "ok", text: `Saved: TheStorage read ${row.issuer}'s discovery document and signing keys. Run Test sign-in to try it.` } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        const m = /^(issuer|clientId|clientSecret|defaultReturnTo): (.*)$/s.exec(error.detail);
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

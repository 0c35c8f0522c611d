/** Settings › User Provisioning: the SCIM switch, the one-time token dialog, regenerate and switch-off confirmations. */
import type { TenantWithToken } from "../../repo/control";
import { PROVIDERS } from "../../services/tenants";
import { DeleteTenantPanel } from "./delete-tenant";
import { ConfirmDialog, ConfirmPage, ShownOnceDialog } from "../dialogs";
import { CsrfField, Layout, Notice, providerLabel, Time, type SignedInContext } from "../ui";

type Ctx = SignedInContext;

export interface ProvisioningProps {
  ctx: Ctx;
  tenant: TenantWithToken;
  endpoint: string;
  /** Only in the direct response to the enable/regenerate POST: the raw token, rendered once. */
  minted?: { token: string; regenerated: boolean };
  notice?: { kind: "ok" | "error" | "warn"; text: string };
  /** Only in the direct response to "Create setup link": the link, shown once. */
  setupLink?: { url: string; expiresAt: string };
}

function base(slug: string) {
  return `/admin/tenants/${slug}/provisioning`;
}

export function ProvisioningPage(props: ProvisioningProps) {
  const { tenant } = props;
  const token = tenant.token;
  return (
    <Layout title={`User Provisioning · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="provisioning">
      {props.notice ? <Notice kind={props.notice.kind}>{props.notice.text}</Notice> : null}
      <section class="panel" aria-labelledby="scim-heading">
        <h2 id="scim-heading">User Provisioning (SCIM 2.0)</h2>
        {token ? (
          <>
            <div class="switch-row">
              <a class="button switch" role="switch" aria-checked="true" href={`${base(tenant.slug)}/disable`} data-open-dialog="confirm-disable">
                <span class="track" aria-hidden="true"></span>
                <span>SCIM is on</span>
              </a>
              <span class="muted small">Switch off to revoke the token: {providerLabel(token.provider)} can no longer push changes.</span>
            </div>
            <h2>Connection</h2>
            <dl class="props">
              <dt>Base URL</dt>
              <dd>
                <div class="copy-row">
                  <code id="endpoint-url">{props.endpoint}</code>
                  <button type="button" class="secondary small" data-copy="endpoint-url">
                    Copy
                  </button>
                </div>
              </dd>
              <dt>API token</dt>
              <dd>
                <span class="mono">{token.prefix}…</span> <span class="muted small">(only the prefix is kept; the full token was shown once)</span>
              </dd>
              <dt>Created</dt>
              <dd>
                <Time at={token.createdAt} />
              </dd>
              <dt>Provider</dt>
              <dd>{providerLabel(token.provider)}</dd>
              <dt>Last used</dt>
              <dd>
                <Time at={token.lastUsedAt} empty="Never — run Test API Credentials in Okta" />
              </dd>
            </dl>
            <p></p>
            <div class="actions">
              <a class="button secondary" href={`${base(tenant.slug)}/regenerate`} data-open-dialog="confirm-regenerate">
                Regenerate token
              </a>
            </div>
            <ConfirmDialog
              id="confirm-regenerate"
              ctx={props.ctx}
              action={`${base(tenant.slug)}/regenerate`}
              title="Regenerate the API token?"
              body="The current token stops working at once: provisioning from the identity provider fails until you paste the new token into it."
              confirm="Regenerate token"
            />
            <ConfirmDialog
              id="confirm-disable"
              ctx={props.ctx}
              action={`${base(tenant.slug)}/disable`}
              title="Switch SCIM off?"
              body="The token is revoked at once: the identity provider can no longer create, update or deactivate users. Provisioned users stay as they are. Switching on again issues a new token."
              confirm="Switch SCIM off"
              danger
            />
          </>
        ) : (
          <>
            <p>
              SCIM is <strong>off</strong>. Switch it on to get the Base URL and an API token for your identity provider.
            </p>
            <form method="post" action={`${base(tenant.slug)}/enable`}>
              <CsrfField token={props.ctx.csrfToken} />
              <div class="field">
                <label for="f-provider">
                  Identity provider<span class="hint">Shown as the origin badge on the users it provisions.</span>
                </label>
                <select id="f-provider" name="provider">
                  {PROVIDERS.map((p) => (
                    <option value={p} selected={p === "okta"}>
                      {providerLabel(p)}
                    </option>
                  ))}
                </select>
              </div>
              <div class="switch-row">
                <button type="submit" class="switch" role="switch" aria-checked="false">
                  <span class="track" aria-hidden="true"></span>
                  <span>SCIM is off — switch on</span>
                </button>
              </div>
            </form>
          </>
        )}
      </section>
      {props.ctx.scoped ? null : <SetupLinkPanel ctx={props.ctx} slug={tenant.slug} link={props.setupLink} />}
      <OktaChecklist endpoint={props.endpoint} />
      {props.ctx.scoped ? null : <DeleteTenantPanel slug={tenant.slug} />}
      {props.minted ? <TokenDialog token={props.minted.token} endpoint={props.endpoint} regenerated={props.minted.regenerated} doneHref={base(tenant.slug)} /> : null}
    </Layout>
  );
}

/** The no-JavaScript path to the same POST: a confirmation page. */
export function ProvisioningConfirmPage(props: { ctx: Ctx; tenant: TenantWithToken; kind: "regenerate" | "disable" }) {
  const regenerate = props.kind === "regenerate";
  return (
    <ConfirmPage
      ctx={props.ctx}
      tenant={props.tenant}
      tab="provisioning"
      pageTitle={regenerate ? "Regenerate token" : "Switch SCIM off"}
      title={regenerate ? "Regenerate the API token?" : "Switch SCIM off?"}
      body={
        regenerate
          ? "The current token stops working at once: provisioning from the identity provider fails until you paste the new token into it."
          : "The token is revoked at once: the identity provider can no longer create, update or deactivate users. Provisioned users stay as they are."
      }
      action={`${base(props.tenant.slug)}/${props.kind}`}
      confirm={regenerate ? "Regenerate token" : "Switch SCIM off"}
      danger={!regenerate}
      cancelHref={base(props.tenant.slug)}
    />
  );
}

function TokenDialog(props: { token: string; endpoint: string; regenerated: boolean; doneHref: string }) {
  return (
    <ShownOnceDialog
      name="token"
      title={props.regenerated ? "New API token" : "SCIM is on — copy your API token"}
      label="API token"
      value={props.token}
      statusId="copy-status"
      doneHref={props.doneHref}
      extraRows={
        <>
          <label for="endpoint-value">Base URL</label>
          <div class="copy-row">
            <code id="endpoint-value">{props.endpoint}</code>
            <button type="button" class="secondary" data-copy="endpoint-value" data-status="copy-status">
              Copy URL
            </button>
          </div>
        </>
      }
      doneNote={<span class="muted small">After this, only the token prefix is shown.</span>}
    >
      <strong>This token is shown once.</strong> Paste it into your identity provider now: TheStorage keeps only a hash, so it cannot show it again.
      {props.regenerated ? " The previous token has stopped working." : ""}
    </ShownOnceDialog>
  );
}

function OktaChecklist(props: { endpoint: string }) {
  return (
    <section class="panel" aria-labelledby="checklist-heading">
      <h2 id="checklist-heading">Connect Okta</h2>
      <p class="muted small">Applications › your app (e.g. "SCIM 2.0 Test App (Header Auth)") › Provisioning:</p>
      <ol class="checklist">
        <li>
          <strong>Base URL</strong>: <code>{props.endpoint}</code>
        </li>
        <li>
          <strong>API Token</strong>: the <code>tsscim_…</code> token shown once when you switch SCIM on or regenerate.
        </li>
        <li>
          Click <strong>Test API Credentials</strong>; "Last used" above updates when it succeeds.
        </li>
        <li>
          <strong>To App</strong>: turn on <strong>Create Users</strong>, <strong>Update User Attributes</strong> and <strong>Deactivate Users</strong>.
        </li>
        <li>
          Leave <strong>Sync Password</strong> off: sign-in runs through TheStorage's own identity flow.
        </li>
        <li>Assign users (or groups) to the app; they appear under Users.</li>
      </ol>
    </section>
  );
}

/** Operator only: a single-use link that lets the customer's IT admin do this page themselves. */
function SetupLinkPanel(props: { ctx: Ctx; slug: string; link?: { url: string; expiresAt: string } }) {
  return (
    <section class="panel" aria-labelledby="setup-link-heading">
      <h2 id="setup-link-heading">Invite the customer's IT admin</h2>
      <p class="muted small">
        A setup link opens this console for this organisation alone (its User Provisioning, Users, Groups and log), once, for an hour. Send it to the
        person who administers the identity provider.
      </p>
      {props.link ? (
        <>
          <Notice kind="ok">
            Setup link created. It works once and expires at <Time at={props.link.expiresAt} />. It is shown only now.
          </Notice>
          <div class="copy-row">
            <code id="setup-link-url">{props.link.url}</code>
            <button type="button" data-copy="setup-link-url" data-status="setup-link-status">
              Copy
            </button>
          </div>
          <p class="status-line" id="setup-link-status" role="status" aria-live="polite"></p>
        </>
      ) : null}
      <form method="post" action={`/admin/tenants/${props.slug}/setup-links`} class="actions">
        <CsrfField token={props.ctx.csrfToken} />
        <div class="field">
          <label for="f-minutes">Expires after</label>
          <select id="f-minutes" name="minutes">
            {[5, 15, 30, 60].map((m) => (
              <option value={String(m)} selected={m === 15}>
                {m} minutes
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="secondary">
          Create setup link
        </button>
      </form>
    </section>
  );
}

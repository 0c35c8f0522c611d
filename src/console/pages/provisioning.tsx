/** Settings › User Provisioning: the SCIM switch, the one-time token dialog, regenerate and switch-off confirmations. */
import type { TenantWithToken } from "../../repo/control";
import { PROVIDERS } from "../../services/tenants";
import { DEFAULT_MINUTES, MAX_MINUTES } from "../../services/setup-links";
import { SCOPED_SESSION_SECONDS } from "../session";
import { IT_ADMIN_CAN, IT_ADMIN_CANNOT, itAdminScopeSentence } from "../scope";
import { DeleteTenantPanel } from "./delete-tenant";
import { ProviderSteps } from "./provider-steps";
import { FirstRequestLine, GuardPanel, HealthPanel, HeldBanner, type GuardrailsView } from "../../guardrails/console";
import { ConfirmDialog, ConfirmPage, ShownOnceDialog } from "../dialogs";
import { CsrfField, Field, Layout, Notice, providerLabel, Time, type SignedInContext } from "../ui";

type Ctx = SignedInContext;

export interface ProvisioningProps {
  ctx: Ctx;
  tenant: TenantWithToken;
  endpoint: string;
  /** Only in the direct response to the enable/regenerate POST: the raw token, rendered once (and until when the previous one works). */
  minted?: { token: string; regenerated: boolean; previousUntil?: string | null };
  notice?: { kind: "ok" | "error" | "warn"; text: string };
  /** Only on the page "Create setup link" redirected to, once: the link. */
  setupLink?: { url: string; expiresAt: string };
  /** The setup-link form as sent, with what was wrong with it. */
  setupLinkForm?: SetupLinkForm;
  /** The regenerate POST came without the "I understand" box ticked. */
  regenerateUnconfirmed?: boolean;
  /** Held deactivations, the hold's settings and the connection's health (src/guardrails). */
  guardrails?: GuardrailsView;
  /** The hold's settings form as refused. */
  guardError?: string;
}

export interface SetupLinkForm {
  minutes: string;
  returnUrl: string;
  error?: { field: "minutes" | "returnUrl"; text: string };
}

type Token = NonNullable<TenantWithToken["token"]>;

function when(at: string | null | undefined): string {
  return at ? `${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC` : "";
}

/** What regenerating breaks, in words: the token it kills and who is using it. */
export function regenerateWarning(token: Token): string {
  const provider = providerLabel(token.provider);
  const used = token.lastUsedAt ? `last used ${when(token.lastUsedAt)}` : "not used yet";
  return (
    `The current token (${token.prefix}…, created ${when(token.createdAt)}, ${used}) stops working at once, unless you keep it working for a while below. ` +
    `Once it stops, ${provider} provisioning${token.lastUsedAt ? ", which is using it," : ""} fails with 401 until someone pastes the new token into ${provider}. ` +
    "If your TheStorage administrator set up this connection, it breaks for them too: tell them before you regenerate."
  );
}

/** A setup-link session must tick this box to regenerate: it may not own the token it kills. */
export const REGENERATE_UNDERSTOOD = "understood";

function UnderstoodBox(props: { id: string; provider: string }) {
  return (
    <div class="field">
      <label class="check">
        <input type="checkbox" id={props.id} name={REGENERATE_UNDERSTOOD} value="1" required />{" "}
        {`I understand: the current token stops working and ${providerLabel(props.provider)} provisioning fails until the new token is pasted in.`}
      </label>
    </div>
  );
}

/** The regenerate form's overlap choices (seconds; design.md §3 allows up to 7 days). */
export const KEEP_PREVIOUS_CHOICES: [number, string][] = [
  [0, "No — it stops working at once"],
  [3600, "1 hour"],
  [86_400, "1 day"],
  [604_800, "7 days (the longest)"],
];

/** Token overlap: how long the current token keeps working once the new one exists. */
function KeepPreviousField(props: { id: string }) {
  return (
    <div class="field">
      <label for={props.id}>
        Keep the current token working for<span class="hint">So pushes keep succeeding until the new token is pasted into the identity provider.</span>
      </label>
      <select id={props.id} name="keepPrevious">
        {KEEP_PREVIOUS_CHOICES.map(([seconds, label]) => (
          <option value={String(seconds)}>{label}</option>
        ))}
      </select>
    </div>
  );
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
      {props.guardrails ? <HeldBanner ctx={props.ctx} slug={tenant.slug} held={props.guardrails.held} /> : null}
      {props.regenerateUnconfirmed && token ? <Notice kind="error">Nothing was changed: tick the box to confirm that you understand what regenerating breaks.</Notice> : null}
      {props.ctx.scoped && token ? (
        <Notice kind="warn">
          SCIM is already on for this organisation, connected to {providerLabel(token.provider)}. Its token was shown once, to whoever switched it on, and
          TheStorage cannot show it again. Getting a new one means <strong>Regenerate token</strong>, which stops the current one: read what that breaks first.
        </Notice>
      ) : null}
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
              {tenant.previous ? (
                <>
                  <dt>Previous token</dt>
                  <dd id="previous-token">
                    <span class="mono">{tenant.previous.prefix}…</span> still works until <Time at={tenant.previous.revokedAt} />; last used{" "}
                    <Time at={tenant.previous.lastUsedAt} empty="never" />.{" "}
                    <span class="muted small">Paste the new token into {providerLabel(token.provider)} before then.</span>
                  </dd>
                </>
              ) : null}
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
              body={regenerateWarning(token)}
              confirm="Regenerate token"
              danger
              fields={
                <>
                  <KeepPreviousField id="f-keep-previous-dialog" />
                  {props.ctx.scoped ? <UnderstoodBox id="f-understood-dialog" provider={token.provider} /> : null}
                </>
              }
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
      {token && props.guardrails ? <HealthPanel health={props.guardrails.health} provider={token.provider} /> : null}
      {props.ctx.scoped ? <ItAdminScopePanel /> : <SetupLinkPanel ctx={props.ctx} slug={tenant.slug} link={props.setupLink} form={props.setupLinkForm} />}
      {token ? (
        <ProviderSteps
          provider={token.provider}
          endpoint={props.endpoint}
          live={props.guardrails ? <FirstRequestLine slug={tenant.slug} health={props.guardrails.health} provider={token.provider} /> : undefined}
        />
      ) : (
        // SCIM off: the steps of the provider chosen above (the console script switches them; Okta's without it).
        PROVIDERS.map((p) => (
          <div data-steps-for={p} hidden={p !== "okta"}>
            <ProviderSteps provider={p} endpoint={props.endpoint} />
          </div>
        ))
      )}
      {props.guardrails ? <GuardPanel ctx={props.ctx} slug={tenant.slug} guard={props.guardrails.guard} error={props.guardError} /> : null}
      {props.ctx.scoped ? null : <DeleteTenantPanel slug={tenant.slug} />}
      {props.minted ? (
        <TokenDialog token={props.minted.token} endpoint={props.endpoint} regenerated={props.minted.regenerated} previousUntil={props.minted.previousUntil ?? null} doneHref={base(tenant.slug)} />
      ) : null}
    </Layout>
  );
}

/** The no-JavaScript path to the same POST: a confirmation page. */
export function ProvisioningConfirmPage(props: { ctx: Ctx; tenant: TenantWithToken & { token: Token }; kind: "regenerate" | "disable" }) {
  const regenerate = props.kind === "regenerate";
  const token = props.tenant.token;
  return (
    <ConfirmPage
      ctx={props.ctx}
      tenant={props.tenant}
      tab="provisioning"
      pageTitle={regenerate ? "Regenerate token" : "Switch SCIM off"}
      title={regenerate ? "Regenerate the API token?" : "Switch SCIM off?"}
      body={
        regenerate
          ? regenerateWarning(token)
          : "The token is revoked at once: the identity provider can no longer create, update or deactivate users. Provisioned users stay as they are."
      }
      action={`${base(props.tenant.slug)}/${props.kind}`}
      confirm={regenerate ? "Regenerate token" : "Switch SCIM off"}
      danger
      fields={
        regenerate ? (
          <>
            <KeepPreviousField id="f-keep-previous" />
            {props.ctx.scoped ? <UnderstoodBox id="f-understood" provider={token.provider} /> : null}
          </>
        ) : undefined
      }
      cancelHref={base(props.tenant.slug)}
    />
  );
}

function TokenDialog(props: { token: string; endpoint: string; regenerated: boolean; previousUntil: string | null; doneHref: string }) {
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
      {props.regenerated ? (
        props.previousUntil ? (
          <>
            {" "}The previous token keeps working until <Time at={props.previousUntil} />.
          </>
        ) : (
          " The previous token has stopped working."
        )
      ) : (
        ""
      )}
    </ShownOnceDialog>
  );
}

/** Shown to the customer's IT admin: exactly what this session allows (src/console/scope.ts enforces the same list). */
function ItAdminScopePanel() {
  return (
    <section class="panel" aria-labelledby="scope-heading">
      <h2 id="scope-heading">What you can do here</h2>
      <p class="muted small">{`This session lasts ${SCOPED_SESSION_SECONDS / 3600} hour and covers this organisation only.`}</p>
      <ul>
        {IT_ADMIN_CAN.map((item) => (
          <li>{item[0]!.toUpperCase() + item.slice(1)}.</li>
        ))}
      </ul>
      <p class="small">
        Only your TheStorage administrator can {IT_ADMIN_CANNOT.join("; ")}.
      </p>
    </section>
  );
}

/** Operator only: a single-use link that lets the customer's IT admin do this page themselves. */
function SetupLinkPanel(props: { ctx: Ctx; slug: string; link?: { url: string; expiresAt: string }; form?: SetupLinkForm }) {
  const form = props.form ?? { minutes: String(DEFAULT_MINUTES), returnUrl: "" };
  const choices = [...new Set([DEFAULT_MINUTES, 15, 30, MAX_MINUTES])];
  return (
    <section class="panel" aria-labelledby="setup-link-heading">
      <h2 id="setup-link-heading">Invite the customer's IT admin</h2>
      <p class="muted small">
        {`A setup link opens this console for this organisation alone. It works once and must be opened before it expires (${DEFAULT_MINUTES} minutes by default, at most ${MAX_MINUTES}); the session it opens lasts ${SCOPED_SESSION_SECONDS / 3600} hour. `}
        {itAdminScopeSentence()} Send it to the person who administers the identity provider.
      </p>
      {props.link ? (
        <>
          <Notice kind="ok">
            Setup link created. It works once and expires at <Time at={props.link.expiresAt} />. It is shown only now: reloading this page does not show it again.
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
      <form method="post" action={`/admin/tenants/${props.slug}/setup-links`} novalidate>
        <CsrfField token={props.ctx.csrfToken} />
        <div class="form-grid">
          <Field label="Link expires after" name="minutes" error={form.error?.field === "minutes" ? form.error.text : undefined}>
            <select id="f-minutes" name="minutes">
              {choices.map((m) => (
                <option value={String(m)} selected={String(m) === form.minutes}>
                  {`${m} minutes${m === DEFAULT_MINUTES ? " (default)" : ""}`}
                </option>
              ))}
            </select>
          </Field>
          <Field
            label="Return URL (optional)"
            name="returnUrl"
            type="url"
            value={form.returnUrl}
            error={form.error?.field === "returnUrl" ? form.error.text : undefined}
            hint="Shown to the IT admin as “Back to TheStorage”. https:// (http:// only for localhost)."
            placeholder="https://app.thestorage.example/settings"
          />
        </div>
        <button type="submit" class="secondary">
          Create setup link
        </button>
      </form>
    </section>
  );
}

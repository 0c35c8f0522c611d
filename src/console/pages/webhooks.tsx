/** Settings › Webhooks: a tenant's endpoints, the shown-once signing secret, recent deliveries, test/resend/remove. */
import type { WebhookDeliveryRow, WebhookRow } from "../../db/tenant/schema";
import { CHANGE_EVENT_TYPES } from "../../events/catalogue";
import { TEST_EVENT_TYPE } from "../../events/types";
import { MAX_WEBHOOKS_PER_TENANT } from "../../services/webhooks";
import { ConfirmDialog, ConfirmPage, ShownOnceDialog } from "../dialogs";
import { scopedMayChangeWebhook } from "../scope";
import { CsrfField, Empty, Layout, Notice, Time, type SignedInContext } from "../ui";

type Ctx = SignedInContext;
type Tenant = { slug: string; name: string };

export interface WebhookForm {
  url: string;
  events: string[];
  error?: { field: "url" | "events" | "form"; text: string };
}

export type WebhookNotice = { kind: "ok" | "error" | "warn"; text: string };

export function webhooksBase(slug: string) {
  return `/admin/tenants/${slug}/webhooks`;
}

/** A webhook's subscription: its event types, or all of them when it names none. */
function eventsLabel(hook: WebhookRow): string {
  return hook.events ? hook.events.join(", ") : "All events";
}

export function WebhooksPage(props: {
  ctx: Ctx;
  tenant: Tenant;
  hooks: WebhookRow[];
  form?: WebhookForm;
  notice?: WebhookNotice;
  /** Only in the direct answer to a create/rotate POST: the secret, rendered once. */
  minted?: { secret: string; hook: WebhookRow; rotated: boolean };
}) {
  const { tenant, hooks } = props;
  const base = webhooksBase(tenant.slug);
  const form = props.form ?? { url: "", events: [] };
  return (
    <Layout title={`Webhooks · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="webhooks">
      {props.notice ? <Notice kind={props.notice.kind}>{props.notice.text}</Notice> : null}
      <section class="panel" aria-labelledby="hooks-heading">
        <h2 id="hooks-heading">Webhook endpoints</h2>
        <p class="muted small">
          Every committed change to a user, group, membership or the SCIM connection is POSTed to these URLs, signed per Standard Webhooks (<code>webhook-id</code>,{" "}
          <code>webhook-timestamp</code>, <code>webhook-signature</code>). Failed deliveries are retried with backoff, then listed as dead.
        </p>
        {hooks.length === 0 ? (
          <Empty title="No webhooks yet">
            <p>Add an endpoint below to have TheStorage's app hear about provisioning changes as they happen.</p>
          </Empty>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">Added</th>
                  <th scope="col">Added by</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {hooks.map((hook) => {
                  // A customer IT admin sees TheStorage's own webhooks, but cannot open or change them.
                  const reachable = !props.ctx.scoped || scopedMayChangeWebhook(hook);
                  return (
                    <tr>
                      <td class="mono url">{reachable ? <a href={`${base}/${hook.id}`}>{hook.url}</a> : hook.url}</td>
                      <td class="small">{eventsLabel(hook)}</td>
                      <td class="nowrap">
                        <Time at={hook.createdAt} />
                      </td>
                      <td class="nowrap">{hook.createdBy === "customer" ? "Customer IT admin" : "TheStorage"}</td>
                      <td class="nowrap">{reachable ? <a href={`${base}/${hook.id}`}>Deliveries</a> : <span class="muted small">Managed by TheStorage</span>}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section class="panel" aria-labelledby="add-heading">
        <h2 id="add-heading">Add an endpoint</h2>
        {hooks.length >= MAX_WEBHOOKS_PER_TENANT ? (
          <p>This tenant has {MAX_WEBHOOKS_PER_TENANT} webhooks, the most allowed. Remove one to add another.</p>
        ) : (
          <form method="post" action={base} novalidate>
            <CsrfField token={props.ctx.csrfToken} />
            {form.error?.field === "form" ? <Notice kind="error">{form.error.text}</Notice> : null}
            <div class="field">
              <label for="f-url">
                Endpoint URL<span class="hint">https:// only (http://127.0.0.1 or localhost on a local run). Private and link-local addresses are refused.</span>
              </label>
              <input
                id="f-url"
                name="url"
                type="url"
                value={form.url}
                required
                placeholder="https://app.example.com/webhooks/scim"
                aria-invalid={form.error?.field === "url" ? "true" : undefined}
                aria-describedby={form.error?.field === "url" ? "f-url-error" : undefined}
              />
              {form.error?.field === "url" ? (
                <div class="field-error" id="f-url-error">
                  {form.error.text}
                </div>
              ) : null}
            </div>
            <fieldset class="field" aria-describedby={form.error?.field === "events" ? "f-events-error" : "f-events-hint"}>
              <legend>Event types</legend>
              <p class="muted small" id="f-events-hint">
                Leave every box unticked to receive all types (including ones added later).
              </p>
              {CHANGE_EVENT_TYPES.map((type) => (
                <div>
                  <label>
                    <input type="checkbox" name="events" value={type} checked={form.events.includes(type)} /> <span class="mono">{type}</span>
                  </label>
                </div>
              ))}
              {form.error?.field === "events" ? (
                <div class="field-error" id="f-events-error">
                  {form.error.text}
                </div>
              ) : null}
            </fieldset>
            <button type="submit">Add endpoint</button>
          </form>
        )}
      </section>
      {props.minted ? <SecretDialog secret={props.minted.secret} hook={props.minted.hook} rotated={props.minted.rotated} doneHref={props.minted.rotated ? `${base}/${props.minted.hook.id}` : base} /> : null}
    </Layout>
  );
}

function deliveryBadge(status: WebhookDeliveryRow["status"]) {
  if (status === "delivered") return <span class="badge success">✓ Delivered</span>;
  if (status === "dead") return <span class="badge failure">✕ Dead</span>;
  return <span class="badge failure">↻ Failed</span>;
}

export function WebhookPage(props: { ctx: Ctx; tenant: Tenant; hook: WebhookRow; deliveries: WebhookDeliveryRow[]; notice?: WebhookNotice; minted?: { secret: string } }) {
  const { tenant, hook } = props;
  const base = `${webhooksBase(tenant.slug)}/${hook.id}`;
  return (
    <Layout title={`Webhook · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="webhooks">
      {props.notice ? <Notice kind={props.notice.kind}>{props.notice.text}</Notice> : null}
      <section class="panel" aria-labelledby="hook-heading">
        <h2 id="hook-heading">Webhook</h2>
        <dl class="props">
          <dt>URL</dt>
          <dd class="mono">{hook.url}</dd>
          <dt>Id</dt>
          <dd class="mono">{hook.id}</dd>
          <dt>Events</dt>
          <dd>{eventsLabel(hook)}</dd>
          <dt>Added</dt>
          <dd>
            <Time at={hook.createdAt} />
          </dd>
          <dt>Secret</dt>
          <dd>
            <span class="muted small">Shown once when minted; stored encrypted.</span> {hook.secretRotatedAt ? <>Rotated <Time at={hook.secretRotatedAt} /></> : null}
          </dd>
        </dl>
        <div class="actions">
          <form method="post" action={`${base}/test`}>
            <CsrfField token={props.ctx.csrfToken} />
            <button type="submit" class="secondary">
              Send test event
            </button>
          </form>
          <a class="button secondary" href={`${base}/rotate`} data-open-dialog="confirm-rotate">
            Rotate secret
          </a>
          <a class="button danger" href={`${base}/remove`} data-open-dialog="confirm-remove">
            Remove
          </a>
          <a href={webhooksBase(tenant.slug)}>All webhooks</a>
        </div>
        <ConfirmDialog id="confirm-rotate" ctx={props.ctx} action={`${base}/rotate`} title="Rotate the signing secret?" body="The current secret stops signing at once: your receiver must switch to the new secret, shown once on the next screen." confirm="Rotate secret" />
        <ConfirmDialog id="confirm-remove" ctx={props.ctx} action={`${base}/remove`} title="Remove this webhook?" body={`No more events go to ${hook.url}; deliveries already queued for it are dropped. The change feed still has every event.`} confirm="Remove webhook" danger />
      </section>
      <section class="panel" aria-labelledby="deliveries-heading">
        <h2 id="deliveries-heading">Recent deliveries</h2>
        {props.deliveries.length === 0 ? (
          <p class="muted">No deliveries yet. Send a test event, or make a change in the identity provider.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Event</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Status</th>
                  <th scope="col">HTTP</th>
                  <th scope="col">Error / next attempt</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {props.deliveries.map((d) => (
                  <tr class={d.status === "delivered" ? undefined : "failure"}>
                    <td class="nowrap">
                      <Time at={d.at} />
                    </td>
                    <td>
                      <span class="mono">{d.type}</span>
                      <br />
                      <span class="mono small muted">{d.eventId}</span>
                    </td>
                    <td class="mono">{d.attempt}</td>
                    <td>{deliveryBadge(d.status)}</td>
                    <td class="mono">{d.httpStatus ?? "—"}</td>
                    <td class="detail">
                      {d.error ?? <span class="muted">—</span>}
                      {d.nextAttemptAt ? (
                        <>
                          <br />
                          <span class="small muted">
                            Next attempt <Time at={d.nextAttemptAt} />
                          </span>
                        </>
                      ) : null}
                    </td>
                    <td class="nowrap">
                      {d.type !== TEST_EVENT_TYPE && d.status !== "delivered" ? (
                        <form method="post" action={`${base}/resend`} class="inline">
                          <CsrfField token={props.ctx.csrfToken} />
                          <input type="hidden" name="eventId" value={d.eventId} />
                          <button type="submit" class="secondary small">
                            Resend
                          </button>
                        </form>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {props.minted ? <SecretDialog secret={props.minted.secret} hook={hook} rotated doneHref={base} /> : null}
    </Layout>
  );
}

/** The no-JavaScript path to rotate/remove: a confirmation page posting the same form. */
export function WebhookConfirmPage(props: { ctx: Ctx; tenant: Tenant; hook: WebhookRow; kind: "rotate" | "remove" }) {
  const rotate = props.kind === "rotate";
  const base = `${webhooksBase(props.tenant.slug)}/${props.hook.id}`;
  return (
    <ConfirmPage
      ctx={props.ctx}
      tenant={props.tenant}
      tab="webhooks"
      pageTitle={rotate ? "Rotate webhook secret" : "Remove webhook"}
      title={rotate ? "Rotate the signing secret?" : "Remove this webhook?"}
      body={
        rotate
          ? "The current secret stops signing at once: your receiver must switch to the new secret, shown once on the next screen."
          : `No more events go to ${props.hook.url}; deliveries already queued for it are dropped.`
      }
      action={`${base}/${props.kind}`}
      confirm={rotate ? "Rotate secret" : "Remove webhook"}
      danger={!rotate}
      cancelHref={base}
    />
  );
}

function SecretDialog(props: { secret: string; hook: WebhookRow; rotated: boolean; doneHref: string }) {
  return (
    <ShownOnceDialog
      name="secret"
      title={props.rotated ? "New signing secret" : "Webhook added — copy its signing secret"}
      label="Signing secret"
      value={props.secret}
      statusId="secret-copy-status"
      doneHref={props.doneHref}
    >
      <strong>This secret is shown once.</strong> Give it to the receiver at <span class="mono">{props.hook.url}</span> to verify each delivery's <code>webhook-signature</code>; TheStorage keeps
      it encrypted and cannot show it again.{props.rotated ? " The previous secret has stopped signing." : ""}
    </ShownOnceDialog>
  );
}

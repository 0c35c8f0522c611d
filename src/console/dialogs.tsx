/**
 * The console's confirmations and shown-once dialogs, shared by Settings › User Provisioning and
 * Settings › Webhooks: one markup for the console script (data-open-dialog, data-close-dialog,
 * data-auto-open, data-copy, data-replace) to drive.
 */
import type { Child, PropsWithChildren } from "hono/jsx";
import { CsrfField, Layout, type SignedInContext, type TenantTab } from "./ui";

/** What a destructive action asks before it runs: the same words in the dialog and on the no-JavaScript page. */
interface Confirmation {
  /** The form's target: the POST that does the action. */
  action: string;
  title: string;
  body: string;
  /** The submit button's label. */
  confirm: string;
  danger?: boolean;
  /** More form controls before the buttons (e.g. an "I understand" box the POST requires). */
  fields?: Child;
}

/** A confirmation dialog, opened by a link with `data-open-dialog={id}` (the link's href is the no-JavaScript page). */
export function ConfirmDialog(props: Confirmation & { id: string; ctx: SignedInContext }) {
  return (
    <dialog id={props.id} aria-labelledby={`${props.id}-title`}>
      <form method="post" action={props.action} class="dialog-body">
        <CsrfField token={props.ctx.csrfToken} />
        <h2 id={`${props.id}-title`}>{props.title}</h2>
        <p>{props.body}</p>
        {props.fields}
        <div class="actions">
          <button type="submit" class={props.danger ? "danger" : undefined}>
            {props.confirm}
          </button>
          <button type="button" class="secondary" data-close-dialog autofocus>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** The no-JavaScript path to the same POST as a ConfirmDialog: a page of its own. */
export function ConfirmPage(props: Confirmation & { ctx: SignedInContext; tenant: { slug: string; name: string }; tab: TenantTab; pageTitle: string; cancelHref: string }) {
  return (
    <Layout title={props.pageTitle} ctx={props.ctx} tenant={props.tenant} tab={props.tab}>
      <section class="panel">
        <h2>{props.title}</h2>
        <p>{props.body}</p>
        <form method="post" action={props.action}>
          <CsrfField token={props.ctx.csrfToken} />
          {props.fields}
          <div class="actions">
          <button type="submit" class={props.danger ? "danger" : undefined}>
            {props.confirm}
          </button>
          <a class="button secondary" href={props.cancelHref}>
            Cancel
          </a>
          </div>
        </form>
      </section>
    </Layout>
  );
}

/**
 * A credential rendered once, in the direct answer to the POST that minted it: opened as a modal on
 * load, with a Copy button; Done replaces the page so the value is not left in history. Element ids
 * derive from `name` (`{name}-dialog`, `{name}-value`, `{name}-done`). The children are the description.
 */
export function ShownOnceDialog(
  props: PropsWithChildren<{
    name: string;
    title: string;
    label: string;
    value: string;
    /** The live region the Copy buttons report into. */
    statusId: string;
    doneHref: string;
    /** More copy rows after the value's. */
    extraRows?: Child;
    /** Beside the Done button. */
    doneNote?: Child;
  }>,
) {
  const { name } = props;
  return (
    <dialog id={`${name}-dialog`} open data-auto-open data-escape-warning={`${name}-escape-warning`} aria-labelledby={`${name}-dialog-title`} aria-describedby={`${name}-dialog-desc`}>
      <div class="dialog-body">
        <h2 id={`${name}-dialog-title`}>{props.title}</h2>
        <p id={`${name}-dialog-desc`}>{props.children}</p>
        <label for={`${name}-value`}>{props.label}</label>
        <div class="copy-row">
          <code id={`${name}-value`}>{props.value}</code>
          <button type="button" data-copy={`${name}-value`} data-status={props.statusId} autofocus>
            Copy
          </button>
        </div>
        {props.extraRows}
        <p class="status-line" id={props.statusId} role="status" aria-live="polite"></p>
        <p
          class="notice warn"
          id={`${name}-escape-warning`}
          role="alert"
          hidden
          data-text={`This ${props.label.toLowerCase()} is shown only once. Copy it now; press Done when it is saved where it is needed.`}
        ></p>
        <div class="actions">
          <a class="button" href={props.doneHref} data-replace id={`${name}-done`}>
            Done
          </a>
          {props.doneNote}
        </div>
      </div>
    </dialog>
  );
}

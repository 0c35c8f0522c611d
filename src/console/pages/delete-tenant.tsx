/** Operator action: delete a tenant, confirmed by typing its slug; and the page after it. */
import type { TenantWithToken } from "../../repo/control";
import { CsrfField, Layout, Notice, type PageContext } from "../ui";

type Ctx = PageContext & { csrfToken: string };

function deleteHref(slug: string) {
  return `/admin/tenants/${slug}/delete`;
}

/** The "Danger zone" panel at the bottom of Settings › User Provisioning. */
export function DeleteTenantPanel(props: { slug: string }) {
  return (
    <section class="panel" aria-labelledby="danger-heading">
      <h2 id="danger-heading">Delete tenant</h2>
      <p class="muted small">Revokes the SCIM token at once and erases every user, group, log entry, change event and webhook of this tenant. This cannot be undone.</p>
      <a class="button danger" href={deleteHref(props.slug)}>
        Delete tenant…
      </a>
    </section>
  );
}

export function DeleteTenantPage(props: { ctx: Ctx; tenant: TenantWithToken; typed?: string; error?: string }) {
  const { tenant } = props;
  return (
    <Layout title={`Delete ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="provisioning">
      <section class="panel" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete tenant “{tenant.name}”?</h2>
        <p>
          The SCIM token is revoked at once: the identity provider's next request fails. Then every user, group, membership, provisioning-log entry, change event and webhook of this tenant is
          erased from <span class="mono">{tenant.database}</span>. Other tenants are not affected. <strong>This cannot be undone</strong>: export the users first if you need them.
        </p>
        <p>
          <a href={`/admin/tenants/${tenant.slug}/users/export`}>Export users as CSV</a>
        </p>
        {props.error ? <Notice kind="error">{props.error}</Notice> : null}
        <form method="post" action={deleteHref(tenant.slug)}>
          <CsrfField token={props.ctx.csrfToken} />
          <div class="field">
            <label for="f-confirm">
              Type the tenant's slug, <span class="mono">{tenant.slug}</span>, to confirm
            </label>
            <input id="f-confirm" name="confirm" type="text" value={props.typed ?? ""} autocomplete="off" required aria-invalid={props.error ? "true" : undefined} />
          </div>
          <div class="actions">
            <button type="submit" class="danger">
              Delete tenant and erase its data
            </button>
            <a class="button secondary" href={`/admin/tenants/${tenant.slug}/provisioning`}>
              Cancel
            </a>
          </div>
        </form>
      </section>
    </Layout>
  );
}

export function TenantDeletedPage(props: { ctx: PageContext; slug: string; finished: boolean }) {
  return (
    <Layout title="Tenant deleted" ctx={props.ctx}>
      <section class="panel" role="status">
        <h1>Tenant “{props.slug}” deleted</h1>
        <p>
          {props.finished
            ? "Its token is revoked and every row of its data is erased."
            : "Its token is revoked and it no longer appears anywhere. Its data is being erased in the background; the hourly job finishes whatever remains."}
        </p>
        <p class="muted small">The deletion is recorded in the audit trail.</p>
        <a class="button" href="/admin/tenants">
          Back to tenants
        </a>
      </section>
    </Layout>
  );
}

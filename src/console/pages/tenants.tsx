/** Tenants: the list and the create form. */
import type { MoveView } from "../../placement/service";
import type { TenantWithToken } from "../../repo/control";
import { HealthBadge, healthLine } from "../../guardrails/console";
import type { HealthView } from "../../guardrails/health";
import { CsrfField, Empty, Field, Layout, Notice, providerLabel, Time, type PageContext } from "../ui";

export interface TenantForm {
  values: { slug?: string; name?: string; database?: string };
  errors: { slug?: string; name?: string; database?: string; form?: string };
}

export function TenantsPage(props: { ctx: PageContext & { csrfToken: string }; tenants: TenantWithToken[]; counts: Map<string, number>; health?: Map<string, HealthView>; moves?: Map<string, MoveView>; databases: string[]; form?: TenantForm }) {
  const form = props.form ?? { values: {}, errors: {} };
  return (
    <Layout title="Tenants" ctx={props.ctx}>
      <div class="page-head">
        <div>
          <h1>Tenants</h1>
          <p class="muted">Each tenant is one customer organisation with its own SCIM endpoint and token.</p>
        </div>
      </div>
      {props.tenants.length === 0 ? (
        <Empty title="No tenants yet">
          <p>Create the first tenant below, then switch SCIM on under Settings › User Provisioning to get the Base URL and API token for Okta.</p>
        </Empty>
      ) : (
        <div class="tenant-cards">
          {props.tenants.map((t) => (
            <div class="panel">
              <h2>
                <a href={`/admin/tenants/${t.slug}/users`}>{t.name}</a>
              </h2>
              <div class="mono small muted">{t.slug}</div>
              <p class="small">
                {t.token ? <span class="badge on">SCIM on · {providerLabel(t.token.provider)}</span> : <span class="badge off">SCIM off</span>}{" "}
                <span class="muted">· {t.database}</span>
              </p>
              {props.moves?.get(t.id) ? <MoveLine move={props.moves.get(t.id)!} /> : null}
              <p class="small">
                <TenantUsers count={props.counts.get(t.id)} />
                <br />
                Last sync: <Time at={t.token?.lastUsedAt} empty={t.token ? "never" : "—"} />
              </p>
              {t.token ? (
                <p class="small">
                  Connection: <HealthBadge health={props.health?.get(t.id)} />
                  {healthLine(props.health?.get(t.id), t.token.provider) ? (
                    <>
                      <br />
                      <span class="muted">{healthLine(props.health?.get(t.id), t.token.provider)}</span>
                    </>
                  ) : null}
                </p>
              ) : null}
              <div class="actions small">
                <a href={`/admin/tenants/${t.slug}/users`}>Users</a>
                <a href={`/admin/tenants/${t.slug}/log`}>Log</a>
                <a href={`/admin/tenants/${t.slug}/provisioning`}>User Provisioning</a>
              </div>
              <p class="small muted">
                Created <Time at={t.createdAt} />
              </p>
            </div>
          ))}
        </div>
      )}
      <section class="panel" aria-labelledby="create-tenant">
        <h2 id="create-tenant">Create a tenant</h2>
        {form.errors.form ? <Notice kind="error">{form.errors.form}</Notice> : null}
        <form method="post" action="/admin/tenants" novalidate>
          <CsrfField token={props.ctx.csrfToken} />
          <div class="form-grid">
            <Field
              label="Slug"
              name="slug"
              value={form.values.slug}
              error={form.errors.slug}
              required
              hint="Lower-case letters, digits, hyphens. Part of the SCIM Base URL."
              placeholder="acme"
              autocomplete="off"
            />
            <Field label="Name" name="name" value={form.values.name} error={form.errors.name} hint="Shown in the console. Defaults to the slug." placeholder="Acme Corp" autocomplete="off" />
            <Field label="Database" name="database" error={form.errors.database} hint="The D1 binding that stores this tenant's users.">
              <select id="f-database" name="database" aria-invalid={form.errors.database ? "true" : undefined}>
                {props.databases.map((d) => (
                  <option value={d} selected={(form.values.database ?? "TENANT_DEFAULT") === d}>
                    {d}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <button type="submit">Create tenant</button>
        </form>
      </section>
    </Layout>
  );
}

function TenantUsers(props: { count: number | undefined }) {
  const count = props.count ?? 0;
  return <strong>{`${count.toLocaleString("en-US")} ${count === 1 ? "user" : "users"}`}</strong>;
}

/** A tenant's move in progress (src/placement): where to, which step, how far. */
function MoveLine(props: { move: MoveView }) {
  const m = props.move;
  return (
    <p class="small" data-move-state={m.state}>
      <span class="badge">Moving to {m.to}</span> <span class="muted">· {m.state.replace("_", " ")} · {m.progress.percent}% · {m.progress.rowsCopied}/{m.progress.rowsTotal} rows</span>
      {m.error ? <span class="muted"> · retrying: {m.error}</span> : null}
    </p>
  );
}

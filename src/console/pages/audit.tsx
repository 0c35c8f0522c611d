/** Operator page: the audit trail of admin actions across tenants, newest first, paged with `before`. */
import type { AuditEventRow } from "../../db/control/schema";
import { ActorLabel, DetailCell, Empty, Layout, LogFilterSelects, LogRow, LogTable, OutcomeBadge, type PageContext } from "../ui";

export const AUDIT_PAGE_SIZE = 50;

/** The action filter's choices: a family (prefix ending in ".") or one action. */
export const AUDIT_ACTIONS = ["tenant.", "scim.", "setup_link.", "webhook.", "user.avatar", "users.export", "console.sign_in"];

export interface AuditPageFilters {
  tenant?: string;
  outcome?: "success" | "failure";
  action?: string;
}

export function auditHref(filters: AuditPageFilters & { before?: number }): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) if (value) params.set(name, String(value));
  const query = params.toString();
  return `/admin/audit${query ? `?${query}` : ""}`;
}

function AuditFilterForm(props: { filters: AuditPageFilters }) {
  const { filters } = props;
  const filtered = Boolean(filters.tenant || filters.outcome || filters.action);
  return (
    <form method="get" action="/admin/audit" class="filters">
      <div class="field">
        <label for="f-tenant">Tenant</label>
        <input id="f-tenant" type="search" name="tenant" value={filters.tenant ?? ""} placeholder="slug" autocomplete="off" />
      </div>
      <LogFilterSelects outcome={filters.outcome} action={filters.action} actions={AUDIT_ACTIONS} />
      <button type="submit" class="secondary">
        Filter
      </button>
      {filtered ? <a href="/admin/audit">Clear filters</a> : null}
    </form>
  );
}

export function AuditPage(props: { ctx: PageContext; events: AuditEventRow[]; filters: AuditPageFilters; before?: number; hasMore: boolean; retentionDays: number }) {
  const { filters } = props;
  const filtered = Boolean(filters.tenant || filters.outcome || filters.action);
  const oldest = props.events[props.events.length - 1];
  return (
    <Layout title="Audit trail" ctx={props.ctx}>
      <div class="page-head">
        <div>
          <h1>Audit trail</h1>
          <p class="muted">
            Every admin action across tenants: tenants created and deleted, SCIM switched on, off or its token regenerated, avatars set, setup links, webhooks, console sign-ins. Kept for {props.retentionDays}{" "}
            days.
          </p>
        </div>
      </div>
      <AuditFilterForm filters={filters} />
      {props.events.length === 0 ? (
        <Empty title={props.before ? "No older actions" : filtered ? "No actions match these filters" : "No admin actions yet"}>
          <p>
            {props.before ? (
              <a href={auditHref(filters)}>Back to the newest actions</a>
            ) : filtered ? (
              <a href="/admin/audit">Show all actions</a>
            ) : (
              "Actions appear here as soon as an operator or a customer admin makes one."
            )}
          </p>
        </Empty>
      ) : (
        <>
          <LogTable columns={["Tenant", "By", "Outcome", "Detail", "IP"]}>
            {props.events.map((e) => (
              <LogRow outcome={e.outcome} at={e.at} action={e.action}>
                <td class="mono">{e.tenantSlug ?? <span class="muted">—</span>}</td>
                <td>
                  <ActorLabel actor={e.actor} />
                </td>
                <td>
                  <OutcomeBadge outcome={e.outcome} status={e.outcome === "success" ? 200 : 400} />
                </td>
                <DetailCell detail={e.detail} />
                <td class="mono nowrap">{e.ip ?? <span class="muted">—</span>}</td>
              </LogRow>
            ))}
          </LogTable>
          <nav class="pager" aria-label="Pages">
            {props.before ? <a href={auditHref(filters)}>← Newest</a> : <span></span>}
            {props.hasMore && oldest ? <a href={auditHref({ ...filters, before: oldest.id })}>Older →</a> : <span></span>}
          </nav>
        </>
      )}
    </Layout>
  );
}

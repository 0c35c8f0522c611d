/** The provisioning log: newest first, filtered by outcome and action, paged with `before`. */
import type { EventRow } from "../../db/tenant/schema";
import type { TenantWithToken } from "../../repo/control";
import { Empty, EventTable, Layout, LogFilterSelects, type PageContext } from "../ui";

export const LOG_PAGE_SIZE = 50;

export const LOG_ACTIONS = [
  "user.",
  "user.create",
  "user.update",
  "user.deactivate",
  "user.reactivate",
  "user.delete",
  "user.avatar",
  "group.",
  "group.create",
  "group.update",
  "group.members",
  "group.delete",
  "tenant.",
  "scim.",
  "users.export",
  "sso.",
  "sso.sign_in",
];

export interface LogFilters {
  outcome?: "success" | "failure";
  action?: string;
  before?: number;
}

export function logHref(slug: string, filters: LogFilters): string {
  const params = new URLSearchParams();
  if (filters.outcome) params.set("outcome", filters.outcome);
  if (filters.action) params.set("action", filters.action);
  if (filters.before) params.set("before", String(filters.before));
  const query = params.toString();
  return `/admin/tenants/${slug}/log${query ? `?${query}` : ""}`;
}

export function LogPage(props: { ctx: PageContext; tenant: TenantWithToken; events: EventRow[]; filters: LogFilters; hasMore: boolean; retentionDays?: number }) {
  const { tenant, events, filters } = props;
  const filtered = Boolean(filters.outcome || filters.action);
  const oldest = events[events.length - 1];
  return (
    <Layout title={`Provisioning log · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="log">
      <form method="get" action={`/admin/tenants/${tenant.slug}/log`} class="filters">
        <LogFilterSelects outcome={filters.outcome} action={filters.action} actions={LOG_ACTIONS} />
        <button type="submit" class="secondary">
          Filter
        </button>
        {filtered ? <a href={logHref(tenant.slug, {})}>Clear filters</a> : null}
      </form>
      {events.length === 0 ? (
        filters.before ? (
          <Empty title="No older events">
            <p>
              <a href={logHref(tenant.slug, { ...filters, before: undefined })}>Back to the newest events</a>
            </p>
          </Empty>
        ) : filtered ? (
          <Empty title="No events match these filters">
            <p>
              <a href={logHref(tenant.slug, {})}>Show all events</a>
            </p>
          </Empty>
        ) : (
          <Empty title="No provisioning events yet">
            <p>
              {tenant.token
                ? "Every SCIM write (and every refused one) is recorded here. Assign users to the app in Okta to see the first events."
                : "SCIM is off: switch it on under Settings › User Provisioning, then connect your identity provider."}
            </p>
          </Empty>
        )
      ) : (
        <>
          <p class="muted small">
            Failed and refused writes are marked “✕” and highlighted. Tokens show their prefix only; admin actions show who made them.
          </p>
          <EventTable events={events} slug={tenant.slug} />
          <nav class="pager" aria-label="Pages">
            {filters.before ? <a href={logHref(tenant.slug, { ...filters, before: undefined })}>← Newest</a> : <span></span>}
            {props.hasMore && oldest ? <a href={logHref(tenant.slug, { ...filters, before: oldest.id })}>Older →</a> : <span></span>}
          </nav>
        </>
      )}
      {props.retentionDays ? <p class="muted small">Events are kept for {props.retentionDays} days, then deleted.</p> : null}
    </Layout>
  );
}

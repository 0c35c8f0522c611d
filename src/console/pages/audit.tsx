/** Operator page: the audit trail of admin actions across tenants, newest first, paged with `before`. */
import type { AuditEventRow } from "../../db/control/schema";
import { ActorLabel, DetailCell, Empty, Layout, LogRow, LogTable, OutcomeBadge, type PageContext } from "../ui";

export const AUDIT_PAGE_SIZE = 50;

export function AuditPage(props: { ctx: PageContext; events: AuditEventRow[]; before?: number; hasMore: boolean; retentionDays: number }) {
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
      {props.events.length === 0 ? (
        <Empty title={props.before ? "No older actions" : "No admin actions yet"}>
          <p>{props.before ? <a href="/admin/audit">Back to the newest actions</a> : "Actions appear here as soon as an operator or a customer admin makes one."}</p>
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
            {props.before ? <a href="/admin/audit">← Newest</a> : <span></span>}
            {props.hasMore && oldest ? <a href={`/admin/audit?before=${oldest.id}`}>Older →</a> : <span></span>}
          </nav>
        </>
      )}
    </Layout>
  );
}

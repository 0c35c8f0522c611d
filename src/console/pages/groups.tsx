/** Groups: the list with member counts, and one group's members. */
import type { GroupRow } from "../../db/tenant/schema";
import type { TenantWithToken } from "../../repo/control";
import { Empty, Layout, OriginBadge, SearchableList, Time, type PageContext } from "../ui";

export const GROUPS_PAGE_SIZE = 50;

export function GroupsPage(props: { ctx: PageContext; tenant: TenantWithToken; rows: Array<GroupRow & { memberCount: number }>; total: number; q: string; start: number }) {
  const { tenant, rows, total, q, start } = props;
  return (
    <Layout title={`Groups · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="groups">
      <SearchableList
        tenant={tenant}
        section="groups"
        placeholder="Group name"
        q={q}
        start={start}
        pageSize={GROUPS_PAGE_SIZE}
        shown={rows.length}
        total={total}
        nothingYet={<p>In Okta, open the app's Push Groups tab and push the groups whose memberships TheStorage should know.</p>}
      >
        <table>
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Members</th>
              <th scope="col">Origin</th>
              <th scope="col" class="hide-sm">
                Last change
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((g) => (
              <tr>
                <td>
                  <a href={`/admin/tenants/${tenant.slug}/groups/${encodeURIComponent(g.id)}`}>{g.displayName}</a>
                </td>
                <td>{g.memberCount}</td>
                <td>
                  <OriginBadge source={g.source} />
                </td>
                <td class="hide-sm nowrap">
                  <Time at={g.updatedAt} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </SearchableList>
    </Layout>
  );
}

export function GroupPage(props: { ctx: PageContext; tenant: TenantWithToken; group: GroupRow; members: Array<{ id: string; userName: string; displayName: string | null }> }) {
  const { tenant, group, members } = props;
  return (
    <Layout title={`${group.displayName} · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="groups">
      <section class="panel">
        <h2>{group.displayName}</h2>
        <dl class="props">
          <dt>Origin</dt>
          <dd>
            <OriginBadge source={group.source} />
          </dd>
          <dt>External id</dt>
          <dd class="mono">{group.externalId ?? "—"}</dd>
          <dt>SCIM id</dt>
          <dd class="mono">{group.id}</dd>
          <dt>Created</dt>
          <dd>
            <Time at={group.createdAt} />
          </dd>
          <dt>Last change</dt>
          <dd>
            <Time at={group.updatedAt} />
          </dd>
        </dl>
      </section>
      <h2>Members ({members.length})</h2>
      {members.length ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">userName</th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr>
                  <td>
                    <a href={`/admin/tenants/${tenant.slug}/users/${encodeURIComponent(m.id)}`}>{m.displayName ?? m.userName}</a>
                  </td>
                  <td>{m.userName}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty title="No members">
          <p>Members appear when the identity provider pushes this group's memberships.</p>
        </Empty>
      )}
      <p class="small">
        <a href={`/admin/tenants/${tenant.slug}/log?action=group.`}>Group events in the provisioning log →</a>
      </p>
    </Layout>
  );
}

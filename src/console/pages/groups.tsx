/** Groups: the list with member counts, and one group's members. */
import type { GroupRow } from "../../db/tenant/schema";
import type { TenantWithToken } from "../../repo/control";
import { Empty, Layout, OriginBadge, Time, type PageContext } from "../ui";

export const GROUPS_PAGE_SIZE = 50;

function groupsHref(slug: string, q: string, start: number): string {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  if (start > 1) params.set("start", String(start));
  const query = params.toString();
  return `/admin/tenants/${slug}/groups${query ? `?${query}` : ""}`;
}

export function GroupsPage(props: { ctx: PageContext; tenant: TenantWithToken; rows: Array<GroupRow & { memberCount: number }>; total: number; q: string; start: number }) {
  const { tenant, rows, total, q, start } = props;
  const last = start + rows.length - 1;
  return (
    <Layout title={`Groups · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="groups">
      <form method="get" action={`/admin/tenants/${tenant.slug}/groups`} class="filters" role="search">
        <div class="field">
          <label for="f-q">Search</label>
          <input id="f-q" type="search" name="q" value={q} placeholder="Group name" />
        </div>
        <button type="submit" class="secondary">
          Search
        </button>
        {q ? <a href={groupsHref(tenant.slug, "", 1)}>Clear</a> : null}
      </form>
      {total === 0 ? (
        q ? (
          <Empty title="No matching groups">
            <p>
              Nothing matches “{q}”. <a href={groupsHref(tenant.slug, "", 1)}>Show all groups</a>.
            </p>
          </Empty>
        ) : !tenant.token ? (
          <Empty title="SCIM is off">
            <p>Switch SCIM on to let your identity provider push groups here.</p>
            <a class="button" href={`/admin/tenants/${tenant.slug}/provisioning`}>
              Go to User Provisioning
            </a>
          </Empty>
        ) : (
          <Empty title="No groups yet">
            <p>In Okta, open the app's Push Groups tab and push the groups whose memberships TheStorage should know.</p>
          </Empty>
        )
      ) : (
        <>
          <p class="muted small">
            {rows.length ? `${start}–${last} of ${total}` : `${total} groups`}
            {q ? ` matching “${q}”` : ""}
          </p>
          <div class="table-wrap">
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
          </div>
          <nav class="pager" aria-label="Pages">
            {start > 1 ? <a href={groupsHref(tenant.slug, q, Math.max(1, start - GROUPS_PAGE_SIZE))}>← Previous</a> : <span></span>}
            {last < total ? <a href={groupsHref(tenant.slug, q, start + GROUPS_PAGE_SIZE)}>Next →</a> : <span></span>}
          </nav>
        </>
      )}
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

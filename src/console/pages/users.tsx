import type { Child } from "hono/jsx";
/** Users: the searchable table and one user's page (attributes, groups, recent events, avatar). */
import type { EventRow, UserRow } from "../../db/tenant/schema";
import type { TenantWithToken } from "../../repo/control";
import type { GroupRef } from "../../scim/users";
import { SsoMark } from "../../sso/pages";
import { Avatar, CsrfField, EventTable, Field, Layout, Notice, OriginBadge, SearchableList, StatusBadge, Time, type PageContext } from "../ui";
import { customValues } from "../../attributes/core";

type Ctx = PageContext & { csrfToken: string };

export const USERS_PAGE_SIZE = 25;

/** The Users list's status filter (the admin API's `status`). */
export const USER_STATUSES = { "": "Any status", active: "Active", deactivated: "Deactivated" } as const;
export type UserStatus = keyof typeof USER_STATUSES;

/** The Users list's orders; each walks an index of (tenant, …), see src/console/routes.tsx. */
export const USER_SORTS = { created: "Oldest first", "-created": "Newest first", userName: "userName A–Z", "-userName": "userName Z–A" } as const;
export type UserSort = keyof typeof USER_SORTS;

export interface UserListState {
  q: string;
  status: UserStatus;
  sort: UserSort;
}

function Select<K extends string>(props: { name: string; label: string; value: K; options: Record<K, string> }) {
  return (
    <div class="field">
      <label for={`f-${props.name}`}>{props.label}</label>
      <select id={`f-${props.name}`} name={props.name}>
        {(Object.entries(props.options) as Array<[K, string]>).map(([value, label]) => (
          <option value={value} selected={value === props.value}>
            {label}
          </option>
        ))}
      </select>
    </div>
  );
}

export function UsersPage(props: { ctx: Ctx; tenant: TenantWithToken; rows: UserRow[]; total: number; list: UserListState; start: number; banner?: Child }) {
  const { tenant, rows, total, start } = props;
  const { q, status, sort } = props.list;
  return (
    <Layout title={`Users · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="users">
      {props.banner}
      {/* The CSV export is the operator's (src/console/scope.ts). */}
      {!props.ctx.scoped && (total > 0 || q || status) ? (
        <p class="actions small">
          <a class="button secondary" href={`/admin/tenants/${tenant.slug}/users/export`} download>
            Export CSV
          </a>
        </p>
      ) : null}
      <SearchableList
        tenant={tenant}
        section="users"
        placeholder="Name, userName or email"
        q={q}
        start={start}
        pageSize={USERS_PAGE_SIZE}
        shown={rows.length}
        total={total}
        state={{ status, sort: sort === "created" ? "" : sort }}
        filtered={status ? USER_STATUSES[status].toLowerCase() : undefined}
        filters={
          <>
            <Select name="status" label="Status" value={status} options={USER_STATUSES} />
            <Select name="sort" label="Sort" value={sort} options={USER_SORTS} />
          </>
        }
        nothingYet={<p>Assign users to the app in Okta (Assignments › Assign to People or Groups); they appear here as Okta provisions them.</p>}
      >
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" class="hide-sm">
                userName / email
              </th>
              <th scope="col">Status</th>
              <th scope="col">Origin</th>
              <th scope="col" class="hide-sm">
                Last change
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((u) => {
              const name = u.displayName ?? u.userName;
              return (
                <tr>
                  <td>
                    <div class="who">
                      <Avatar url={u.avatarUrl} name={name} />
                      <a href={`/admin/tenants/${tenant.slug}/users/${encodeURIComponent(u.id)}`}>{name}</a>
                    </div>
                  </td>
                  <td class="hide-sm">
                    <div>{u.userName}</div>
                    {u.email && u.email !== u.userName.toLowerCase() ? <div class="muted small">{u.email}</div> : null}
                  </td>
                  <td>
                    <StatusBadge active={u.active} />
                  </td>
                  <td>
                    <OriginBadge source={u.source} /> <SsoMark lastSignInAt={u.lastSignInAt} />
                  </td>
                  <td class="hide-sm nowrap">
                    <Time at={u.updatedAt} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </SearchableList>
    </Layout>
  );
}

function text(value: unknown): string {
  if (value === undefined || value === null || value === "") return "—";
  if (Array.isArray(value)) return value.map((v) => text(typeof v === "object" && v !== null && "value" in v ? (v as { value: unknown }).value : v)).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export interface UserPageProps {
  ctx: Ctx;
  tenant: TenantWithToken;
  user: UserRow;
  resource: Record<string, unknown>;
  groups: GroupRef[];
  events: EventRow[];
  avatar?: { value: string; error?: string };
  notice?: string;
}

export function UserPage(props: UserPageProps) {
  const { tenant, user, resource } = props;
  const name = user.displayName ?? user.userName;
  const given = resource.name as { givenName?: string; familyName?: string; formatted?: string } | undefined;
  const enterprise = resource["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] as Record<string, unknown> | undefined;
  const base = `/admin/tenants/${tenant.slug}`;
  return (
    <Layout title={`${name} · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="users">
      {props.notice ? <Notice kind="ok">{props.notice}</Notice> : null}
      <section class="panel">
        <div class="who">
          <Avatar url={user.avatarUrl} name={name} large />
          <div>
            <h2 class="no-margin">{name}</h2>
            <div class="muted">{user.userName}</div>
            <div class="actions small">
              <StatusBadge active={user.active} />
              <OriginBadge source={user.source} />
              <SsoMark lastSignInAt={user.lastSignInAt} />
            </div>
          </div>
        </div>
      </section>
      <section class="panel" aria-labelledby="attrs">
        <h2 id="attrs">Attributes</h2>
        <dl class="props">
          <dt>userName</dt>
          <dd>{user.userName}</dd>
          <dt>Display name</dt>
          <dd>{text(resource.displayName)}</dd>
          <dt>Given / family name</dt>
          <dd>{given ? `${given.givenName ?? "—"} / ${given.familyName ?? "—"}` : "—"}</dd>
          <dt>Emails</dt>
          <dd>{text(resource.emails)}</dd>
          <dt>Title</dt>
          <dd>{text(resource.title)}</dd>
          <dt>Status</dt>
          <dd>{user.active ? "Active" : "Deactivated (active: false)"}</dd>
          <dt>Role</dt>
          <dd>
            {user.role} <a class="small" href={`${base}/roles`}>Role mapping</a>
          </dd>
          <dt>External id</dt>
          <dd class="mono">{text(resource.externalId)}</dd>
          {enterprise ? (
            <>
              <dt>Department</dt>
              <dd>{text(enterprise.department)}</dd>
              <dt>Employee number</dt>
              <dd>{text(enterprise.employeeNumber)}</dd>
            </>
          ) : null}
          {tenant.userAttributes.map((a) => (
            <>
              <dt>
                {a.name} <span class="muted small">custom</span>
              </dt>
              <dd>{text(customValues(user.data)[a.name])}</dd>
            </>
          ))}
          <dt>SCIM id</dt>
          <dd class="mono">{user.id}</dd>
          <dt>Created</dt>
          <dd>
            <Time at={user.createdAt} />
          </dd>
          <dt>Last change</dt>
          <dd>
            <Time at={user.updatedAt} />
          </dd>
          <dt>Last sign-in through the IdP</dt>
          <dd>
            <Time at={user.lastSignInAt} empty="Never" />
          </dd>
        </dl>
        <details>
          <summary>SCIM representation (as the identity provider reads it)</summary>
          <pre class="json">{JSON.stringify(resource, null, 2)}</pre>
        </details>
      </section>
      <section class="panel" aria-labelledby="groups">
        <h2 id="groups">Groups</h2>
        {props.groups.length ? (
          <ul>
            {props.groups.map((g) => (
              <li>
                <a href={`${base}/groups/${encodeURIComponent(g.id)}`}>{g.displayName}</a>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">Not in any group. Push groups from Okta (Push Groups) to see memberships here.</p>
        )}
      </section>
      <section class="panel" aria-labelledby="avatar">
        <h2 id="avatar">Avatar</h2>
        <p class="muted small">Owned by TheStorage: identity-provider syncs never overwrite it. It is readable over SCIM as photos[type eq "photo"].</p>
        <form method="post" action={`${base}/users/${encodeURIComponent(user.id)}/avatar`}>
          <CsrfField token={props.ctx.csrfToken} />
          <Field label="Image URL" name="avatarUrl" type="url" value={props.avatar?.value ?? user.avatarUrl ?? ""} error={props.avatar?.error} hint="An https:// image URL (http:// is refused: it would not show on https pages)." placeholder="https://…" />
          <div class="actions">
            <button type="submit">Save avatar</button>
            {user.avatarUrl ? (
              <button type="submit" name="clear" value="1" class="secondary">
                Clear avatar
              </button>
            ) : null}
          </div>
        </form>
      </section>
      <section aria-labelledby="events">
        <h2 id="events">Recent events</h2>
        {props.events.length ? (
          <EventTable events={props.events} slug={tenant.slug} showTarget={false} />
        ) : (
          <p class="muted">No provisioning events for this user.</p>
        )}
        <p class="small">
          <a href={`${base}/log`}>Full provisioning log →</a>
        </p>
      </section>
    </Layout>
  );
}

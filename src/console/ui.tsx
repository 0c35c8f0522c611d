/** Shared layout and components of the admin console (server-rendered Hono JSX, no inline scripts or styles). */
import type { Context } from "hono";
import type { Child, PropsWithChildren } from "hono/jsx";
import type { EventRow } from "../db/tenant/schema";
import { CSS_PATH, JS_PATH } from "./assets";
import type { ConsoleEnv } from "./routes";

export interface PageContext {
  /** Present when signed in: the sign-out form and every POST form carry it. */
  csrfToken?: string;
  /** Set in a customer IT admin's session (from a setup link): the one tenant it may see. */
  scoped?: ScopedView;
}

/** A signed-in page's context: every POST form on it carries the CSRF token. */
export type SignedInContext = PageContext & { csrfToken: string };

/** The context of a page rendered after the session middleware (which set `session`, and `scoped` for a setup-link session). */
export function pageCtx(c: Context<ConsoleEnv>): SignedInContext {
  return { csrfToken: c.get("session").csrfToken, scoped: c.get("scoped") };
}

export interface ScopedView {
  slug: string;
  name: string;
  /** "Back to TheStorage": the returnUrl the setup link was created with. */
  returnUrl?: string;
}

/** Where "home" is for this session: the tenant list, or the scoped tenant's provisioning page. */
export function homeHref(ctx: PageContext): string {
  return ctx.scoped ? `/admin/tenants/${ctx.scoped.slug}/provisioning` : "/admin/tenants";
}

export const PROVIDER_LABELS: Record<string, string> = {
  okta: "Okta",
  entra: "Entra ID",
  onelogin: "OneLogin",
  jumpcloud: "JumpCloud",
  google: "Google Workspace",
  generic: "SCIM",
};

export function providerLabel(provider: string | null | undefined): string {
  return provider ? (PROVIDER_LABELS[provider] ?? provider) : "—";
}

export function Layout(props: PropsWithChildren<{ title: string; ctx: PageContext; tenant?: { slug: string; name: string }; tab?: TenantTab }>) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${props.title} · TheStorage SCIM`}</title>
        <link rel="icon" href="/favicon.ico" type="image/svg+xml" />
        <link rel="stylesheet" href={CSS_PATH} />
        <script src={JS_PATH} defer></script>
      </head>
      <body>
        <header class="topbar">
          <a class="brand" href={homeHref(props.ctx)}>
            TheStorage<small>SCIM console</small>
          </a>
          {props.ctx.scoped ? <span class="who">{`${props.ctx.scoped.name} · IT admin`}</span> : null}
          {props.ctx.csrfToken && !props.ctx.scoped ? (
            <nav class="topnav" aria-label="Operator">
              <a href="/admin/tenants">Tenants</a>
              <a href="/admin/audit">Audit trail</a>
            </nav>
          ) : null}
          <span class="spacer"></span>
          {props.ctx.csrfToken && !props.ctx.scoped ? <a href="/admin/api">API reference</a> : null}
          {props.ctx.scoped?.returnUrl ? (
            <a class="button secondary small" href={props.ctx.scoped.returnUrl} rel="noreferrer">
              Back to TheStorage
            </a>
          ) : null}
          {props.ctx.csrfToken ? (
            <form method="post" action="/admin/sign-out">
              <CsrfField token={props.ctx.csrfToken} />
              <button type="submit" class="link-button">
                Sign out
              </button>
            </form>
          ) : null}
        </header>
        <main>
          {props.tenant ? <TenantHeader tenant={props.tenant} tab={props.tab} scoped={Boolean(props.ctx.scoped)} /> : null}
          {props.children}
        </main>
      </body>
    </html>
  );
}

export type TenantTab = "users" | "groups" | "log" | "provisioning" | "webhooks" | "sso" | "roles" | "attributes";

export const TENANT_TABS: Array<{ tab: TenantTab; label: string; path: string }> = [
  { tab: "users", label: "Users", path: "users" },
  { tab: "groups", label: "Groups", path: "groups" },
  { tab: "log", label: "Provisioning log", path: "log" },
  { tab: "provisioning", label: "Settings › User Provisioning", path: "provisioning" },
  { tab: "webhooks", label: "Settings › Webhooks", path: "webhooks" },
  { tab: "sso", label: "Settings › Single sign-on", path: "sso" },
  { tab: "roles", label: "Settings › Roles", path: "roles" },
  { tab: "attributes", label: "Settings › Custom attributes", path: "attributes" },
];

function TenantHeader(props: { tenant: { slug: string; name: string }; tab?: TenantTab; scoped: boolean }) {
  const base = `/admin/tenants/${props.tenant.slug}`;
  return (
    <>
      {props.scoped ? null : (
        <div class="crumbs">
          <a href="/admin/tenants">Tenants</a> › <span class="mono">{props.tenant.slug}</span>
        </div>
      )}
      <h1>{props.tenant.name}</h1>
      <nav class="tabs" aria-label="Tenant">
        {TENANT_TABS.map((t) => (
          <a href={`${base}/${t.path}`} aria-current={props.tab === t.tab ? "page" : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
    </>
  );
}

export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

export function Empty(props: PropsWithChildren<{ title: string }>) {
  return (
    <div class="empty" role="status">
      <h2>{props.title}</h2>
      {props.children}
    </div>
  );
}

export function Notice(props: PropsWithChildren<{ kind: "error" | "ok" | "warn" }>) {
  return (
    <div class={`notice ${props.kind}`} role={props.kind === "error" ? "alert" : "status"}>
      {props.children}
    </div>
  );
}

export function Time(props: { at: string | null | undefined; empty?: string }) {
  if (!props.at) return <span class="muted">{props.empty ?? "—"}</span>;
  const d = new Date(props.at);
  if (Number.isNaN(d.getTime())) return <span>{props.at}</span>;
  // To the second (log rows a second apart must read apart); the full timestamp in the tooltip.
  const iso = d.toISOString();
  return (
    <time datetime={iso} title={iso}>
      {`${iso.slice(0, 19).replace("T", " ")} UTC`}
    </time>
  );
}

const ACTOR_TYPES: Record<string, string> = { "admin-token": "Admin API token", access: "Cloudflare Access", "setup-link": "Setup link", console: "Operator console" };

/** Who made an admin action: the kind of credential, and the person when known. */
export function ActorLabel(props: { actor: { type?: unknown; id?: unknown; email?: unknown } | null | undefined }) {
  const actor = props.actor;
  if (!actor) return <span class="muted">—</span>;
  const kind = ACTOR_TYPES[String(actor.type)] ?? String(actor.type);
  const who = typeof actor.email === "string" ? actor.email : typeof actor.id === "string" ? actor.id : "";
  return (
    <span title={JSON.stringify(actor)}>
      {kind}
      {who ? <span class="muted small"> · {who}</span> : null}
    </span>
  );
}

export function initials(name: string): string {
  const words = name
    .replace(/@.*$/, "")
    .split(/[\s._-]+/)
    .filter(Boolean);
  const letters = (words.length > 1 ? [words[0], words[words.length - 1]] : words).map((w) => w[0]!.toUpperCase());
  return letters.join("").slice(0, 2) || "?";
}

export function Avatar(props: { url: string | null; name: string; large?: boolean }) {
  const cls = props.large ? "avatar large" : "avatar";
  // The CSP allows https: images only; anything else falls back to initials.
  if (props.url && /^https:\/\//i.test(props.url)) {
    // The console script swaps an image that fails to load for the initials (data-initials).
    return <img class={cls} src={props.url} alt="" data-initials={initials(props.name)} width={props.large ? 64 : 32} height={props.large ? 64 : 32} loading="lazy" referrerpolicy="no-referrer" />;
  }
  return (
    <span class={cls} aria-hidden="true">
      {initials(props.name)}
    </span>
  );
}

export function OriginBadge(props: { source: string | null }) {
  if (!props.source) return <span class="badge" title="Created in TheStorage, not by an identity provider.">Local</span>;
  const label = providerLabel(props.source);
  return (
    <span class="badge origin" title={`Provisioned by ${label} over SCIM.`}>
      {label}
    </span>
  );
}

export function StatusBadge(props: { active: boolean }) {
  return props.active ? <span class="badge active">Active</span> : <span class="badge inactive">Deactivated</span>;
}

/** "Refused" for 4xx (the request was turned down), "Failed" otherwise. Text and an icon, not colour alone. */
export function OutcomeBadge(props: { outcome: string; status: number }) {
  if (props.outcome === "success") return <span class="badge success">✓ OK</span>;
  return <span class="badge failure">{props.status >= 400 && props.status < 500 ? "✕ Refused" : "✕ Failed"}</span>;
}

/** A log's table (provisioning log, audit trail): Time and Action first, then `columns`; the rows are LogRows. */
export function LogTable(props: PropsWithChildren<{ columns: string[] }>) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Action</th>
            {props.columns.map((column) => (
              <th scope="col">{column}</th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** A row of a LogTable: failures marked, then when and what; the other cells follow. */
export function LogRow(props: PropsWithChildren<{ outcome: string; at: string; action: string }>) {
  return (
    <tr class={props.outcome === "success" ? undefined : "failure"}>
      <td class="nowrap">
        <Time at={props.at} />
      </td>
      <td class="mono">{props.action}</td>
      {props.children}
    </tr>
  );
}

export function DetailCell(props: { detail: string | null }) {
  return <td class="detail">{props.detail || <span class="muted">—</span>}</td>;
}

export function EventTable(props: { events: EventRow[]; slug: string; showTarget?: boolean }) {
  return (
    <LogTable columns={[...(props.showTarget !== false ? ["Target"] : []), "Outcome", "Status", "Detail", "Token / by"]}>
      {props.events.map((e) => (
        <LogRow outcome={e.outcome} at={e.at} action={e.action}>
          {props.showTarget !== false ? (
            <td class="target">{e.resourceId && e.resourceType === "User" ? <a href={`/admin/tenants/${props.slug}/users/${encodeURIComponent(e.resourceId)}`}>{e.target ?? e.resourceId}</a> : e.resourceId && e.resourceType === "Group" ? <a href={`/admin/tenants/${props.slug}/groups/${encodeURIComponent(e.resourceId)}`}>{e.target ?? e.resourceId}</a> : (e.target ?? <span class="muted">—</span>)}</td>
          ) : null}
          <td>
            <OutcomeBadge outcome={e.outcome} status={e.status} />
          </td>
          <td class="mono">{e.status}</td>
          <DetailCell detail={e.detail} />
          <td class="nowrap">{e.actor ? <ActorLabel actor={e.actor} /> : <span class="mono">{e.tokenPrefix ? (e.tokenPrefix === "admin" ? "operator" : `${e.tokenPrefix}…`) : "—"}</span>}</td>
        </LogRow>
      ))}
    </LogTable>
  );
}

export function Field(props: { label: string; name: string; value?: string; error?: string; hint?: string; type?: string; required?: boolean; autocomplete?: string; pattern?: string; placeholder?: string; children?: Child }) {
  const id = `f-${props.name}`;
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [props.hint ? hintId : "", props.error ? errorId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class="field">
      <label for={id}>
        {props.label}
        {props.hint ? (
          <span class="hint" id={hintId}>
            {props.hint}
          </span>
        ) : null}
      </label>
      {props.children ?? (
        <input
          id={id}
          name={props.name}
          type={props.type ?? "text"}
          value={props.value ?? ""}
          required={props.required}
          autocomplete={props.autocomplete}
          placeholder={props.placeholder}
          aria-invalid={props.error ? "true" : undefined}
          aria-describedby={describedBy}
        />
      )}
      {props.error ? (
        <div class="field-error" id={errorId}>
          {props.error}
        </div>
      ) : null}
    </div>
  );
}

export function ErrorPage(props: { ctx: PageContext; status: number; title: string; detail: string; back?: { href: string; label: string }; children?: Child }) {
  return (
    <Layout title={props.title} ctx={props.ctx}>
      <div class="panel">
        <h1>{props.title}</h1>
        <p>{props.detail}</p>
        {props.children}
        {props.status >= 400 ? <p class="muted small">HTTP {props.status}</p> : null}
        {props.back?.href === "" ? null : (
          <a class="button secondary" href={props.back?.href ?? homeHref(props.ctx)}>
            {props.back?.label ?? (props.ctx.scoped ? "Back to User Provisioning" : "Back to tenants")}
          </a>
        )}
      </div>
    </Layout>
  );
}

/** The outcome and action selects of a log's filter form (provisioning log, audit trail). */
export function LogFilterSelects(props: { outcome?: string; action?: string; actions: readonly string[] }) {
  return (
    <>
      <div class="field">
        <label for="f-outcome">Outcome</label>
        <select id="f-outcome" name="outcome">
          <option value="" selected={!props.outcome}>
            All
          </option>
          <option value="success" selected={props.outcome === "success"}>
            Succeeded
          </option>
          <option value="failure" selected={props.outcome === "failure"}>
            Failed or refused
          </option>
        </select>
      </div>
      <div class="field">
        <label for="f-action">Action</label>
        <select id="f-action" name="action">
          <option value="" selected={!props.action}>
            All
          </option>
          {props.actions.map((a) => (
            <option value={a} selected={props.action === a}>
              {a.endsWith(".") ? `${a}* (all ${a.slice(0, -1)} actions)` : a}
            </option>
          ))}
        </select>
      </div>
    </>
  );
}

/** A tenant list page's URL with its search, filter (`state`: e.g. status, sort) and paging state. */
export function listHref(slug: string, section: "users" | "groups", q: string, start: number, state: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (q) params.set("q", q);
  for (const [name, value] of Object.entries(state)) if (value) params.set(name, value);
  if (start > 1) params.set("start", String(start));
  const query = params.toString();
  return `/admin/tenants/${slug}/${section}${query ? `?${query}` : ""}`;
}

/**
 * The frame shared by the Users and Groups lists: search form, the right empty state (no match,
 * SCIM off, nothing provisioned yet), the "1–25 of 80" line, the table (children) and the pager.
 */
export function SearchableList(
  props: PropsWithChildren<{
    tenant: { slug: string; token: unknown };
    section: "users" | "groups";
    placeholder: string;
    q: string;
    start: number;
    pageSize: number;
    shown: number;
    total: number;
    /** What to do to get the first rows in (shown when SCIM is on and nothing is provisioned). */
    nothingYet: Child;
    /** Filters beside the search box (their values are in `state`). */
    filters?: Child;
    /** Filter and sort values the pager keeps (empty values are left out). */
    state?: Record<string, string>;
    /** Said of a non-empty filter that matches nothing (e.g. "deactivated"). */
    filtered?: string;
  }>,
) {
  const { tenant, section, q, start, pageSize, shown, total } = props;
  const state = props.state ?? {};
  const href = (query: string, at: number) => listHref(tenant.slug, section, query, at, state);
  const last = start + shown - 1;
  return (
    <>
      <form method="get" action={href("", 1)} class="filters" role="search">
        <div class="field">
          <label for="f-q">Search</label>
          <input id="f-q" type="search" name="q" value={q} placeholder={props.placeholder} />
        </div>
        {props.filters}
        <button type="submit" class="secondary">
          {props.filters ? "Apply" : "Search"}
        </button>
        {q || props.filtered ? <a href={listHref(tenant.slug, section, "", 1)}>Clear</a> : null}
      </form>
      {total === 0 ? (
        q || props.filtered ? (
          <Empty title={`No matching ${section}`}>
            <p>
              {q ? `Nothing matches “${q}”${props.filtered ? ` among ${props.filtered} ${section}` : ""}.` : `No ${props.filtered} ${section}.`}{" "}
              <a href={listHref(tenant.slug, section, "", 1)}>Show all {section}</a>.
            </p>
          </Empty>
        ) : !tenant.token ? (
          <Empty title="SCIM is off">
            <p>Switch SCIM on to let your identity provider push {section} here.</p>
            <a class="button" href={`/admin/tenants/${tenant.slug}/provisioning`}>
              Go to User Provisioning
            </a>
          </Empty>
        ) : (
          <Empty title={`No ${section} yet`}>{props.nothingYet}</Empty>
        )
      ) : (
        <>
          <p class="muted small">
            {shown ? `${start}–${last} of ${total}` : `${total} ${section}`}
            {q ? ` matching “${q}”` : ""}
          </p>
          <div class="table-wrap">{props.children}</div>
          <nav class="pager" aria-label="Pages">
            {start > 1 ? <a href={href(q, Math.max(1, start - pageSize))}>← Previous</a> : <span></span>}
            {last < total ? <a href={href(q, start + pageSize)}>Next →</a> : <span></span>}
          </nav>
        </>
      )}
    </>
  );
}

/**
 * Console: Settings › Roles (design.md §4f), for the operator and the customer's IT admin. The
 * mapping is edited as a form of ordered rules; **Preview** shows how many users the change would
 * move (nothing is written), **Save** saves it (audited) and says how many moved.
 */
import type { Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ConsoleEnv } from "../console/routes";
import { consoleActor } from "../console/session";
import { CsrfField, Layout, Notice, pageCtx, type SignedInContext } from "../console/ui";
import { listGroups } from "../repo/groups";
import { usersPerRole, type RoleMove } from "../repo/roles";
import { pathTenant } from "../routes/admin/path-tenant";
import { ApiError } from "../scim/errors";
import { clientIp } from "../services/auth-throttle";
import { tenantDb, tenantRefOf, type TenantRef } from "../tenancy/tenant-db";
import type { RoleRule } from "./catalogue";
import { rolesOf } from "./config";
import { previewMapping, readMapping, saveMapping } from "./service";

type C = Context<ConsoleEnv>;

/** Groups offered in a rule's list (a tenant with more picks the rest by id). */
const GROUPS_LISTED = 500;
/** Empty rule rows offered below the current ones. */
const BLANK_RULES = 3;

interface RolesForm {
  default: string;
  rules: RoleRule[];
}

interface RolesPageProps {
  ctx: SignedInContext;
  tenant: { slug: string; name: string };
  roles: string[];
  form: RolesForm;
  groups: { id: string; displayName: string }[];
  counts: Record<string, number>;
  preview?: { changes: number; moves: RoleMove[] };
  notice?: { kind: "ok" | "error"; text: string };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function RoleSelect(props: { name: string; id: string; roles: string[]; value: string; blank?: boolean; label: string }) {
  return (
    <select id={props.id} name={props.name} aria-label={props.label}>
      {props.blank ? <option value="">—</option> : null}
      {props.roles.map((r) => (
        <option value={r} selected={r === props.value}>
          {r}
        </option>
      ))}
    </select>
  );
}

export function RolesPage(props: RolesPageProps) {
  const { tenant, roles, form, groups } = props;
  const base = `/admin/tenants/${tenant.slug}/roles`;
  const rows = [...form.rules, ...Array.from({ length: BLANK_RULES }, () => ({ group: "", role: "" }))];
  const known = new Set(groups.map((g) => g.id));
  return (
    <Layout title={`Roles · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="roles">
      {props.notice ? <Notice kind={props.notice.kind}>{props.notice.text}</Notice> : null}
      {props.preview ? (
        <Notice kind="ok">
          {props.preview.changes === 0
            ? "Preview: this mapping moves nobody. Save keeps every user's role."
            : `Preview: saving this mapping gives ${plural(props.preview.changes, "user")} another role: ${props.preview.moves.map((m) => `${m.from} → ${m.to}: ${m.users}`).join("; ")}. Nothing is saved yet.`}
        </Notice>
      ) : null}
      <section class="panel" aria-labelledby="roles-heading">
        <h2 id="roles-heading">Roles</h2>
        <p class="muted small">
          Every user has one role of TheStorage: the first rule below whose group holds the user; else a role your identity provider assigns in the user's <code>roles</code> (Okta
          entitlements from <code>/Roles</code>, Entra app roles); else the default role. Roles, lowest first: {roles.join(", ")}.
        </p>
        <p class="small">
          Users now: {roles.map((r) => `${r} ${props.counts[r] ?? 0}`).join(" · ")}
        </p>
        <form method="post" action={base}>
          <CsrfField token={props.ctx.csrfToken} />
          <div class="field">
            <label for="f-default">Default role</label>
            <RoleSelect id="f-default" name="default" roles={roles} value={form.default} label="Default role" />
          </div>
          <div class="table-wrap">
            <table>
              <caption class="muted small">Rules, in order: the first that matches decides.</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Members of group</th>
                  <th scope="col">get role</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((rule, i) => (
                  <tr>
                    <td>{i + 1}</td>
                    <td>
                      <select name="group" aria-label={`Rule ${i + 1}: group`}>
                        <option value="">—</option>
                        {rule.group && !known.has(rule.group) ? <option value={rule.group} selected>{rule.group}</option> : null}
                        {groups.map((g) => (
                          <option value={g.id} selected={g.id === rule.group}>
                            {g.displayName}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td>
                      <RoleSelect id={`f-role-${i}`} name="role" roles={roles} value={rule.role} blank label={`Rule ${i + 1}: role`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p class="muted small">
            {groups.length ? "To remove a rule, set its group to —. To reorder, change which group each row names." : "No groups yet: push groups from your identity provider (Okta: Push Groups) to map them to roles."}
          </p>
          <div class="actions">
            <button type="submit" class="secondary" formaction={`${base}/preview`}>
              Preview
            </button>
            <button type="submit">Save</button>
          </div>
        </form>
      </section>
    </Layout>
  );
}

/** The form as posted: parallel `group` / `role` fields, rows without a group dropped. */
async function postedForm(c: C): Promise<RolesForm> {
  const body = await c.req.parseBody({ all: true });
  const list = (v: unknown) => ([] as unknown[]).concat(v ?? []).map((x) => (typeof x === "string" ? x.trim() : ""));
  const groups = list(body.group);
  const roles = list(body.role);
  const rules = groups.map((group, i) => ({ group, role: roles[i] ?? "" })).filter((r) => r.group);
  return { default: typeof body.default === "string" ? body.default : "", rules };
}

async function render(c: C, tenant: TenantRef & { name: string }, form: RolesForm | null, extra: Pick<RolesPageProps, "preview" | "notice"> = {}, status: ContentfulStatusCode = 200) {
  const db = tenantDb(c.env, tenant);
  const catalogue = rolesOf(c.env);
  const [mapping, groups, counts] = await Promise.all([
    form ? null : readMapping(c.env, tenant),
    listGroups(db, tenant.id, { offset: 0, limit: GROUPS_LISTED }),
    usersPerRole(db, { tenantId: tenant.id, catalogueDefault: catalogue.defaultRole }),
  ]);
  const shown = form ?? { default: mapping!.default, rules: mapping!.rules.map((r) => ({ group: r.group, role: r.role })) };
  return c.html(
    <RolesPage ctx={pageCtx(c)} tenant={tenant} roles={catalogue.roles} form={shown} groups={groups.rows.map((g) => ({ id: g.id, displayName: g.displayName }))} counts={counts} {...extra} />,
    status,
  );
}

/** A refused mapping re-renders the form as posted, saying why (400). */
async function orRefused(c: C, tenant: TenantRef & { name: string }, form: RolesForm, action: () => Promise<Response>) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) return render(c, tenant, form, { notice: { kind: "error", text: error.detail } }, 400);
    throw error;
  }
}

export function registerRolePages(app: Hono<ConsoleEnv>) {
  const tenantOf = async (c: C) => {
    const row = await pathTenant(c);
    return { ...tenantRefOf(row), name: row.name };
  };

  app.get("/tenants/:slug/roles", async (c) => {
    const tenant = await tenantOf(c);
    const done = c.req.query("saved");
    return render(c, tenant, null, done !== undefined ? { notice: { kind: "ok", text: `Saved. ${plural(Number(done) || 0, "user")} changed role.` } } : {});
  });

  app.post("/tenants/:slug/roles/preview", async (c) => {
    const tenant = await tenantOf(c);
    const form = await postedForm(c);
    return orRefused(c, tenant, form, async () => render(c, tenant, form, { preview: await previewMapping(c.env, tenant, form) }));
  });

  app.post("/tenants/:slug/roles", async (c) => {
    const tenant = await tenantOf(c);
    const form = await postedForm(c);
    return orRefused(c, tenant, form, async () => {
      const saved = await saveMapping(c.env, tenant, form, { actor: consoleActor(c), ip: clientIp(c) });
      return c.redirect(`/admin/tenants/${tenant.slug}/roles?saved=${saved.changed}`, 303);
    });
  });
}

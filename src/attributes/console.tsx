/**
 * Console: Settings › Custom attributes (design.md §4f), for the operator and the customer's IT
 * admin: the tenant's definitions, one to add, and removal (which erases the values, so it asks
 * for a confirming tick).
 */
import type { Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ConsoleEnv } from "../console/routes";
import { consoleActor } from "../console/session";
import { CsrfField, Empty, Layout, Notice, pageCtx, type SignedInContext } from "../console/ui";
import { pathTenant } from "../routes/admin/path-tenant";
import { ApiError } from "../scim/errors";
import { clientIp } from "../services/auth-throttle";
import { CUSTOM_SCHEMA_ID, CUSTOM_TYPES, MAX_CUSTOM_ATTRIBUTES, type CustomAttribute } from "./core";
import { saveAttributes } from "./service";

type C = Context<ConsoleEnv>;

export function AttributesPage(props: {
  ctx: SignedInContext;
  tenant: { slug: string; name: string };
  attributes: CustomAttribute[];
  notice?: { kind: "ok" | "error"; text: string };
  draft?: { name: string; type: string; multiValued: boolean; description: string };
}) {
  const { tenant, attributes } = props;
  const base = `/admin/tenants/${tenant.slug}/attributes`;
  const draft = props.draft ?? { name: "", type: "string", multiValued: false, description: "" };
  return (
    <Layout title={`Custom attributes · ${tenant.name}`} ctx={props.ctx} tenant={tenant} tab="attributes">
      {props.notice ? <Notice kind={props.notice.kind}>{props.notice.text}</Notice> : null}
      <section class="panel" aria-labelledby="attributes-heading">
        <h2 id="attributes-heading">Custom attributes</h2>
        <p class="muted small">
          Attributes of your own for your users, in the SCIM extension schema <code class="mono">{CUSTOM_SCHEMA_ID}</code>, which your identity provider discovers at{" "}
          <code>/Schemas</code>. In Okta's Profile Editor, add each to the app's profile with <em>External name</em> = its name and <em>External namespace</em> = that
          schema. At most {MAX_CUSTOM_ATTRIBUTES}.
        </p>
        {attributes.length === 0 ? (
          <Empty title="No custom attributes yet">
            <p>Add one below, then map it in your identity provider.</p>
          </Empty>
        ) : (
          <form method="post" action={`${base}/remove`}>
            <CsrfField token={props.ctx.csrfToken} />
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Type</th>
                    <th scope="col">Description</th>
                    <th scope="col">Remove</th>
                  </tr>
                </thead>
                <tbody>
                  {attributes.map((a) => (
                    <tr>
                      <td class="mono">{a.name}</td>
                      <td>{`${a.type}${a.multiValued ? " (list)" : ""}`}</td>
                      <td class="small">{a.description ?? ""}</td>
                      <td>
                        <input type="checkbox" name="remove" value={a.name} aria-label={`Remove ${a.name}`} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p class="small">
              <label>
                <input type="checkbox" name="erase" value="1" required /> I understand that removing an attribute erases its values from every user (each gets a
                change event without it).
              </label>
            </p>
            <div class="actions">
              <button type="submit" class="danger">
                Remove selected
              </button>
            </div>
          </form>
        )}
      </section>
      <section class="panel" aria-labelledby="add-heading">
        <h2 id="add-heading">Add an attribute</h2>
        <form method="post" action={base}>
          <CsrfField token={props.ctx.csrfToken} />
          <div class="field">
            <label for="f-name">
              Name<span class="hint">A letter, then letters or digits (e.g. costCenter)</span>
            </label>
            <input id="f-name" name="name" type="text" value={draft.name} required pattern="[A-Za-z][A-Za-z0-9]{0,63}" />
          </div>
          <div class="field">
            <label for="f-type">Type</label>
            <select id="f-type" name="type">
              {CUSTOM_TYPES.map((t) => (
                <option value={t} selected={t === draft.type}>
                  {t}
                </option>
              ))}
            </select>
          </div>
          <p class="small">
            <label>
              <input type="checkbox" name="multiValued" value="1" checked={draft.multiValued} /> A list of values
            </label>
          </p>
          <div class="field">
            <label for="f-description">Description</label>
            <input id="f-description" name="description" type="text" value={draft.description} />
          </div>
          <div class="actions">
            <button type="submit">Add attribute</button>
          </div>
        </form>
      </section>
    </Layout>
  );
}

export function registerAttributePages(app: Hono<ConsoleEnv>) {
  const page = async (c: C, extra: { notice?: { kind: "ok" | "error"; text: string }; draft?: { name: string; type: string; multiValued: boolean; description: string } } = {}, status: ContentfulStatusCode = 200) => {
    const tenant = await pathTenant(c);
    return c.html(<AttributesPage ctx={pageCtx(c)} tenant={tenant} attributes={tenant.userAttributes} {...extra} />, status);
  };
  const save = async (c: C, next: (current: CustomAttribute[]) => unknown[], onRefused: (detail: string) => Promise<Response>, done: string) => {
    const tenant = await pathTenant(c);
    try {
      const saved = await saveAttributes(c.env, tenant.slug, { attributes: next(tenant.userAttributes) }, { actor: consoleActor(c), ip: clientIp(c) });
      const erased = saved.removed.length ? ` Values erased from ${saved.erasedFromUsers} user${saved.erasedFromUsers === 1 ? "" : "s"}.` : "";
      return c.redirect(`/admin/tenants/${tenant.slug}/attributes?done=${encodeURIComponent(done + erased)}`, 303);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) return onRefused(error.detail);
      throw error;
    }
  };

  app.get("/tenants/:slug/attributes", async (c) => {
    const done = c.req.query("done");
    return page(c, done ? { notice: { kind: "ok", text: done.slice(0, 200) } } : {});
  });

  app.post("/tenants/:slug/attributes", async (c) => {
    const body = await c.req.parseBody();
    const draft = {
      name: typeof body.name === "string" ? body.name.trim() : "",
      type: typeof body.type === "string" ? body.type : "",
      multiValued: body.multiValued === "1",
      description: typeof body.description === "string" ? body.description.trim() : "",
    };
    const added = { name: draft.name, type: draft.type, multiValued: draft.multiValued, ...(draft.description ? { description: draft.description } : {}) };
    return save(c, (current) => [...current, added], (detail) => page(c, { notice: { kind: "error", text: detail }, draft }, 400), `Added ${draft.name}.`);
  });

  app.post("/tenants/:slug/attributes/remove", async (c) => {
    const body = await c.req.parseBody({ all: true });
    const names = new Set(([] as unknown[]).concat(body.remove ?? []).filter((v): v is string => typeof v === "string"));
    if (!names.size) return page(c, { notice: { kind: "error", text: "Tick the attributes to remove." } }, 400);
    if (body.erase !== "1") return page(c, { notice: { kind: "error", text: "Confirm that their values are erased, then remove." } }, 400);
    return save(c, (current) => current.filter((a) => !names.has(a.name)), (detail) => page(c, { notice: { kind: "error", text: detail } }, 400), `Removed ${[...names].join(", ")}.`);
  });
}

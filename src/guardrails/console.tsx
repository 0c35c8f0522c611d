/**
 * Guardrails in the console (design.md §4g), for the operator and the customer's IT admin alike
 * (everything lives under Settings › User Provisioning, which a setup-link session may use):
 * the held-deactivations banner with its list and Release, the hold's settings, the connection's
 * health, and the live "Received GET /Users from Okta at 17:03:12" while the IdP is being set up.
 */
import type { Context, Hono } from "hono";
import type { ConsoleEnv } from "../console/routes";
import { consoleActor } from "../console/session";
import { CsrfField, Notice, Time, type SignedInContext } from "../console/ui";
import { pathTenant } from "../routes/admin/path-tenant";
import { clientIp } from "../services/auth-throttle";
import { tenantDb, tenantRefOf } from "../tenancy/tenant-db";
import type { TenantWithToken } from "../repo/control";
import { guardSettingsInput, heldBanner, providerName, type HealthState } from "./core";
import { heldSummary } from "../repo/guard";
import { healthOf, type HealthView } from "./health";
import { getGuard, getHeld, putGuard, releaseHeld, type GuardView, type HeldView } from "./service";

export interface GuardrailsView {
  held: HeldView;
  guard: GuardView;
  health: HealthView;
}

/** How many held users the banner lists (the admin API pages through all of them). */
const BANNER_LIST = 50;

export async function loadGuardrails(c: Context<ConsoleEnv>, tenant: TenantWithToken): Promise<GuardrailsView> {
  const ref = tenantRefOf(tenant);
  const [held, guard, health] = await Promise.all([
    getHeld(c.env, ref, tenant.token?.provider ?? null, { limit: BANNER_LIST, after: 0 }),
    getGuard(c.env, ref),
    healthOf(c.env, [tenant]).then((m) => m.get(tenant.id)!),
  ]);
  return { held, guard, health };
}

function base(slug: string) {
  return `/admin/tenants/${slug}/provisioning`;
}

/** On the tenant's other pages: the banner's headline, linking to the list and Release. */
export async function heldHeadline(c: Context<ConsoleEnv>, tenant: TenantWithToken) {
  const summary = await heldSummary(tenantDb(c.env, tenant), tenant.id);
  if (!summary.users) return null;
  return (
    <div class="notice warn" role="alert" id="held-headline">
      <strong>{heldBanner(summary, tenant.token?.provider)}</strong>. TheStorage keeps these people active until they are released:{" "}
      <a href={`${base(tenant.slug)}#held-banner`}>review and release</a>.
    </div>
  );
}

/** The banner: "Held: 214 deactivations from Okta in 3 minutes", who, and Release. */
export function HeldBanner(props: { ctx: SignedInContext; slug: string; held: HeldView }) {
  const { held } = props;
  if (!held.count && !held.tripped) return null;
  return (
    <section class="notice warn" role="alert" id="held-banner" aria-labelledby="held-heading">
      <h2 id="held-heading">{held.summary ?? "Deactivation hold tripped"}</h2>
      <p>
        The identity provider deactivated (or deleted) more people than the deactivation hold allows at once{held.trippedAt ? <> (since <Time at={held.trippedAt} />)</> : null}. The
        directory shows them as the identity provider says, but TheStorage keeps them signed in and active until you release the hold. If this was a mistake
        (a wrong group unassigned, a scoping filter saved wrong), fix it in the identity provider: each person it reactivates leaves this list. If it was meant,
        release.
      </p>
      {held.held.length ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Change</th>
                <th scope="col">At</th>
              </tr>
            </thead>
            <tbody>
              {held.held.map((h) => (
                <tr>
                  <td>
                    {h.type === "user.deleted" ? h.user.userName : <a href={`/admin/tenants/${props.slug}/users/${encodeURIComponent(h.user.id)}`}>{h.user.userName}</a>}
                  </td>
                  <td>{h.type === "user.deleted" ? "deleted" : "deactivated"}</td>
                  <td>
                    <Time at={h.occurredAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {held.count > held.held.length ? <p class="small">{`… and ${held.count - held.held.length} more (GET /admin/v1/tenants/${props.slug}/held lists them all).`}</p> : null}
      <form method="post" action={`${base(props.slug)}/held/release`}>
        <CsrfField token={props.ctx.csrfToken} />
        <button type="submit" class="danger" id="release-held">
          {`Release ${held.count} held deactivation${held.count === 1 ? "" : "s"}`}
        </button>{" "}
        <span class="small">TheStorage's app then signs them out and deactivates them, in the order the identity provider sent them.</span>
      </form>
    </section>
  );
}

const STATE_WORDS: Record<HealthState, { label: string; badge: string }> = {
  never_connected: { label: "Never connected", badge: "off" },
  healthy: { label: "Healthy", badge: "success" },
  failing: { label: "Failing", badge: "failure" },
  rejected_credentials: { label: "Rejected credentials", badge: "failure" },
};

export function HealthBadge(props: { health: HealthView | undefined }) {
  const words = STATE_WORDS[props.health?.state ?? "never_connected"];
  return <span class={`badge ${words.badge}`} data-health={props.health?.state ?? "never_connected"}>{words.label}</span>;
}

/** One line for the tenant list: what is wrong, if anything. */
export function healthLine(health: HealthView | undefined, provider: string | null): string | null {
  if (!health) return null;
  if (health.rejectedToken) return `${providerName(provider)} still uses token ${health.rejectedToken.tokenPrefix}… (last at ${health.rejectedToken.lastPresentedAt.slice(11, 19)} UTC), which no longer works.`;
  if (health.state === "failing") return `${Math.round((health.errorRate1h ?? 1) * 100)}% of the last hour's requests failed.`;
  return null;
}

export function HealthPanel(props: { health: HealthView; provider: string | null }) {
  const { health } = props;
  const problem = healthLine(health, props.provider);
  return (
    <section class="panel" aria-labelledby="health-heading" id="connection-health">
      <h2 id="health-heading">
        Connection health <HealthBadge health={health} />
      </h2>
      {problem ? <Notice kind="error">{problem}</Notice> : null}
      <dl class="props">
        <dt>Last request</dt>
        <dd>
          <Time at={health.lastRequestAt} empty="None yet" />
        </dd>
        <dt>Last success</dt>
        <dd>
          <Time at={health.lastSuccessAt} empty="None yet" />
        </dd>
        <dt>Errors, last hour</dt>
        <dd>{health.errorRate1h === null ? <span class="muted">No requests</span> : `${Math.round(health.errorRate1h * 1000) / 10}%`}</dd>
      </dl>
    </section>
  );
}

/** The live first-request line under the setup steps: polls until the first request arrives. */
export function FirstRequestLine(props: { slug: string; health: HealthView; provider: string | null }) {
  const first = props.health.firstRequest;
  if (first) {
    return (
      <p class="notice ok" id="first-request" role="status">
        {first.text}
      </p>
    );
  }
  return (
    <p class="notice warn" id="first-request" role="status" aria-live="polite" data-first-request-poll={`${base(props.slug)}/health.json`}>
      {`Waiting for the first request from ${providerName(props.provider)}… This line updates by itself when it arrives (run the test in ${providerName(props.provider)} now).`}
    </p>
  );
}

export function GuardPanel(props: { ctx: SignedInContext; slug: string; guard: GuardView; error?: string }) {
  const g = props.guard;
  return (
    <section class="panel" aria-labelledby="guard-heading" id="deactivation-hold">
      <h2 id="guard-heading">Deactivation hold</h2>
      <p class="muted small">
        When the identity provider deactivates or deletes more people within the window than the larger of the threshold and the percentage of active users,
        the rest are held: the directory follows the identity provider, but TheStorage keeps them active until someone releases them here. Turn it off to let
        every deactivation through at once.
      </p>
      {props.error ? <Notice kind="error">{props.error}</Notice> : null}
      <form method="post" action={`${base(props.slug)}/guard`}>
        <CsrfField token={props.ctx.csrfToken} />
        <div class="field">
          <label class="check">
            <input type="checkbox" id="f-guard-enabled" name="enabled" value="1" checked={g.enabled} /> Hold mass deactivations
          </label>
        </div>
        <div class="form-grid">
          <div class="field">
            <label for="f-guard-threshold">Threshold (people)</label>
            <input id="f-guard-threshold" name="threshold" type="number" min="1" value={String(g.threshold)} required />
          </div>
          <div class="field">
            <label for="f-guard-percent">Or % of active users</label>
            <input id="f-guard-percent" name="percent" type="number" min="1" max="100" value={String(g.percent)} required />
          </div>
          <div class="field">
            <label for="f-guard-window">Window (minutes)</label>
            <input id="f-guard-window" name="windowMinutes" type="number" min="1" max="1440" value={String(g.windowMinutes)} required />
          </div>
        </div>
        <button type="submit" class="secondary">
          Save
        </button>
      </form>
    </section>
  );
}

const NOTICES: Record<string, string> = {
  released: "Released: TheStorage's app now receives the held deactivations, in their original order.",
  partly: "Part of the held deactivations were released; release again for the rest.",
  guard: "Deactivation hold saved.",
};

export function guardrailsNotice(key: string | undefined): { kind: "ok"; text: string } | undefined {
  return key && NOTICES[key] ? { kind: "ok", text: NOTICES[key]! } : undefined;
}

/** Console routes, all under …/provisioning (so a setup-link session may use them). */
export function registerGuardrailsPages(app: Hono<ConsoleEnv>, render: (c: Context<ConsoleEnv>, slug: string, extra: { guardError?: string }, status: number) => Promise<Response>) {
  app.post("/tenants/:slug/provisioning/held/release", async (c) => {
    const tenant = await pathTenant(c);
    const result = await releaseHeld(c.env, tenantRefOf(tenant), { actor: consoleActor(c), ip: clientIp(c) });
    return c.redirect(`${base(tenant.slug)}?done=${result.remaining ? "partly" : "released"}`, 303);
  });

  app.post("/tenants/:slug/provisioning/guard", async (c) => {
    const tenant = await pathTenant(c);
    const body = await c.req.parseBody();
    const parsed = guardSettingsInput.safeParse({
      enabled: body.enabled === "1",
      threshold: Number(body.threshold),
      percent: Number(body.percent),
      windowMinutes: Number(body.windowMinutes),
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return render(c, tenant.slug, { guardError: `Nothing was saved: ${String(issue.path[0])} ${issue.message.toLowerCase()}.` }, 400);
    }
    await putGuard(c.env, tenantRefOf(tenant), parsed.data, { actor: consoleActor(c), ip: clientIp(c) });
    return c.redirect(`${base(tenant.slug)}?done=guard#deactivation-hold`, 303);
  });

  // The setup page's poll: the first request, once it has come (no reload needed).
  app.get("/tenants/:slug/provisioning/health.json", async (c) => {
    const tenant = await pathTenant(c);
    const health = (await healthOf(c.env, [tenant])).get(tenant.id)!;
    return c.json({ state: health.state, firstRequest: health.firstRequest }, 200, { "Cache-Control": "no-store" });
  });
}

/**
 * Console routes for the audit trail, tenant deletion and the users CSV export. Mounted inside
 * src/console/routes.tsx after its session and CSRF middleware, so every route here is signed in
 * and every POST carries a valid CSRF token.
 */
import { Hono } from "hono";
import { AUDIT_RETENTION_DAYS, retentionDays } from "../jobs/retention";
import { listAuditEvents } from "../repo/audit";
import { controlDb, getTenant } from "../repo/control";
import { clientIp } from "../services/auth-throttle";
import { deleteTenant } from "../services/tenant-lifecycle";
import { requireTenant } from "../services/tenants";
import { pathTenant, pathTenantRef } from "../routes/admin/path-tenant";
import { csvHeaders, exportUsers } from "../services/user-export";
import { tenantRefOf } from "../tenancy/tenant-db";
import { AUDIT_ACTIONS, AUDIT_PAGE_SIZE, AuditPage, type AuditPageFilters } from "./pages/audit";
import { DeleteTenantPage, TenantDeletedPage } from "./pages/delete-tenant";
import type { ConsoleEnv } from "./routes";
import { consoleActor } from "./session";
import { pageCtx } from "./ui";

export const lifecycleConsoleRoutes = new Hono<ConsoleEnv>();

lifecycleConsoleRoutes.get("/audit", async (c) => {
  const raw = Number(c.req.query("before"));
  const before = Number.isInteger(raw) && raw >= 1 ? raw : undefined;
  const outcome = c.req.query("outcome");
  const action = c.req.query("action") ?? "";
  const filters: AuditPageFilters = {
    tenant: (c.req.query("tenant") ?? "").trim().toLowerCase().slice(0, 100) || undefined,
    outcome: outcome === "success" || outcome === "failure" ? outcome : undefined,
    action: AUDIT_ACTIONS.includes(action) ? action : undefined,
  };
  const db = controlDb(c.env.CONTROL_DB);
  // A live tenant by its id (indexed); a deleted one by the slug its rows kept.
  const live = filters.tenant ? await getTenant(db, filters.tenant) : null;
  const rows = await listAuditEvents(db, {
    limit: AUDIT_PAGE_SIZE + 1,
    before,
    outcome: filters.outcome,
    action: filters.action,
    ...(live ? { tenantId: live.id } : filters.tenant ? { tenantSlug: filters.tenant } : {}),
  });
  return c.html(
    <AuditPage
      ctx={pageCtx(c)}
      events={rows.slice(0, AUDIT_PAGE_SIZE)}
      filters={filters}
      before={before}
      hasMore={rows.length > AUDIT_PAGE_SIZE}
      retentionDays={Math.max(AUDIT_RETENTION_DAYS, retentionDays(c.env))}
    />,
  );
});

lifecycleConsoleRoutes.get("/tenants/:slug/users/export", async (c) => {
  const tenant = await pathTenantRef(c);
  return c.body(await exportUsers(c.env, tenant, consoleActor(c), clientIp(c)), 200, csvHeaders(tenant.slug));
});

lifecycleConsoleRoutes.get("/tenants/:slug/delete", async (c) => {
  const tenant = await pathTenant(c);
  return c.html(<DeleteTenantPage ctx={pageCtx(c)} tenant={tenant} />);
});

lifecycleConsoleRoutes.post("/tenants/:slug/delete", async (c) => {
  // Not pathTenant: a tenant being erased is not handed to the after-write dispatch.
  const tenant = await requireTenant(c.env.CONTROL_DB, c.req.param("slug"));
  const ctx = pageCtx(c);
  const typed = String((await c.req.parseBody()).confirm ?? "").trim();
  if (typed !== tenant.slug) {
    const error = typed ? `“${typed}” is not this tenant's slug. Type ${tenant.slug} exactly to delete it.` : `Type ${tenant.slug} to confirm.`;
    return c.html(<DeleteTenantPage ctx={ctx} tenant={tenant} typed={typed} error={error} />, 400);
  }
  const state = await deleteTenant(c.env, tenantRefOf(tenant), consoleActor(c), clientIp(c), (work) => c.executionCtx.waitUntil(work));
  return c.html(<TenantDeletedPage ctx={ctx} slug={tenant.slug} finished={state === "erased"} />);
});

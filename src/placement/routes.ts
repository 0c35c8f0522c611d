/** Admin API: moving a tenant to another tenant D1 database and its progress (design.md §4h Placement). */
import { readJsonObject } from "../lib/respond";
import { parseInput } from "../lib/validate";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "../routes/admin/openapi";
import { clientIp } from "../services/auth-throttle";
import { requireTenantRef } from "../services/tenants";
import { currentMove, moveView, startMove } from "./service";

export const placementRoutes = createAdminRouter();

const MoveInput = z.object({ database: z.string().min(1).max(80) }).strict().openapi("MoveTenant", { example: { database: "TENANT_ACME" } });

const Move = z
  .object({
    id: z.string(),
    tenant: z.string(),
    from: z.string(),
    to: z.string(),
    state: z.enum(["preparing", "copying", "catching_up", "frozen", "switched", "erasing", "done", "rolling_back", "failed"]),
    progress: z.object({ rowsTotal: z.number().int(), rowsCopied: z.number().int(), changesApplied: z.number().int(), rowsErased: z.number().int(), percent: z.number().int() }),
    startedAt: z.string(),
    updatedAt: z.string(),
    frozenAt: z.string().nullable(),
    switchedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    writesRefusedMs: z.number().int().nullable(),
    error: z.string().nullable(),
  })
  .openapi("TenantMove");

const NoMove = z.object({ tenant: z.string(), state: z.literal("none"), database: z.string() }).openapi("NoTenantMove");

adminRoute(
  placementRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/move",
    summary: "Move the tenant to another tenant D1 database",
    description:
      "Copies every row of the tenant to the named database while its reads and writes keep being served, then refuses its writes (429 with Retry-After) for the final catch-up, switches the tenant to the new database, and erases its rows from the old one. Progress: GET …/move.",
    tags: ["Tenants"],
    request: { params: SlugParam, body: { required: true, content: { "application/json": { schema: MoveInput } } } },
    responses: { 202: json(Move, "The move started"), ...errors(400, 404, 409) },
  }),
  async (c) => {
    const tenant = await requireTenantRef(c.env.CONTROL_DB, c.req.param("slug")!);
    const input = parseInput(MoveInput, await readJsonObject(c));
    const move = await startMove(c.env, tenant, input.database, c.get("adminActor"), clientIp(c));
    return c.json(moveView(move), 202, { Location: `/admin/v1/tenants/${tenant.slug}/move` });
  },
);

adminRoute(
  placementRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/move",
    summary: "The tenant's latest move and its progress",
    tags: ["Tenants"],
    request: { params: SlugParam },
    responses: { 200: json(z.union([Move, NoMove]), "The latest move, or state 'none' for a tenant never moved"), ...errors(404) },
  }),
  async (c) => {
    const tenant = await requireTenantRef(c.env.CONTROL_DB, c.req.param("slug")!);
    const move = await currentMove(c.env, tenant);
    return c.json(move ? moveView(move) : { tenant: tenant.slug, state: "none" as const, database: tenant.database });
  },
);

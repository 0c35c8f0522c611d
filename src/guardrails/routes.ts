/** Admin API: the deactivation hold (design.md §4g). The logic lives in src/guardrails/service.ts, shared with the console. */
import { readJsonObject } from "../lib/respond";
import { parseInput } from "../lib/validate";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "../routes/admin/openapi";
import { pathTenant } from "../routes/admin/path-tenant";
import { clientIp } from "../services/auth-throttle";
import { tenantRefOf } from "../tenancy/tenant-db";
import { guardSettingsInput } from "./core";
import { getGuard, getHeld, heldQuery, putGuard, releaseHeld } from "./service";

const GuardSettingsBody = guardSettingsInput.meta({ id: "GuardSettings", example: { enabled: true, threshold: 50, percent: 10, windowMinutes: 10 } });

const Guard = z
  .object({
    enabled: z.boolean(),
    threshold: z.number().int(),
    percent: z.number().int(),
    windowMinutes: z.number().int(),
    tripped: z.boolean().openapi({ description: "True while deactivations are held (until released)." }),
    trippedAt: z.string().nullable(),
    activeUsers: z.number().int(),
    held: z.number().int().openapi({ description: "Held deactivations and deletions." }),
  })
  .openapi("Guard");

const Held = z
  .object({
    tripped: z.boolean(),
    trippedAt: z.string().nullable(),
    summary: z.string().nullable().openapi({ example: "Held: 214 deactivations from Okta in 3 minutes" }),
    count: z.number().int(),
    firstAt: z.string().nullable(),
    lastAt: z.string().nullable(),
    held: z.array(
      z.object({
        eventId: z.string(),
        type: z.string().openapi({ description: "`user.deactivated` or `user.deleted`" }),
        occurredAt: z.string(),
        user: z.object({ id: z.string(), userName: z.string().nullable(), displayName: z.string().nullable() }),
      }),
    ),
    nextCursor: z.number().int().nullable(),
  })
  .openapi("HeldDeactivations");

export const guardRoutes = createAdminRouter();

adminRoute(
  guardRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/guard",
    summary: "The deactivation hold's settings and state",
    tags: ["Guardrails"],
    request: { params: SlugParam },
    responses: { 200: json(Guard, "Settings and state"), ...errors(404) },
  }),
  async (c) => c.json(await getGuard(c.env, tenantRefOf(await pathTenant(c)))),
);

adminRoute(
  guardRoutes,
  createRoute({
    method: "put",
    path: "/tenants/{slug}/guard",
    summary: "Set the deactivation hold (enabled, threshold, percent, windowMinutes)",
    tags: ["Guardrails"],
    request: { params: SlugParam, body: { required: true, content: { "application/json": { schema: GuardSettingsBody } } } },
    responses: { 200: json(Guard, "The settings now in force"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenant(c);
    const input = parseInput(GuardSettingsBody, await readJsonObject(c));
    return c.json(await putGuard(c.env, tenantRefOf(tenant), input, { actor: c.get("adminActor"), ip: clientIp(c) }));
  },
);

adminRoute(
  guardRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/held",
    summary: "Deactivations and deletions held by the guard, oldest first",
    tags: ["Guardrails"],
    request: { params: SlugParam, query: heldQuery },
    responses: { 200: json(Held, "The held list"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenant(c);
    const query = parseInput(heldQuery, c.req.query());
    return c.json(await getHeld(c.env, tenantRefOf(tenant), tenant.token?.provider ?? tenant.previous?.provider ?? null, query));
  },
);

adminRoute(
  guardRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/held/release",
    summary: "Release the held deactivations: their change events enter the feed and go to webhooks, in original order",
    tags: ["Guardrails"],
    request: { params: SlugParam },
    responses: {
      200: json(z.object({ released: z.number().int(), remaining: z.number().int() }).openapi("Released"), "Released; the guard is reset"),
      202: json(z.object({ released: z.number().int(), remaining: z.number().int() }), "Part released: call again for the rest"),
      ...errors(404),
    },
  }),
  async (c) => {
    const tenant = await pathTenant(c);
    const result = await releaseHeld(c.env, tenantRefOf(tenant), { actor: c.get("adminActor"), ip: clientIp(c) });
    return c.json(result, result.remaining ? 202 : 200);
  },
);

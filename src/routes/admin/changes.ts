/** Admin API: the change feed (design.md §4b); the logic and cursor semantics are in src/services/changes.ts. */
import { parseInput } from "../../lib/validate";
import { changesQuery, readChanges } from "../../services/changes";
import { pathTenantRef } from "./path-tenant";
import { CHANGE_EVENT_TYPES } from "../../events/catalogue";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "./openapi";

const Change = z
  .object({
    id: z.string().openapi({ description: "`evt_<32 hex>`, equal to the webhook-id of its deliveries.", example: "evt_0123456789abcdef0123456789abcdef" }),
    type: z.enum(CHANGE_EVENT_TYPES),
    occurredAt: z.string(),
    data: z.record(z.string(), z.unknown()).openapi({ description: "`tenant` (slug), `version`, and `user`, `group`, both (membership events) or `connection`." }),
  })
  .openapi("ChangeEvent");

const ChangesPage = z
  .object({
    data: z.array(Change),
    nextCursor: z
      .string()
      .nullable()
      .openapi({ description: "Pass as `after` for the next page; equals `after` when nothing is newer; null only when there are no events and no `after` was given." }),
  })
  .openapi("ChangesPage");

export const adminChangeRoutes = createAdminRouter();

adminRoute(
  adminChangeRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/changes",
    summary: "The change feed: committed changes, oldest first, after a cursor",
    tags: ["Change events"],
    request: { params: SlugParam, query: changesQuery },
    responses: { 200: json(ChangesPage, "A page of change events; empty when nothing is newer"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const query = parseInput(changesQuery, c.req.query());
    return c.json(await readChanges(c.env, tenant, query));
  },
);

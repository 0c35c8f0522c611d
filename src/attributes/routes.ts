/** Admin API: a tenant's custom user attributes (design.md §4f). */
import { readJsonObject } from "../lib/respond";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "../routes/admin/openapi";
import { pathTenant } from "../routes/admin/path-tenant";
import { clientIp } from "../services/auth-throttle";
import { CUSTOM_TYPES, MAX_CUSTOM_ATTRIBUTES } from "./core";
import { readAttributes, saveAttributes } from "./service";

const Attribute = z
  .object({
    name: z.string().openapi({ description: "`^[A-Za-z][A-Za-z0-9]{0,63}$`, unique case-insensitively." }),
    type: z.enum(CUSTOM_TYPES),
    multiValued: z.boolean().optional(),
    description: z.string().optional(),
  })
  .openapi("CustomAttribute");

const Definitions = z
  .object({ schema: z.string().openapi({ description: "The extension schema URN the attributes live in, in SCIM and in /Schemas." }), attributes: z.array(Attribute) })
  .openapi("CustomAttributes");

export const attributeRoutes = createAdminRouter();

adminRoute(
  attributeRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/attributes",
    summary: "A tenant's custom user attributes",
    tags: ["Attributes"],
    request: { params: SlugParam },
    responses: { 200: json(Definitions, "The definitions"), ...errors(404) },
  }),
  async (c) => c.json(await readAttributes(c.env, c.req.param("slug")!)),
);

adminRoute(
  attributeRoutes,
  createRoute({
    method: "put",
    path: "/tenants/{slug}/attributes",
    summary: `Replace a tenant's custom user attributes (at most ${MAX_CUSTOM_ATTRIBUTES}); a removed one's values are erased from every user (audited)`,
    tags: ["Attributes"],
    request: { params: SlugParam, body: { content: { "application/json": { schema: z.object({ attributes: z.array(Attribute) }).openapi("CustomAttributesInput") } } } },
    responses: {
      200: json(
        Definitions.extend({
          added: z.array(z.string()),
          removed: z.array(z.string()),
          erasedFromUsers: z.number().int().openapi({ description: "Users who held a value of a removed attribute: it was erased, and each got a user.updated event." }),
        }),
        "Saved",
      ),
      ...errors(400, 404),
    },
  }),
  async (c) => {
    await pathTenant(c);
    return c.json(await saveAttributes(c.env, c.req.param("slug")!, await readJsonObject(c), { actor: c.get("adminActor"), ip: clientIp(c) }));
  },
);

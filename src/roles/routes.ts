/** Admin API: a tenant's role mapping (design.md §4f), its preview, and the deployment's catalogue. */
import { readJsonObject } from "../lib/respond";
import { pathTenantRef } from "../routes/admin/path-tenant";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "../routes/admin/openapi";
import { clientIp } from "../services/auth-throttle";
import { previewMapping, readMapping, saveMapping } from "./service";

const Rule = z.object({ group: z.string().openapi({ description: "The SCIM id of one of the tenant's groups." }), role: z.string() });

const MappingBody = z
  .object({
    default: z.string().optional().openapi({ description: "The tenant's default role (a catalogue role); the deployment's DEFAULT_ROLE when absent." }),
    rules: z.array(Rule).optional().openapi({ description: "In order: the first rule whose group holds a user gives that user its role. At most 100." }),
  })
  .openapi("RoleMappingInput", { example: { default: "viewer", rules: [{ group: "8b1f0c1e-…", role: "admin" }] } });

const Mapping = z
  .object({
    roles: z.array(z.string()).openapi({ description: "The deployment's role catalogue, lowest first ([vars] ROLES)." }),
    default: z.string(),
    rules: z.array(Rule.extend({ groupName: z.string().nullable() })),
  })
  .openapi("RoleMapping");

const Preview = z
  .object({
    changes: z.number().int().openapi({ description: "How many users the mapping would give another role." }),
    moves: z.array(z.object({ from: z.string(), to: z.string(), users: z.number().int() })),
  })
  .openapi("RoleMappingPreview");

export const roleMappingRoutes = createAdminRouter();

adminRoute(
  roleMappingRoutes,
  createRoute({
    method: "get",
    path: "/tenants/{slug}/role-mappings",
    summary: "A tenant's role mapping (and the role catalogue)",
    tags: ["Roles"],
    request: { params: SlugParam },
    responses: { 200: json(Mapping, "The mapping"), ...errors(404) },
  }),
  async (c) => c.json(await readMapping(c.env, await pathTenantRef(c))),
);

adminRoute(
  roleMappingRoutes,
  createRoute({
    method: "put",
    path: "/tenants/{slug}/role-mappings",
    summary: "Replace a tenant's role mapping; every user's role is recomputed (audited)",
    tags: ["Roles"],
    request: { params: SlugParam, body: { content: { "application/json": { schema: MappingBody } } } },
    responses: { 200: json(Mapping.extend({ changed: z.number().int().openapi({ description: "Users whose role changed." }) }), "Saved"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    return c.json(await saveMapping(c.env, tenant, await readJsonObject(c), { actor: c.get("adminActor"), ip: clientIp(c) }));
  },
);

adminRoute(
  roleMappingRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/role-mappings/preview",
    summary: "How many users a role mapping would move, before saving it (nothing is written)",
    tags: ["Roles"],
    request: { params: SlugParam, body: { content: { "application/json": { schema: MappingBody } } } },
    responses: { 200: json(Preview, "The users the mapping would move, by role"), ...errors(400, 404) },
  }),
  async (c) => c.json(await previewMapping(c.env, await pathTenantRef(c), await readJsonObject(c))),
);

/** Admin API: single-use setup links that open the console scoped to one tenant for its IT admin. */
import { publicOrigin } from "../../lib/hono";
import { readJsonObject } from "../../lib/respond";
import { parseInput } from "../../lib/validate";
import { clientIp } from "../../services/auth-throttle";
import { createSetupLink, createSetupLinkInput, DEFAULT_MINUTES, MAX_MINUTES, MAX_RETURN_URL } from "../../services/setup-links";
import { pathTenantRef } from "./path-tenant";
import { adminRoute, createAdminRouter, createRoute, errors, json, SlugParam, z } from "./openapi";

const SetupLinkRequest = z
  .object({
    expiresInMinutes: z.number().int().min(1).max(MAX_MINUTES).optional().openapi({ description: `Minutes until the link expires (default ${DEFAULT_MINUTES}).`, example: 15 }),
    returnUrl: z.string().max(MAX_RETURN_URL).optional().openapi({ description: 'Shown as "Back to TheStorage" in the scoped console. https://, or http:// to localhost / 127.0.0.1.', example: "https://app.thestorage.example/settings" }),
  })
  .openapi("SetupLinkRequest");

const SetupLink = z
  .object({
    url: z.string().openapi({ description: "Single use; opens the console for this tenant alone. Shown only here." }),
    expiresAt: z.string(),
  })
  .openapi("SetupLink");

export const setupLinkRoutes = createAdminRouter();

adminRoute(
  setupLinkRoutes,
  createRoute({
    method: "post",
    path: "/tenants/{slug}/setup-links",
    summary: "Create a single-use setup link for the tenant's IT admin",
    tags: ["Setup links"],
    request: { params: SlugParam, body: { required: false, content: { "application/json": { schema: SetupLinkRequest } } } },
    responses: { 201: json(SetupLink, "The link (its secret is not kept: copy it now)"), ...errors(400, 404) },
  }),
  async (c) => {
    const tenant = await pathTenantRef(c);
    const input = parseInput(createSetupLinkInput, await readJsonObject(c, { allowEmpty: true }));
    const link = await createSetupLink(c.env, tenant, input, { actor: c.get("adminActor"), ip: clientIp(c) }, publicOrigin(c.env, c.req.url));
    return c.json({ url: link.url, expiresAt: link.expiresAt }, 201, { "Cache-Control": "no-store" });
  },
);

/** `/Roles` (read-only): the role catalogue as SCIM resources, for Okta's entitlement discovery. */
import { createRouter } from "../lib/hono";
import { scimContext } from "../routes/scim/context";
import { listPageResponse, queryParams, resourceResponse, searchPage } from "../routes/scim/respond";
import { notFound } from "../scim/errors";
import { compileMatcher } from "../scim/filter/evaluate";
import { parseFilter } from "../scim/filter/parse";
import { rolesOf } from "./config";
import { ROLE_RESOURCE, roleResources } from "./scim";

export const roleScimRoutes = createRouter();

roleScimRoutes.get("/", (c) => {
  const params = queryParams(c);
  const all = roleResources(rolesOf(c.env), scimContext(c).baseUrl) as unknown as Record<string, unknown>[];
  const matching = params.filter ? all.filter(compileMatcher(parseFilter(params.filter), ROLE_RESOURCE)) : all;
  const page = matching.slice(params.startIndex - 1, params.startIndex - 1 + params.count);
  return listPageResponse(c, searchPage(page, ROLE_RESOURCE, params, matching.length), params);
});

roleScimRoutes.get("/:id", (c) => {
  const id = c.req.param("id");
  const found = roleResources(rolesOf(c.env), scimContext(c).baseUrl).find((r) => r.id.toLowerCase() === id.toLowerCase());
  if (!found) throw notFound(`There is no role '${id}'. GET /Roles lists the roles of this deployment.`);
  // The catalogue changes only with a deploy: version 1, like every role.
  return resourceResponse(c, found as unknown as Record<string, unknown>, ROLE_RESOURCE, 1);
});


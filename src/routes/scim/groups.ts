/** /Groups: an empty list until group provisioning lands (Okta's Test API Credentials calls it). */
import { createRouter } from "../../lib/hono";
import { scimJson } from "../../lib/respond";
import { listResponse, parseListParams } from "../../scim/list";

export const groupRoutes = createRouter();

groupRoutes.get("/", (c) => {
  const params = parseListParams(Object.fromEntries(new URL(c.req.url).searchParams));
  return scimJson(c, listResponse([], 0, params.startIndex));
});

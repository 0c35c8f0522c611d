/**
 * Discovery (RFC 7644 §4): /ServiceProviderConfig, /ResourceTypes and /Schemas, read-only; and /Me
 * (§3.11), which this server does not implement because its tokens belong to a tenant, not a user.
 * Served behind the same token auth as every other SCIM route. Query parameters are ignored, except
 * that a `filter` is refused with 403 as §4 recommends, so a client never assumes it matched.
 */
import type { Context } from "hono";
import type { AppEnv } from "../../lib/hono";
import { createRouter } from "../../lib/hono";
import { scimJson } from "../../lib/respond";
import {
  findResourceTypeDocument,
  findSchemaDocument,
  resourceTypeDocuments,
  schemaDocuments,
  serviceProviderConfig,
} from "../../scim/discovery";
import { ApiError, notFound } from "../../scim/errors";
import { listResponse } from "../../scim/list";
import { scimContext } from "./context";
import { servedTypes } from "./served-types";

export const discoveryRoutes = createRouter();

function baseUrlOf(c: Context<AppEnv>): string {
  if (new URL(c.req.url).searchParams.has("filter")) {
    throw new ApiError(403, "Discovery endpoints do not support filtering (RFC 7644 §4); request the whole document without 'filter'.");
  }
  return scimContext(c).baseUrl;
}

const readOnly = (c: Context<AppEnv>) => {
  throw new ApiError(405, `${c.req.method} is not allowed on ${c.req.path.replace(/^.*\/scim\/v2/, "")}: discovery documents are read-only; use GET.`, {
    headers: { Allow: "GET" },
  });
};

const noMe = () => {
  throw new ApiError(
    501,
    "/Me is not implemented: there is no user-bound token here. SCIM tokens belong to the tenant, not to a user, so there is no authenticated subject for /Me to resolve.",
  );
};

discoveryRoutes.get("/ServiceProviderConfig", (c) => scimJson(c, serviceProviderConfig(baseUrlOf(c))));

discoveryRoutes.get("/ResourceTypes", async (c) => {
  const documents = resourceTypeDocuments(baseUrlOf(c), await servedTypes(c));
  return scimJson(c, listResponse(documents, documents.length, 1));
});

discoveryRoutes.get("/ResourceTypes/:name", async (c) => {
  const name = c.req.param("name");
  const document = findResourceTypeDocument(name, baseUrlOf(c), await servedTypes(c));
  if (!document) throw notFound(`There is no resource type '${name}'. This server serves User, Group and Role.`);
  return scimJson(c, document);
});

discoveryRoutes.get("/Schemas", async (c) => {
  const documents = schemaDocuments(baseUrlOf(c), await servedTypes(c));
  return scimJson(c, listResponse(documents, documents.length, 1));
});

discoveryRoutes.get("/Schemas/:urn", async (c) => {
  const urn = c.req.param("urn");
  const document = findSchemaDocument(urn, baseUrlOf(c), await servedTypes(c));
  if (!document) throw notFound(`There is no schema '${urn}'. GET /Schemas lists the schemas this server serves.`);
  return scimJson(c, document);
});

for (const path of ["/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/:name", "/Schemas", "/Schemas/:urn"]) {
  discoveryRoutes.all(path, readOnly);
}

discoveryRoutes.all("/Me", noMe);
discoveryRoutes.all("/Me/*", noMe);

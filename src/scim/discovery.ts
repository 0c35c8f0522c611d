/**
 * The discovery documents (RFC 7644 §4): `/ServiceProviderConfig` (RFC 7643 §5), `/ResourceTypes`
 * (§6) and `/Schemas` (§7), built from the attribute tables in ./schema so that they describe
 * exactly what this server round-trips. Every builder takes `baseUrl`, the tenant's `…/scim/v2`,
 * for `meta.location`.
 *
 * Deliberately absent: `password` (not in the schema: never stored, never returned; Entra's
 * validator builds password tests from whatever /Schemas advertises) and sub-attributes the server
 * drops (see NOT_ROUND_TRIPPED).
 */
import { BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD, MAX_PAGE_SIZE } from "./limits";
import { RESOURCE_TYPES, SCHEMA, type AttributeDef, type ResourceTypeDef, type SchemaDef } from "./schema";

export interface AttributeDocument {
  name: string;
  type: AttributeDef["type"];
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: AttributeDef["mutability"];
  returned: AttributeDef["returned"];
  uniqueness: AttributeDef["uniqueness"];
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDocument[];
}

export interface SchemaDocument {
  schemas: [typeof SCHEMA.schema];
  id: string;
  name: string;
  description: string;
  attributes: AttributeDocument[];
  meta: { resourceType: "Schema"; location: string };
}

export interface ResourceTypeDocument {
  schemas: [typeof SCHEMA.resourceType];
  id: string;
  name: string;
  description: string;
  endpoint: string;
  schema: string;
  schemaExtensions?: { schema: string; required: boolean }[];
  meta: { resourceType: "ResourceType"; location: string };
}

const lower = (s: string) => s.toLowerCase();

/**
 * Sub-attributes in ./schema that a stored resource never carries, as `<schema urn>:<attribute>.<sub>`
 * (lower-cased). `manager.displayName` is read-only, so input drops it, and nothing fills it in.
 */
const NOT_ROUND_TRIPPED = new Set([lower(`${SCHEMA.enterpriseUser}:manager.displayName`)]);

function attributeDocument(attribute: AttributeDef, schemaId: string, parent?: string): AttributeDocument {
  const doc: AttributeDocument = {
    name: attribute.name,
    type: attribute.type,
    multiValued: attribute.multiValued,
    description: attribute.description,
    required: attribute.required,
    caseExact: attribute.caseExact,
    mutability: attribute.mutability,
    returned: attribute.returned,
    uniqueness: attribute.uniqueness,
  };
  if (attribute.canonicalValues?.length) doc.canonicalValues = [...attribute.canonicalValues];
  if (attribute.referenceTypes?.length) doc.referenceTypes = [...attribute.referenceTypes];
  // RFC 7643 §7 gives every reference its referenceTypes; the one schema.ts leaves bare
  // (photos.value, from the shared multi-valued helper) is a URL to an external resource.
  else if (attribute.type === "reference") doc.referenceTypes = ["external"];
  if (attribute.type === "complex" && attribute.subAttributes?.length && parent === undefined) {
    doc.subAttributes = attribute.subAttributes
      .filter((sub) => !NOT_ROUND_TRIPPED.has(lower(`${schemaId}:${attribute.name}.${sub.name}`)))
      .map((sub) => attributeDocument(sub, schemaId, attribute.name));
  }
  return doc;
}

/** One `/Schemas/{id}` document (RFC 7643 §7). */
export function schemaDocument(schema: SchemaDef, baseUrl: string): SchemaDocument {
  return {
    schemas: [SCHEMA.schema],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.filter((a) => lower(a.name) !== "password").map((a) => attributeDocument(a, schema.id)),
    meta: { resourceType: "Schema", location: `${baseUrl}/Schemas/${schema.id}` },
  };
}

/**
 * The resource types a tenant's discovery documents describe: User (with that tenant's extension
 * schemas), Group, and what the server adds (Role); the built-in two when not given.
 */
export type ServedTypes = readonly ResourceTypeDef[];

/** Every schema the resource types use, core schemas first, each once. */
function servedSchemas(types: ServedTypes): SchemaDef[] {
  const seen = new Map<string, SchemaDef>();
  for (const type of types) {
    for (const schema of [type.schema, ...type.extensions]) if (!seen.has(schema.id)) seen.set(schema.id, schema);
  }
  return [...seen.values()];
}

/** The `/Schemas` documents, in a stable order: User, EnterpriseUser, Group. */
export function schemaDocuments(baseUrl: string, types: ServedTypes = RESOURCE_TYPES): SchemaDocument[] {
  return servedSchemas(types).map((schema) => schemaDocument(schema, baseUrl));
}

/** `/Schemas/{urn}`, the URN matched case-insensitively; undefined for a schema this server does not serve. */
export function findSchemaDocument(urn: string, baseUrl: string, types: ServedTypes = RESOURCE_TYPES): SchemaDocument | undefined {
  const schema = servedSchemas(types).find((s) => lower(s.id) === lower(urn.trim()));
  return schema ? schemaDocument(schema, baseUrl) : undefined;
}

/** One `/ResourceTypes/{name}` document (RFC 7643 §6). */
export function resourceTypeDocument(type: ResourceTypeDef, baseUrl: string): ResourceTypeDocument {
  return {
    schemas: [SCHEMA.resourceType],
    id: type.name,
    name: type.name,
    description: type.description,
    endpoint: type.endpoint,
    schema: type.schema.id,
    ...(type.extensions.length ? { schemaExtensions: type.extensions.map((e) => ({ schema: e.id, required: false })) } : {}),
    meta: { resourceType: "ResourceType", location: `${baseUrl}/ResourceTypes/${type.name}` },
  };
}

export function resourceTypeDocuments(baseUrl: string, types: ServedTypes = RESOURCE_TYPES): ResourceTypeDocument[] {
  return types.map((type) => resourceTypeDocument(type, baseUrl));
}

/** `/ResourceTypes/{name}`, the name matched case-insensitively; undefined for an unknown one. */
export function findResourceTypeDocument(name: string, baseUrl: string, types: ServedTypes = RESOURCE_TYPES): ResourceTypeDocument | undefined {
  const type = types.find((t) => lower(t.name) === lower(name.trim()));
  return type ? resourceTypeDocument(type, baseUrl) : undefined;
}

/** `/ServiceProviderConfig` (RFC 7643 §5). */
export function serviceProviderConfig(baseUrl: string) {
  return {
    schemas: [SCHEMA.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: BULK_MAX_PAYLOAD },
    filter: { supported: true, maxResults: MAX_PAGE_SIZE },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "OAuth Bearer Token",
        description: "Authentication with the tenant's SCIM bearer token (Authorization: Bearer tsscim_…).",
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${baseUrl}/ServiceProviderConfig` },
  };
}

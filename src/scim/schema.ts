/**
 * SCIM schema definitions (RFC 7643 §2.2, §4, §7): the single description of every attribute this
 * server stores and returns. The input sanitiser, the PATCH engine, the filter compiler, projection
 * (`attributes`/`excludedAttributes`) and the `/Schemas` discovery document all read these tables,
 * so an attribute exists here if and only if the server round-trips it.
 */
import { IDENTIFIER_RULE } from "./limits";

export type AttributeType = "string" | "boolean" | "decimal" | "integer" | "dateTime" | "reference" | "complex";
export type Mutability = "readOnly" | "readWrite" | "immutable" | "writeOnly";
export type Returned = "always" | "never" | "default" | "request";
export type Uniqueness = "none" | "server" | "global";

export interface AttributeDef {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: Uniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
  /** A name that identifies the resource (userName, displayName, externalId): held to IDENTIFIER_RULE. */
  identifier?: boolean;
}

export interface SchemaDef {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDef[];
}

export const SCHEMA = {
  user: "urn:ietf:params:scim:schemas:core:2.0:User",
  enterpriseUser: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
  group: "urn:ietf:params:scim:schemas:core:2.0:Group",
  listResponse: "urn:ietf:params:scim:api:messages:2.0:ListResponse",
  error: "urn:ietf:params:scim:api:messages:2.0:Error",
  patchOp: "urn:ietf:params:scim:api:messages:2.0:PatchOp",
  searchRequest: "urn:ietf:params:scim:api:messages:2.0:SearchRequest",
  bulkRequest: "urn:ietf:params:scim:api:messages:2.0:BulkRequest",
  bulkResponse: "urn:ietf:params:scim:api:messages:2.0:BulkResponse",
  serviceProviderConfig: "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
  resourceType: "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
  schema: "urn:ietf:params:scim:schemas:core:2.0:Schema",
} as const;

type Options = Partial<Omit<AttributeDef, "name" | "type" | "description">>;

function attr(name: string, type: AttributeType, description: string, options: Options = {}): AttributeDef {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: "readWrite",
    returned: "default",
    uniqueness: "none",
    ...options,
  };
}

const str = (name: string, description: string, options: Options = {}) => attr(name, "string", description, options);
/** A string that names the resource; its description states the rule it is held to. */
const identifier = (name: string, description: string, options: Options = {}) => str(name, `${description} ${IDENTIFIER_RULE}`, { ...options, identifier: true });

/** The sub-attributes shared by the RFC 7643 §4.1.2 multi-valued attributes (emails, phoneNumbers, ...). */
function multiValued(name: string, description: string, valueType: AttributeType, types: string[], extra: AttributeDef[] = []): AttributeDef {
  return attr(name, "complex", description, {
    multiValued: true,
    subAttributes: [
      attr("value", valueType, `The ${name} value.`),
      str("display", "A human-readable name, primarily used for display purposes.", { mutability: "readWrite" }),
      str("type", `A label indicating the attribute's function.`, { canonicalValues: types }),
      attr("primary", "boolean", "Indicates the 'primary' or preferred attribute value for this attribute."),
      ...extra,
    ],
  });
}

const meta = attr("meta", "complex", "Resource metadata.", {
  mutability: "readOnly",
  subAttributes: [
    str("resourceType", "The name of the resource type of the resource.", { mutability: "readOnly", caseExact: true }),
    attr("created", "dateTime", "The date and time the resource was added to the service provider.", { mutability: "readOnly" }),
    attr("lastModified", "dateTime", "The most recent date and time that the details of this resource were updated.", { mutability: "readOnly" }),
    attr("location", "reference", "The URI of the resource being returned.", { mutability: "readOnly", caseExact: true, referenceTypes: ["uri"] }),
    str("version", "The version (ETag) of the resource being returned.", { mutability: "readOnly", caseExact: true }),
  ],
});

/** Attributes common to every resource (RFC 7643 §3.1); not part of any schema's `attributes`. */
export const COMMON_ATTRIBUTES: AttributeDef[] = [
  str("id", "A unique identifier for a SCIM resource as defined by the service provider.", {
    caseExact: true,
    mutability: "readOnly",
    returned: "always",
    uniqueness: "server",
  }),
  identifier("externalId", "An identifier for the resource as defined by the provisioning client.", { caseExact: true }),
  meta,
];

export const USER_SCHEMA: SchemaDef = {
  id: SCHEMA.user,
  name: "User",
  description: "User Account",
  attributes: [
    // returned "default", not "always" (RFC 7643 §8.7.1): `attributes=displayName` leaves it out.
    identifier("userName", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.", {
      required: true,
      uniqueness: "server",
    }),
    attr("name", "complex", "The components of the user's real name.", {
      subAttributes: [
        str("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
        str("familyName", "The family name of the User."),
        str("givenName", "The given name of the User."),
        str("middleName", "The middle name(s) of the User."),
        str("honorificPrefix", "The honorific prefix(es) of the User."),
        str("honorificSuffix", "The honorific suffix(es) of the User."),
      ],
    }),
    identifier("displayName", "The name of the User, suitable for display to end-users."),
    str("nickName", "The casual way to address the user in real life."),
    attr("profileUrl", "reference", "A fully qualified URL pointing to a page representing the User's online profile.", { referenceTypes: ["external"] }),
    str("title", "The user's title, such as \"Vice President\"."),
    str("userType", "Used to identify the relationship between the organization and the user."),
    str("preferredLanguage", "Indicates the User's preferred written or spoken language."),
    str("locale", "Used to indicate the User's default location for purposes of localizing items such as currency and dates."),
    str("timezone", "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
    attr("active", "boolean", "A Boolean value indicating the User's administrative status."),
    multiValued("emails", "Email addresses for the user.", "string", ["work", "home", "other"]),
    multiValued("phoneNumbers", "Phone numbers for the User.", "string", ["work", "home", "mobile", "fax", "pager", "other"]),
    multiValued("ims", "Instant messaging addresses for the User.", "string", ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
    multiValued("photos", "URLs of photos of the User. An entry of type 'photo' sent by the IdP is kept; while TheStorage has its own avatar for the User, that avatar is shown as the 'photo' entry instead.", "reference", ["photo", "thumbnail"]),
    attr("addresses", "complex", "A physical mailing address for this User.", {
      multiValued: true,
      subAttributes: [
        str("formatted", "The full mailing address, formatted for display or use with a mailing label."),
        str("streetAddress", "The full street address component."),
        str("locality", "The city or locality component."),
        str("region", "The state or region component."),
        str("postalCode", "The zip code or postal code component."),
        str("country", "The country name component."),
        str("type", "A label indicating the attribute's function.", { canonicalValues: ["work", "home", "other"] }),
        attr("primary", "boolean", "Indicates the 'primary' or preferred address."),
      ],
    }),
    attr("groups", "complex", "A list of groups to which the user belongs, either through direct membership or indirectly.", {
      multiValued: true,
      mutability: "readOnly",
      subAttributes: [
        str("value", "The identifier of the User's group.", { mutability: "readOnly" }),
        attr("$ref", "reference", "The URI of the corresponding 'Group' resource.", { mutability: "readOnly", referenceTypes: ["Group"] }),
        str("display", "A human-readable name, primarily used for display purposes.", { mutability: "readOnly" }),
        str("type", "A label indicating the attribute's function.", { mutability: "readOnly", canonicalValues: ["direct", "indirect"] }),
      ],
    }),
    multiValued("entitlements", "A list of entitlements for the User that represent a thing the User has.", "string", []),
    multiValued("roles", "A list of roles for the User that collectively represent who the User is.", "string", []),
    multiValued("x509Certificates", "A list of certificates issued to the User.", "string", []),
  ],
};

export const ENTERPRISE_USER_SCHEMA: SchemaDef = {
  id: SCHEMA.enterpriseUser,
  name: "EnterpriseUser",
  description: "Enterprise User",
  attributes: [
    str("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
    str("costCenter", "Identifies the name of a cost center."),
    str("organization", "Identifies the name of an organization."),
    str("division", "Identifies the name of a division."),
    str("department", "Identifies the name of a department."),
    attr("manager", "complex", "The User's manager.", {
      subAttributes: [
        str("value", "The id of the SCIM resource representing the User's manager."),
        attr("$ref", "reference", "The URI of the SCIM resource representing the User's manager.", { referenceTypes: ["User"] }),
        str("displayName", "The displayName of the User's manager.", { mutability: "readOnly" }),
      ],
    }),
  ],
};

export const GROUP_SCHEMA: SchemaDef = {
  id: SCHEMA.group,
  name: "Group",
  description: "Group",
  attributes: [
    identifier("displayName", "A human-readable name for the Group.", { required: true, uniqueness: "server" }),
    attr("members", "complex", "A list of members of the Group.", {
      multiValued: true,
      subAttributes: [
        str("value", "Identifier of the member of this Group.", { mutability: "immutable", caseExact: true }),
        attr("$ref", "reference", "The URI corresponding to a SCIM resource that is a member of this Group.", {
          mutability: "immutable",
          referenceTypes: ["User"],
        }),
        str("display", "A human-readable name for the member.", { mutability: "readOnly" }),
        str("type", "A label indicating the type of resource.", { mutability: "immutable", canonicalValues: ["User"] }),
      ],
    }),
  ],
};

/** A resource type as this server serves it (RFC 7643 §6). */
export interface ResourceTypeDef {
  /** `User`, `Group`, or one this server adds (`Role`: src/roles/scim.ts). */
  name: string;
  endpoint: string;
  description: string;
  schema: SchemaDef;
  extensions: SchemaDef[];
}

export const USER_RESOURCE: ResourceTypeDef = {
  name: "User",
  endpoint: "/Users",
  description: "User Account",
  schema: USER_SCHEMA,
  extensions: [ENTERPRISE_USER_SCHEMA],
};

export const GROUP_RESOURCE: ResourceTypeDef = {
  name: "Group",
  endpoint: "/Groups",
  description: "Group",
  schema: GROUP_SCHEMA,
  extensions: [],
};

export const RESOURCE_TYPES = [USER_RESOURCE, GROUP_RESOURCE] as const;

const lower = (s: string) => s.toLowerCase();

/** Finds an attribute by name, case-insensitively (RFC 7643 §2.1: attribute names are case-insensitive). */
export function findAttribute(attributes: AttributeDef[] | undefined, name: string): AttributeDef | undefined {
  const wanted = lower(name);
  return attributes?.find((a) => lower(a.name) === wanted);
}

/** Finds a schema (core or extension) of the resource type by its URN, case-insensitively. */
export function findSchema(resource: ResourceTypeDef, urn: string): SchemaDef | undefined {
  const wanted = lower(urn);
  return [resource.schema, ...resource.extensions].find((s) => lower(s.id) === wanted);
}

/** A resolved attribute path: which schema, which top-level attribute, and optionally a sub-attribute. */
export interface ResolvedPath {
  /** URN of the schema the attribute belongs to (the core schema for common attributes). */
  schema: string;
  /** True when the attribute lives in an extension object keyed by its URN. */
  extension: boolean;
  attribute: AttributeDef;
  subAttribute?: AttributeDef;
}

/**
 * Resolves an attribute path such as `userName`, `name.givenName`, `emails.value`, `meta.created`,
 * or a URN-qualified one such as `urn:…:enterprise:2.0:User:manager.value` (RFC 7644 §3.10).
 * Returns undefined for anything this server does not know.
 */
export function resolvePath(resource: ResourceTypeDef, path: string): ResolvedPath | undefined {
  let schemaUrn = resource.schema.id;
  let rest = path;
  if (lower(path).startsWith("urn:")) {
    const schema = [resource.schema, ...resource.extensions]
      .filter((s) => lower(path).startsWith(lower(s.id) + ":") || lower(path) === lower(s.id))
      .sort((a, b) => b.id.length - a.id.length)[0];
    if (!schema) return undefined;
    schemaUrn = schema.id;
    rest = path.slice(schema.id.length + 1);
    if (!rest) return undefined;
  }
  const [head, sub, ...more] = rest.split(".");
  if (more.length > 0 || !head) return undefined;
  const schema = findSchema(resource, schemaUrn)!;
  const extension = schema.id !== resource.schema.id;
  const attribute = findAttribute(schema.attributes, head) ?? (extension ? undefined : findAttribute(COMMON_ATTRIBUTES, head));
  if (!attribute) return undefined;
  if (sub === undefined) return { schema: schema.id, extension, attribute };
  const subAttribute = findAttribute(attribute.subAttributes, sub);
  if (!subAttribute) return undefined;
  return { schema: schema.id, extension, attribute, subAttribute };
}

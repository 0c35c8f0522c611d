/**
 * The `Role` resource type (Okta's "SCIM with entitlements"): `/ResourceTypes` lists it with Okta's
 * `urn:okta:scim:schemas:core:1.0:Role` schema, and `/Roles` serves the deployment's catalogue, so
 * Okta Identity Governance imports TheStorage's roles and assigns them through the user's `roles`
 * (`value` = the role's `id`). Pure: no env, no I/O.
 */
import type { ResourceTypeDef, SchemaDef } from "../scim/schema";
import type { RoleCatalogue } from "./catalogue";

export const ROLE_SCHEMA_ID = "urn:okta:scim:schemas:core:1.0:Role";

const readOnlyString = (name: string, description: string, required = false) => ({
  name,
  type: "string" as const,
  multiValued: false,
  description,
  required,
  caseExact: false,
  mutability: "readOnly" as const,
  returned: "default" as const,
  uniqueness: "none" as const,
});

export const ROLE_SCHEMA: SchemaDef = {
  id: ROLE_SCHEMA_ID,
  name: "Role",
  description: "A role of TheStorage that a user can be given: assign it through the user's `roles` (value = the role's id).",
  attributes: [readOnlyString("displayName", "The role's name, as TheStorage shows it.", true), readOnlyString("description", "What the role is, and where it stands in the catalogue (lowest first).")],
};

export const ROLE_RESOURCE: ResourceTypeDef = {
  name: "Role",
  endpoint: "/Roles",
  description: "Roles you can give users of TheStorage (the deployment's catalogue, lowest first).",
  schema: ROLE_SCHEMA,
  extensions: [],
};

export interface RoleResource {
  schemas: [typeof ROLE_SCHEMA_ID];
  id: string;
  displayName: string;
  description: string;
  meta: { resourceType: "Role"; location: string };
}

/** The catalogue as Role resources, lowest first; `id` is the role's name (what `roles[].value` carries). */
export function roleResources(catalogue: RoleCatalogue, baseUrl: string): RoleResource[] {
  const n = catalogue.roles.length;
  return catalogue.roles.map((role, i) => ({
    schemas: [ROLE_SCHEMA_ID],
    id: role,
    displayName: role,
    description: `TheStorage role '${role}', ${i + 1} of ${n} from the lowest${role === catalogue.defaultRole ? "; the default role" : ""}.`,
    meta: { resourceType: "Role", location: `${baseUrl}/Roles/${encodeURIComponent(role)}` },
  }));
}

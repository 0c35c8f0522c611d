/**
 * Custom user attributes of a tenant (design.md §4f): the definitions an admin sets, the extension
 * schema `urn:ietf:params:scim:schemas:extension:thestorage:2.0:User` they form, and the tenant's
 * User resource type with it, which the SCIM core (sanitiser, PATCH, filters, sorting, projection,
 * discovery) reads like any other schema. Pure: no env, no I/O.
 */
import { ENTERPRISE_USER_SCHEMA, USER_RESOURCE, type AttributeDef, type ResourceTypeDef, type SchemaDef } from "../scim/schema";

export const CUSTOM_SCHEMA_ID = "urn:ietf:params:scim:schemas:extension:thestorage:2.0:User";

export const CUSTOM_TYPES = ["string", "boolean", "integer", "decimal", "dateTime"] as const;
export type CustomType = (typeof CUSTOM_TYPES)[number];

export interface CustomAttribute {
  name: string;
  type: CustomType;
  multiValued: boolean;
  description?: string;
}

export const MAX_CUSTOM_ATTRIBUTES = 50;
export const CUSTOM_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const MAX_DESCRIPTION = 500;

export type AttributesCheck = { ok: true; attributes: CustomAttribute[] } | { ok: false; detail: string };

/** Checks a definition list as the admin sent it (`{"attributes":[…]}`). */
export function checkAttributes(input: unknown): AttributesCheck {
  const body = input as Record<string, unknown> | null;
  if (typeof body !== "object" || body === null || !Array.isArray(body.attributes)) return { ok: false, detail: 'Send {"attributes":[{"name","type","multiValued"?,"description"?}]}.' };
  if (body.attributes.length > MAX_CUSTOM_ATTRIBUTES) return { ok: false, detail: `attributes: at most ${MAX_CUSTOM_ATTRIBUTES} per tenant; got ${body.attributes.length}.` };
  const out: CustomAttribute[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of body.attributes.entries()) {
    const a = raw as Record<string, unknown> | null;
    if (typeof a !== "object" || a === null) return { ok: false, detail: `attributes[${i}]: an object {name, type, multiValued?, description?}.` };
    if (typeof a.name !== "string" || !CUSTOM_NAME.test(a.name)) return { ok: false, detail: `attributes[${i}].name: a letter, then letters or digits, at most 64 (${CUSTOM_NAME}); got ${JSON.stringify(a.name)}.` };
    if (seen.has(a.name.toLowerCase())) return { ok: false, detail: `attributes[${i}].name: '${a.name}' is defined twice (names are case-insensitive in SCIM).` };
    seen.add(a.name.toLowerCase());
    if (!(CUSTOM_TYPES as readonly unknown[]).includes(a.type)) return { ok: false, detail: `attributes[${i}].type: one of ${CUSTOM_TYPES.join(", ")}; got ${JSON.stringify(a.type)}.` };
    if (a.multiValued !== undefined && typeof a.multiValued !== "boolean") return { ok: false, detail: `attributes[${i}].multiValued: true or false.` };
    if (a.description !== undefined && (typeof a.description !== "string" || a.description.length > MAX_DESCRIPTION)) return { ok: false, detail: `attributes[${i}].description: a string of at most ${MAX_DESCRIPTION} characters.` };
    out.push({ name: a.name, type: a.type as CustomType, multiValued: a.multiValued === true, ...(a.description ? { description: a.description } : {}) });
  }
  return { ok: true, attributes: out };
}

/** How a new definition list relates to the stored one: what is added, kept, removed; a redefinition (other type or multiValued) is refused. */
export function diffAttributes(before: CustomAttribute[], after: CustomAttribute[]): { ok: true; removed: CustomAttribute[]; added: CustomAttribute[] } | { ok: false; detail: string } {
  const byName = new Map(before.map((a) => [a.name.toLowerCase(), a]));
  for (const a of after) {
    const old = byName.get(a.name.toLowerCase());
    if (old && (old.type !== a.type || old.multiValued !== a.multiValued || old.name !== a.name)) {
      return {
        ok: false,
        detail: `attributes: '${old.name}' is stored as ${describe(old)}; it cannot become ${describe(a)} in place, since stored values would no longer fit. Remove it (its values are erased), then define it again.`,
      };
    }
  }
  const kept = new Set(after.map((a) => a.name.toLowerCase()));
  return { ok: true, removed: before.filter((a) => !kept.has(a.name.toLowerCase())), added: after.filter((a) => !byName.has(a.name.toLowerCase())) };
}

const describe = (a: CustomAttribute) => `'${a.name}' ${a.multiValued ? "multi-valued " : ""}${a.type}`;

function attributeDef(a: CustomAttribute): AttributeDef {
  return {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued,
    description: a.description ?? `Custom attribute '${a.name}' of this organisation.`,
    required: false,
    caseExact: false,
    mutability: "readWrite",
    returned: "default",
    uniqueness: "none",
  };
}

/** The tenant's extension schema (RFC 7643 §7 shape). */
export function customSchema(attributes: CustomAttribute[]): SchemaDef {
  return {
    id: CUSTOM_SCHEMA_ID,
    name: "TheStorageUser",
    description: "Custom attributes this organisation defined for its users in TheStorage.",
    attributes: attributes.map(attributeDef),
  };
}

const cache = new WeakMap<CustomAttribute[], ResourceTypeDef>();

/** The User resource type of a tenant: with its extension schema when it defines any attribute. */
export function userTypeFor(attributes: CustomAttribute[] | undefined): ResourceTypeDef {
  if (!attributes?.length) return USER_RESOURCE;
  let type = cache.get(attributes);
  if (!type) cache.set(attributes, (type = { ...USER_RESOURCE, extensions: [ENTERPRISE_USER_SCHEMA, customSchema(attributes)] }));
  return type;
}

/** A stored custom value: what the sanitiser makes of the types above (typed concretely for RPC). */
export type CustomValue = string | number | boolean | string[] | number[] | boolean[];

/** A user's custom values (the extension object of its stored document), `{}` for none. */
export function customValues(data: Record<string, unknown>): Record<string, CustomValue> {
  const values = data[CUSTOM_SCHEMA_ID];
  return typeof values === "object" && values !== null && !Array.isArray(values) ? (values as Record<string, CustomValue>) : {};
}

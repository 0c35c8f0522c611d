/**
 * Attribute projection: the `attributes` and `excludedAttributes` query parameters (RFC 7644
 * §3.4.2.5, §3.9) together with each attribute's `returned` characteristic (RFC 7643 §7).
 *
 * - `always` (`id`; RFC 7643 §3.1): returned whatever the parameters say. `userName` is `default`
 *   (RFC 7643 §8.7.1), like every other User and Group attribute.
 * - `never`: never returned.
 * - `default`: returned unless excluded, or unless `attributes` is given and does not name it.
 * - `request`: returned only when `attributes` names it.
 * - `schemas` is always returned; it lists an extension URN only if that extension's object survives.
 *
 * `attributes` and `excludedAttributes` are mutually exclusive in the RFC; when both are given,
 * `attributes` wins. Names match case-insensitively and may be sub-attributes (`name.givenName`,
 * `emails.value`, `meta.lastModified`), URN-qualified (`urn:…:enterprise:2.0:User:department`), or a
 * bare schema URN (the whole extension object, or every core attribute). A bare name is looked up in
 * the core schema (and the common attributes) first, then in the extensions, as Entra sends
 * `attributes=manager`. Names this server does not know are ignored.
 *
 * Naming a sub-attribute of a multi-valued attribute keeps only that sub-attribute in each element;
 * elements left empty are dropped, and so is an attribute left with nothing. Output keys keep the
 * resource's spelling and order. Pure: the input is not modified.
 */
import { isObject } from "./json";
import { COMMON_ATTRIBUTES, findAttribute, resolvePath, type AttributeDef, type ResourceTypeDef, type SchemaDef } from "./schema";

export interface ProjectionParams {
  attributes?: string[];
  excludedAttributes?: string[];
}

type Json = Record<string, unknown>;

/** What the parameters name inside one attribute: the whole of it, and/or some sub-attributes (lower-cased). */
interface AttributeSelection {
  whole: boolean;
  subs: Set<string>;
}

/** What the parameters name inside one schema (the core schema with the common attributes, or an extension). */
interface SchemaSelection {
  whole: boolean;
  attributes: Map<string, AttributeSelection>;
}

type Mode = "include" | "exclude";

const lower = (s: string) => s.toLowerCase();

/** Resolves every name to the schema, attribute and sub-attribute it designates; unknown names are skipped. */
function selections(type: ResourceTypeDef, names: string[]): Map<string, SchemaSelection> {
  const result = new Map<string, SchemaSelection>();
  const scope = (schemaId: string) => {
    const key = lower(schemaId);
    let selection = result.get(key);
    if (!selection) result.set(key, (selection = { whole: false, attributes: new Map() }));
    return selection;
  };
  const schemas: SchemaDef[] = [type.schema, ...type.extensions];

  for (const raw of names) {
    const name = raw.trim();
    if (!name) continue;
    const wholeSchema = schemas.find((s) => lower(s.id) === lower(name));
    if (wholeSchema) {
      scope(wholeSchema.id).whole = true;
      continue;
    }
    let resolved = resolvePath(type, name);
    if (!resolved && !lower(name).startsWith("urn:")) {
      for (const extension of type.extensions) {
        resolved = resolvePath(type, `${extension.id}:${name}`);
        if (resolved) break;
      }
    }
    if (!resolved) continue;
    const attributes = scope(resolved.schema).attributes;
    const key = lower(resolved.attribute.name);
    let selection = attributes.get(key);
    if (!selection) attributes.set(key, (selection = { whole: false, subs: new Set() }));
    if (resolved.subAttribute) selection.subs.add(lower(resolved.subAttribute.name));
    else selection.whole = true;
  }
  return result;
}

/**
 * Filters the sub-attributes of one complex value (an object, or each element of a list).
 * `keep(sub, key)` decides per key; keys not in the schema are passed `undefined`.
 * Returns undefined when filtering left nothing of a value that had something.
 */
function filterComplex(value: unknown, attribute: AttributeDef, keep: (sub: AttributeDef | undefined) => boolean): unknown {
  const filterObject = (object: Json): Json | undefined => {
    const out: Json = {};
    for (const [key, sub] of Object.entries(object)) {
      if (keep(findAttribute(attribute.subAttributes, key))) out[key] = sub;
    }
    return Object.keys(out).length || !Object.keys(object).length ? out : undefined;
  };
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const element of value) {
      if (!isObject(element)) {
        out.push(element);
        continue;
      }
      const filtered = filterObject(element);
      if (filtered !== undefined) out.push(filtered);
    }
    return out.length || !value.length ? out : undefined;
  }
  return isObject(value) ? filterObject(value) : value;
}

/** Sub-attributes returned with their parent when no sub-attribute is singled out. */
const byDefault = (sub: AttributeDef | undefined) => !sub || (sub.returned !== "never" && sub.returned !== "request");

/** Projects one attribute's value, or returns undefined to leave it out. */
function projectAttribute(value: unknown, attribute: AttributeDef, mode: Mode, schemaWhole: boolean, selection: AttributeSelection | undefined): unknown {
  if (attribute.returned === "never") return undefined;
  const complex = attribute.type === "complex" && attribute.subAttributes?.length;
  const named = (sub: AttributeDef | undefined) => !!sub && !!selection?.subs.has(lower(sub.name));

  if (mode === "include") {
    const whole = attribute.returned === "always" || schemaWhole || !!selection?.whole;
    if (!complex) return whole ? value : undefined;
    if (whole) return filterComplex(value, attribute, (sub) => byDefault(sub) || (sub!.returned === "request" && named(sub)));
    if (!selection) return undefined;
    return filterComplex(value, attribute, (sub) => !!sub && sub.returned !== "never" && (named(sub) || sub.returned === "always"));
  }

  // exclude (and the default view, which is "exclude nothing")
  if (attribute.returned === "always") return complex ? filterComplex(value, attribute, byDefault) : value;
  if (attribute.returned === "request") return undefined;
  if (schemaWhole || selection?.whole) return undefined;
  if (!complex) return value;
  return filterComplex(value, attribute, (sub) => byDefault(sub) && (!named(sub) || sub!.returned === "always"));
}

/** Projects the attributes of one schema held in `object` (the resource itself, or an extension object). */
function projectAttributes(
  object: Json,
  definitions: AttributeDef[],
  mode: Mode,
  selection: SchemaSelection | undefined,
  skip: (key: string) => boolean,
): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(object)) {
    if (skip(key)) continue;
    const attribute = findAttribute(definitions, key);
    if (!attribute) {
      // Not described by the schema: nothing says it may be returned when the client picked attributes.
      if (mode === "exclude") out[key] = value;
      continue;
    }
    const projected = projectAttribute(value, attribute, mode, !!selection?.whole, selection?.attributes.get(lower(attribute.name)));
    if (projected !== undefined) out[key] = projected;
  }
  return out;
}

/**
 * The representation of `resource` (a resource of `type`) that a client asking with `params`
 * receives. Pure; the input is left untouched.
 */
export function project(resource: Record<string, unknown>, type: ResourceTypeDef, params: ProjectionParams): Record<string, unknown> {
  const attributes = params.attributes?.filter((n) => n.trim()) ?? [];
  const excluded = params.excludedAttributes?.filter((n) => n.trim()) ?? [];
  const mode: Mode = attributes.length ? "include" : "exclude";
  const selected = selections(type, attributes.length ? attributes : excluded);

  const extensionOf = (key: string) => type.extensions.find((e) => lower(e.id) === lower(key));
  const coreDefinitions = [...COMMON_ATTRIBUTES, ...type.schema.attributes];
  const core = projectAttributes(resource, coreDefinitions, mode, selected.get(lower(type.schema.id)), (key) => lower(key) === "schemas" || !!extensionOf(key));

  const out: Json = {};
  for (const [key, value] of Object.entries(resource)) {
    if (lower(key) === "schemas") {
      out[key] = value;
      continue;
    }
    const extension = extensionOf(key);
    if (!extension) {
      if (key in core) out[key] = core[key];
      continue;
    }
    if (!isObject(value)) continue;
    const projected = projectAttributes(value, extension.attributes, mode, selected.get(lower(extension.id)), () => false);
    if (Object.keys(projected).length || (!Object.keys(value).length && mode === "exclude")) out[key] = projected;
  }

  const schemasKey = Object.keys(out).find((k) => lower(k) === "schemas");
  if (schemasKey && Array.isArray(out[schemasKey])) {
    const present = new Set(Object.keys(out).map(lower));
    out[schemasKey] = (out[schemasKey] as unknown[]).filter((urn) => {
      const extension = typeof urn === "string" ? extensionOf(urn) : undefined;
      return !extension || present.has(lower(extension.id));
    });
  }
  return out;
}

/**
 * The SCIM PATCH engine (RFC 7644 §3.5.2): applies a PatchOp body to a resource's SCIM JSON and
 * returns the new resource. Pure: no storage, no Worker `env`.
 *
 * It accepts what Okta and Microsoft Entra ID really send, which is looser than the RFC:
 * capitalised ops (`Replace`), `"True"`/`"False"` strings for booleans, path-less `replace` with
 * dotted (`name.givenName`) and URN-qualified keys, `remove` with a value list on `members`,
 * filtered `replace` on an element that does not exist yet (it is created), the enterprise
 * `manager` as a bare id, `null`/`""` to clear an attribute, and Okta's group rename that carries
 * the group's `id` in the value (ignored).
 *
 * It also takes a URN-qualified path written with a dot before the attribute
 * (`urn:…:enterprise:2.0:User.department`, as some clients send) as the colon form.
 *
 * All or nothing: the operations run in order on a private deep copy, and any invalid operation
 * throws an ApiError, so the caller's object is never touched and nothing is partially applied.
 * What an operation names but the server does not keep (an attribute under an extension schema it
 * does not have, such as an Entra custom extension; an unknown key of a path-less value) is
 * skipped rather than refused, so one such mapping does not fail every push, and is reported back
 * (`patchResource().ignored`) for the provisioning log: never a silent no-op.
 */

import { ApiError, badRequest } from "./errors";
import type { Filter, FilterValue } from "./filter/ast";
import { parseFilter } from "./filter/parse";
import { isObject, keyOf } from "./json";
import {
  COMMON_ATTRIBUTES,
  findAttribute,
  findSchema,
  type AttributeDef,
  type ResourceTypeDef,
  type SchemaDef,
} from "./schema";
import { foldCase } from "./text";
import { IDENTIFIER_RULE } from "./limits";

/** The detail of the 400 returned when a client tries to set a User's password. */
export const PASSWORD_SYNC_REFUSED =
  "Password sync is not supported: TheStorage signs users in through your identity provider and stores no passwords. " +
  "In Okta, open the app's Provisioning › To App settings, untick Sync Password, and save.";

export type PatchOpName = "add" | "replace" | "remove";

/** One normalised operation of a PatchOp body. */
export interface PatchOperation {
  op: PatchOpName;
  path?: string;
  /** Absent (undefined) when the client sent no `value` member. */
  value?: unknown;
}

/**
 * A parsed PATCH path (RFC 7644 §3.5.2 "PATH"): `[schema:]attribute[.subAttribute]` or
 * `[schema:]attribute[filter][.subAttribute]`. Names keep the client's spelling.
 */
export interface PatchPath {
  /** The URN prefix as written, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`. */
  schema?: string;
  attribute: string;
  subAttribute?: string;
  /** The value filter in brackets; its paths are relative to one element of `attribute`. */
  filter?: Filter;
}

const OPS: Record<string, PatchOpName> = { add: "add", replace: "replace", remove: "remove" };

/** Marks "clear this": `null`, `""`, or an empty array sent as a value. */
const CLEAR: unique symbol = Symbol("clear");
type Clear = typeof CLEAR;

type Json = Record<string, unknown>;

const lower = (s: string) => s.toLowerCase();
const ATTR_NAME = /^\$?[A-Za-z][\w$-]*$/;

function deepClone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(deepClone) as T;
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) out[k] = deepClone(v);
    return out as T;
  }
  return value;
}

function getProp(obj: Json, name: string): unknown {
  const key = keyOf(obj, name);
  return key === undefined ? undefined : obj[key];
}

function deleteProp(obj: Json, name: string): void {
  const wanted = lower(name);
  for (const k of Object.keys(obj)) if (lower(k) === wanted) delete obj[k];
}

function setProp(obj: Json, name: string, value: unknown): void {
  deleteProp(obj, name);
  obj[name] = value;
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

const invalidPath = (detail: string) => badRequest("invalidPath", detail);

/** Index of the `]` closing the `[` at `open`, skipping over JSON string literals. */
function closingBracket(text: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[") return -1;
    else if (c === "]") return i;
  }
  return -1;
}

/**
 * `urn:…:enterprise:2.0:User.department` → `urn:…:enterprise:2.0:User:department` when the URN
 * before the dot is one of the resource type's schemas (the longest such); anything else as it is.
 */
export function canonicalUrnPath(type: ResourceTypeDef, text: string): string {
  const path = text.trim();
  const lowered = lower(path);
  if (!lowered.startsWith("urn:")) return path;
  const schema = schemasOf(type)
    .filter((s) => lowered.startsWith(lower(s.id) + "."))
    .sort((a, b) => b.id.length - a.id.length)[0];
  return schema ? `${path.slice(0, schema.id.length)}:${path.slice(schema.id.length + 1)}` : path;
}

/**
 * Parses a PATCH path. Throws 400 invalidPath when it is malformed (and 400 invalidFilter, from
 * the filter parser, when the bracketed filter is). Does not check the names against a schema;
 * given the resource type, it reads the dot form of a URN-qualified path first (canonicalUrnPath).
 */
export function parsePatchPath(text: string, type?: ResourceTypeDef): PatchPath {
  const path = type ? canonicalUrnPath(type, text) : text.trim();
  if (!path) throw invalidPath("The PATCH path is empty.");
  const open = path.indexOf("[");
  let prefix = path;
  let filterText: string | undefined;
  let after = "";
  if (open >= 0) {
    const close = closingBracket(path, open);
    if (close < 0) throw invalidPath(`The PATCH path "${text}" has an unterminated "[" filter.`);
    prefix = path.slice(0, open);
    filterText = path.slice(open + 1, close).trim();
    after = path.slice(close + 1);
    if (!filterText) throw invalidPath(`The PATCH path "${text}" has an empty "[]" filter.`);
    if (after && !after.startsWith(".")) throw invalidPath(`The PATCH path "${text}" has unexpected text after "]".`);
  } else if (path.includes("]")) {
    throw invalidPath(`The PATCH path "${text}" has an unmatched "]".`);
  }

  let schema: string | undefined;
  let attrPart = prefix;
  if (lower(prefix).startsWith("urn:")) {
    const colon = prefix.lastIndexOf(":");
    schema = prefix.slice(0, colon);
    attrPart = prefix.slice(colon + 1);
  }
  const names = attrPart.split(".");
  let attribute: string;
  let subAttribute: string | undefined;
  if (filterText !== undefined) {
    if (names.length !== 1) throw invalidPath(`The PATCH path "${text}" puts a filter after a sub-attribute; write attribute[filter].subAttribute.`);
    attribute = names[0];
    const subs = after ? after.slice(1).split(".") : [];
    if (after && subs.length !== 1) throw invalidPath(`The PATCH path "${text}" is nested too deeply.`);
    subAttribute = subs[0];
  } else {
    if (names.length > 2) throw invalidPath(`The PATCH path "${text}" is nested too deeply (at most attribute.subAttribute).`);
    [attribute, subAttribute] = names;
  }
  for (const name of [attribute, subAttribute]) {
    if (name !== undefined && !ATTR_NAME.test(name)) {
      throw invalidPath(`The PATCH path "${text}" is malformed: "${name}" is not a valid attribute name.`);
    }
  }
  const result: PatchPath = { attribute };
  if (schema !== undefined) result.schema = schema;
  if (subAttribute !== undefined) result.subAttribute = subAttribute;
  if (filterText !== undefined) result.filter = parseFilter(filterText);
  return result;
}

/** Where an operation lands: one attribute (optionally a sub-attribute, optionally filtered). */
interface Target {
  schema: SchemaDef;
  extension: boolean;
  attribute: AttributeDef;
  subAttribute?: AttributeDef;
  filter?: Filter;
  /** The path as written, for error details. */
  label: string;
}

/** `skip` with a `reason` is reported as ignored; without one (read-only keys such as `id`) it is not. */
type Resolution =
  | { kind: "skip"; reason?: string }
  | { kind: "schema"; schema: SchemaDef; extension: boolean }
  | { kind: "target"; target: Target };

const QUIET_SKIP: Resolution = { kind: "skip" };
const skip = (reason: string): Resolution => ({ kind: "skip", reason });

function schemasOf(type: ResourceTypeDef): SchemaDef[] {
  return [type.schema, ...type.extensions];
}

/**
 * Resolves a path against the resource type. `strict` (an op's `path`) throws on anything wrong;
 * lenient (a key of a path-less value) skips unknown, malformed and read-only keys. Both refuse
 * `password` on Users and skip paths under schema URNs this resource type does not have.
 */
function resolveTarget(type: ResourceTypeDef, text: string, strict: boolean): Resolution {
  const path = canonicalUrnPath(type, text);
  const lowered = lower(path);
  if (lowered.startsWith("urn:")) {
    const head = lowered.split("[")[0];
    const schemas = schemasOf(type);
    const whole = schemas.find((s) => lower(s.id) === head);
    if (whole) return { kind: "schema", schema: whole, extension: whole !== type.schema };
    if (!schemas.some((s) => head.startsWith(lower(s.id) + ":"))) return skip(`not a schema of ${type.name}`);
  }
  let parsed: PatchPath;
  try {
    parsed = parsePatchPath(path);
  } catch (error) {
    if (strict) throw error;
    return skip("malformed");
  }
  let schema = parsed.schema === undefined ? type.schema : findSchema(type, parsed.schema);
  if (!schema) {
    // A known schema's URN followed by more than one name (`…:User:manager:value`).
    if (strict) throw invalidPath(`The PATCH path "${text}" is malformed: write ${parsed.schema?.split(":").slice(0, -1).join(":")}:attribute[.subAttribute].`);
    return skip("malformed");
  }
  if (parsed.schema === undefined && !findAttribute(type.schema.attributes, parsed.attribute) && !findAttribute(COMMON_ATTRIBUTES, parsed.attribute)) {
    // Entra sends enterprise attributes bare (`"path": "manager"`): look an unknown core name up in the extensions.
    schema = type.extensions.find((ext) => findAttribute(ext.attributes, parsed.attribute)) ?? schema;
  }
  const extension = schema !== type.schema;
  if (!extension && type.name === "User" && lower(parsed.attribute) === "password") {
    throw new ApiError(400, PASSWORD_SYNC_REFUSED, { scimType: "mutability" });
  }
  if (!extension && lower(parsed.attribute) === "schemas") {
    if (!strict) return QUIET_SKIP;
    throw badRequest("mutability", `"schemas" cannot be patched; the server maintains it.`);
  }
  const attribute = findAttribute(schema.attributes, parsed.attribute) ?? (extension ? undefined : findAttribute(COMMON_ATTRIBUTES, parsed.attribute));
  if (!attribute) {
    if (!strict) return skip("unknown attribute");
    throw invalidPath(`Unknown attribute "${parsed.attribute}" in PATCH path "${text}": the ${type.name} schema ${schema.id} has no such attribute.`);
  }
  if (attribute.mutability === "readOnly") {
    if (!strict) return QUIET_SKIP;
    throw badRequest("mutability", `Attribute "${attribute.name}" is read-only and cannot be modified by PATCH.`);
  }
  let subAttribute: AttributeDef | undefined;
  if (parsed.subAttribute !== undefined) {
    subAttribute = findAttribute(attribute.subAttributes, parsed.subAttribute);
    if (!subAttribute) {
      if (!strict) return skip("unknown sub-attribute");
      throw invalidPath(
        attribute.subAttributes
          ? `Unknown sub-attribute "${parsed.subAttribute}" of "${attribute.name}" in PATCH path "${text}".`
          : `Attribute "${attribute.name}" has no sub-attributes (PATCH path "${text}").`,
      );
    }
  }
  if (parsed.filter && !attribute.multiValued) {
    if (!strict) return skip("not multi-valued");
    throw invalidPath(`PATCH path "${text}" filters "${attribute.name}", which is not multi-valued.`);
  }
  if (parsed.filter) checkElementFilter(parsed.filter, attribute, text);
  return { kind: "target", target: { schema, extension, attribute, subAttribute, filter: parsed.filter, label: path } };
}

// ---------------------------------------------------------------------------------------------
// Value filters on one element of a multi-valued attribute
// ---------------------------------------------------------------------------------------------

/** The sub-attribute a filter path inside `attr[...]` names (`type`, or `emails.type` in `emails[...]`). */
function elementSub(path: { attribute: string; subAttribute?: string }, attr: AttributeDef): AttributeDef | undefined {
  let name = path.attribute;
  if (path.subAttribute !== undefined) {
    if (lower(path.attribute) !== lower(attr.name)) return undefined;
    name = path.subAttribute;
  }
  return findAttribute(attr.subAttributes, name) ?? (attr.subAttributes ? undefined : lower(name) === "value" ? { ...attr, name: "value", multiValued: false } : undefined);
}

function checkElementFilter(filter: Filter, attr: AttributeDef, text: string): void {
  switch (filter.kind) {
    case "and":
    case "or":
      checkElementFilter(filter.left, attr, text);
      checkElementFilter(filter.right, attr, text);
      return;
    case "not":
      checkElementFilter(filter.filter, attr, text);
      return;
    case "valuePath":
      throw badRequest("invalidFilter", `PATCH path "${text}": a filter inside "${attr.name}[...]" cannot contain another "[...]".`);
    default: {
      const p = filter.path;
      if (!elementSub(p, attr)) {
        const name = p.subAttribute === undefined ? p.attribute : `${p.attribute}.${p.subAttribute}`;
        throw invalidPath(`PATCH path "${text}": "${attr.name}" has no sub-attribute "${name}" to filter on.`);
      }
    }
  }
}

function elementValue(element: unknown, sub: AttributeDef): unknown {
  if (isObject(element)) return getProp(element, sub.name);
  return lower(sub.name) === "value" ? element : undefined;
}

function compareValues(actual: unknown, op: string, expected: FilterValue, sub: AttributeDef): boolean {
  const absent = actual === undefined || actual === null;
  if (expected === null) {
    if (op === "eq") return absent;
    if (op === "ne") return !absent;
    return false;
  }
  if (absent) return op === "ne";
  if (typeof actual === "boolean") {
    const b = typeof expected === "boolean" ? expected : typeof expected === "string" && /^(true|false)$/i.test(expected) ? lower(expected) === "true" : undefined;
    if (b === undefined) return op === "ne";
    if (op === "eq") return actual === b;
    if (op === "ne") return actual !== b;
    return false;
  }
  if (typeof actual === "number") {
    const n = typeof expected === "number" ? expected : typeof expected === "string" && expected.trim() !== "" ? Number(expected) : NaN;
    if (Number.isNaN(n)) return op === "ne";
    return ordered(actual - n, op, actual, n);
  }
  if (typeof actual !== "string") return false;
  let a = actual;
  let e = String(expected);
  if (!sub.caseExact) {
    a = foldCase(a);
    e = foldCase(e);
  }
  switch (op) {
    case "co":
      return a.includes(e);
    case "sw":
      return a.startsWith(e);
    case "ew":
      return a.endsWith(e);
  }
  if (sub.type === "dateTime") {
    const ta = Date.parse(actual);
    const te = Date.parse(String(expected));
    if (!Number.isNaN(ta) && !Number.isNaN(te)) return ordered(ta - te, op, ta, te);
  }
  return ordered(a < e ? -1 : a > e ? 1 : 0, op, a, e);
}

function ordered(diff: number, op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case "eq":
      return a === b || diff === 0;
    case "ne":
      return !(a === b || diff === 0);
    case "gt":
      return diff > 0;
    case "ge":
      return diff >= 0;
    case "lt":
      return diff < 0;
    case "le":
      return diff <= 0;
    default:
      return false;
  }
}

function present(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return true;
}

/**
 * Whether one element of the multi-valued attribute `attr` satisfies `filter`, whose paths name the
 * element's sub-attributes. Strings compare case-insensitively unless the sub-attribute is
 * caseExact; `"true"`/`"false"` strings match booleans.
 */
export function matchesElement(filter: Filter, element: unknown, attr: AttributeDef): boolean {
  switch (filter.kind) {
    case "and":
      return matchesElement(filter.left, element, attr) && matchesElement(filter.right, element, attr);
    case "or":
      return matchesElement(filter.left, element, attr) || matchesElement(filter.right, element, attr);
    case "not":
      return !matchesElement(filter.filter, element, attr);
    case "valuePath":
      return false;
    case "present": {
      const sub = elementSub(filter.path, attr);
      return sub ? present(elementValue(element, sub)) : false;
    }
    case "compare": {
      const sub = elementSub(filter.path, attr);
      return sub ? compareValues(elementValue(element, sub), filter.op, filter.value, sub) : false;
    }
  }
}

/**
 * The element a filter describes, when it is only `eq` comparisons joined by `and`
 * (`type eq "work"` → `{ type: "work" }`); undefined otherwise. Used to create the element a
 * filtered add/replace targets when none matches (Entra relies on this).
 */
function stampOf(filter: Filter, attr: AttributeDef): Json | undefined {
  const out: Json = {};
  const walk = (f: Filter): boolean => {
    if (f.kind === "and") return walk(f.left) && walk(f.right);
    if (f.kind !== "compare" || f.op !== "eq" || f.value === null) return false;
    const sub = elementSub(f.path, attr);
    if (!sub) return false;
    const value = coerceScalar(sub, f.value, `${attr.name}.${sub.name}`);
    if (value === CLEAR) return false;
    const existing = out[sub.name];
    if (existing !== undefined && !sameScalar(existing, value, sub)) return false;
    out[sub.name] = value;
    return true;
  };
  return walk(filter) ? out : undefined;
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

const invalidValue = (detail: string) => badRequest("invalidValue", detail);

function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

/** Coerces a value for a simple (non-complex) attribute or sub-attribute. */
function coerceScalar(def: AttributeDef, value: unknown, label: string): unknown {
  if (value === null || value === undefined || value === "") return CLEAR;
  // Identifiers are never coerced (5 → "5", ["x"] → "x"); sanitizing the result checks the rest of the rule.
  if (def.identifier && typeof value !== "string") throw invalidValue(`"${label}" must be a string, not ${describe(value)}. ${IDENTIFIER_RULE}`);
  if (Array.isArray(value)) {
    if (value.length === 0) return CLEAR;
    if (value.length === 1) return coerceScalar(def, value[0], label);
    throw invalidValue(`"${label}" is single-valued but the PATCH value is an array of ${value.length} values.`);
  }
  switch (def.type) {
    case "boolean":
      if (typeof value === "boolean") return value;
      if (typeof value === "string" && /^(true|false)$/i.test(value.trim())) return lower(value.trim()) === "true";
      throw invalidValue(`"${label}" must be a boolean (true or false), not ${describe(value)}.`);
    case "integer":
    case "decimal": {
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      if (Number.isNaN(n) || (def.type === "integer" && !Number.isInteger(n))) {
        throw invalidValue(`"${label}" must be ${def.type === "integer" ? "an integer" : "a number"}, not ${describe(value)}.`);
      }
      return n;
    }
    case "complex":
      throw invalidValue(`"${label}" is complex; send an object.`);
    default:
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      throw invalidValue(`"${label}" must be a string, not ${describe(value)}.`);
  }
}

/** Notes a part of the PATCH that was skipped, for the log: `what` as written, and why. */
type Ignore = (what: string, why: string) => void;

/**
 * Coerces an object of sub-attributes of the complex attribute `attr`: canonical names, coerced
 * values, CLEAR for sub-attributes to clear. Unknown sub-attributes are dropped (and noted).
 */
function coerceComplex(attr: AttributeDef, value: unknown, label: string, ignore?: Ignore): Json | Clear {
  if (value === null || value === undefined || value === "") return CLEAR;
  if (Array.isArray(value)) {
    if (value.length === 0) return CLEAR;
    if (value.length === 1) return coerceComplex(attr, value[0], label, ignore);
    throw invalidValue(`"${label}" takes a single value but the PATCH value is an array of ${value.length} values.`);
  }
  if (!isObject(value)) {
    const valueSub = findAttribute(attr.subAttributes, "value");
    if (valueSub && (typeof value === "string" || typeof value === "number" || typeof value === "boolean")) {
      return { value: coerceScalar(valueSub, value, `${label}.value`) };
    }
    throw invalidValue(`"${label}" must be an object of its sub-attributes, not ${describe(value)}.`);
  }
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    const sub = findAttribute(attr.subAttributes, key);
    if (!sub) {
      ignore?.(`${label}.${key}`, "unknown sub-attribute");
      continue;
    }
    out[sub.name] = coerceScalar(sub, v, `${label}.${sub.name}`);
  }
  return out;
}

/** Coerces a multi-valued attribute's value to its list of elements (CLEAR sub-values kept for merges). */
function coerceElements(attr: AttributeDef, value: unknown, label: string, ignore?: Ignore): Json[] {
  if (value === null || value === undefined || value === "") return [];
  const items = Array.isArray(value) ? value : [value];
  const out: Json[] = [];
  for (const item of items) {
    if (Array.isArray(item)) throw invalidValue(`Each element of "${label}" must be an object, not an array.`);
    const element = coerceComplex(attr, item, label, ignore);
    if (element !== CLEAR) out.push(element);
  }
  return out;
}

/** Applies coerced sub-attribute values onto `target` (CLEAR deletes). */
function mergeInto(target: Json, patch: Json): void {
  for (const [key, v] of Object.entries(patch)) {
    if (v === CLEAR) deleteProp(target, key);
    else setProp(target, key, v);
  }
}

function withoutClears(patch: Json): Json {
  const out: Json = {};
  mergeInto(out, patch);
  return out;
}

function sameScalar(a: unknown, b: unknown, def: AttributeDef | undefined): boolean {
  if (typeof a === "string" && typeof b === "string") return def?.caseExact ? a === b : foldCase(a) === foldCase(b);
  return a === b;
}

/** Two elements are the same when their `value` (and `type`, if both have one) match; else when all sub-attributes match. */
function sameElement(a: Json, b: Json, attr: AttributeDef): boolean {
  const valueDef = findAttribute(attr.subAttributes, "value");
  const av = getProp(a, "value");
  const bv = getProp(b, "value");
  if (valueDef && av !== undefined && bv !== undefined) {
    if (!sameScalar(av, bv, valueDef)) return false;
    const at = getProp(a, "type");
    const bt = getProp(b, "type");
    return at === undefined || bt === undefined || sameScalar(at, bt, findAttribute(attr.subAttributes, "type"));
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)].map(lower));
  for (const k of keys) {
    if (!sameScalar(getProp(a, k), getProp(b, k), findAttribute(attr.subAttributes, k))) return false;
  }
  return true;
}

/** Whether `existing` is one of the elements a remove-with-value names (by value, or by every given sub-attribute). */
function namedBy(given: Json, existing: Json, attr: AttributeDef): boolean {
  if (getProp(given, "value") !== undefined) return sameElement(given, existing, attr);
  const keys = Object.keys(given);
  return keys.length > 0 && keys.every((k) => sameScalar(getProp(given, k), getProp(existing, k), findAttribute(attr.subAttributes, k)));
}

/** An element left with nothing but labels (or without the `value` its attribute requires) is dropped. */
function isHollow(element: unknown, attr: AttributeDef): boolean {
  if (!isObject(element)) return element === undefined || element === null || element === "";
  if (findAttribute(attr.subAttributes, "value") && getProp(element, "value") === undefined) return true;
  return Object.keys(element).every((k) => ["type", "primary"].includes(lower(k)));
}

// ---------------------------------------------------------------------------------------------
// Applying operations
// ---------------------------------------------------------------------------------------------

interface Context {
  root: Json;
  type: ResourceTypeDef;
  ignore: Ignore;
}

function container(ctx: Context, target: { schema: SchemaDef; extension: boolean }, create: boolean): Json | undefined {
  if (!target.extension) return ctx.root;
  const key = keyOf(ctx.root, target.schema.id);
  const existing = key === undefined ? undefined : ctx.root[key];
  if (isObject(existing)) {
    if (key !== target.schema.id) {
      deleteProp(ctx.root, target.schema.id);
      ctx.root[target.schema.id] = existing;
    }
    return existing;
  }
  if (!create) return undefined;
  const fresh: Json = {};
  setProp(ctx.root, target.schema.id, fresh);
  return fresh;
}

/**
 * A single-valued reference (`manager`) given a different `value` points somewhere else: start
 * from an empty object rather than merge, which would keep the old target's `$ref`/`displayName`.
 */
function repointed(current: Json, patch: Json, attr: AttributeDef): Json {
  const valueDef = findAttribute(attr.subAttributes, "value");
  const newRef = getProp(patch, "value");
  const oldRef = getProp(current, "value");
  if (!valueDef || newRef === undefined || newRef === CLEAR || oldRef === undefined) return current;
  return sameScalar(oldRef, newRef, valueDef) ? current : {};
}

function refuseRequired(attr: AttributeDef, type: ResourceTypeDef): void {
  if (attr.required) {
    throw badRequest("mutability", `"${attr.name}" is required on a ${type.name} and cannot be removed or cleared.`);
  }
}

function applyToTarget(ctx: Context, op: PatchOpName, t: Target, value: unknown): void {
  const attr = t.attribute;
  const obj = container(ctx, t, op !== "remove");
  if (!obj) return; // removing from an extension the resource does not have

  if (!attr.multiValued) {
    if (!t.subAttribute) {
      if (op === "remove") {
        refuseRequired(attr, ctx.type);
        deleteProp(obj, attr.name);
        return;
      }
      if (attr.type !== "complex") {
        const v = coerceScalar(attr, value, t.label);
        if (v === CLEAR) {
          refuseRequired(attr, ctx.type);
          deleteProp(obj, attr.name);
        } else setProp(obj, attr.name, v);
        return;
      }
      const patch = coerceComplex(attr, value, t.label, ctx.ignore);
      if (patch === CLEAR) {
        refuseRequired(attr, ctx.type);
        deleteProp(obj, attr.name);
        return;
      }
      const current = getProp(obj, attr.name);
      const next = repointed(isObject(current) ? { ...current } : {}, patch, attr);
      mergeInto(next, patch);
      if (Object.keys(next).length === 0) deleteProp(obj, attr.name);
      else setProp(obj, attr.name, next);
      return;
    }
    // attribute.subAttribute on a single-valued complex attribute (name.givenName, manager.value)
    const current = getProp(obj, attr.name);
    let next: Json = isObject(current) ? { ...current } : {};
    if (op === "remove") deleteProp(next, t.subAttribute.name);
    else {
      const v = coerceScalar(t.subAttribute, value, t.label);
      next = repointed(next, { [t.subAttribute.name]: v }, attr);
      mergeInto(next, { [t.subAttribute.name]: v });
    }
    if (Object.keys(next).length === 0) deleteProp(obj, attr.name);
    else setProp(obj, attr.name, next);
    return;
  }

  // Multi-valued.
  const current = getProp(obj, attr.name);
  let list: unknown[] = Array.isArray(current) ? current.map((e) => (isObject(e) ? { ...e } : e)) : isObject(current) ? [{ ...current }] : [];
  const primaried = new Set<unknown>(); // elements this operation set primary: true on
  const notePrimary = (element: Json) => {
    if (getProp(element, "primary") === true) primaried.add(element);
  };

  if (!t.filter && !t.subAttribute) {
    if (op === "remove") {
      if (value === undefined || value === null) {
        refuseRequired(attr, ctx.type);
        deleteProp(obj, attr.name);
        return;
      }
      // Entra: {"op":"Remove","path":"members","value":[{"value":"u1"}]} removes just those.
      const named = coerceElements(attr, value, t.label, ctx.ignore).map(withoutClears);
      list = list.filter((e) => !(isObject(e) && named.some((n) => namedBy(n, e, attr))));
    } else if (op === "replace" || value === null || value === "") {
      const items = coerceElements(attr, value, t.label, ctx.ignore).map(withoutClears).filter((e) => !isHollow(e, attr));
      items.forEach(notePrimary);
      list = items;
    } else {
      for (const item of coerceElements(attr, value, t.label, ctx.ignore)) {
        const clean = withoutClears(item);
        const same = list.find((e): e is Json => isObject(e) && sameElement(clean, e, attr));
        if (same) {
          // Already there: keep its identity as stored; take only the other sub-attributes sent.
          const { value: _value, type: _type, ...rest } = item;
          mergeInto(same, rest);
          notePrimary(same);
        } else if (!isHollow(clean, attr)) {
          list.push(clean);
          notePrimary(clean);
        }
      }
    }
  } else {
    const matches = list.filter((e) => (t.filter ? matchesElement(t.filter, e, attr) : true));
    const sub = t.subAttribute;
    if (op === "remove") {
      if (!sub) list = list.filter((e) => !matches.includes(e));
      else for (const m of matches) if (isObject(m)) deleteProp(m, sub.name);
    } else {
      const patch: Json | Clear = sub ? { [sub.name]: coerceScalar(sub, value, t.label) } : coerceComplex(attr, value, t.label, ctx.ignore);
      if (matches.length === 0) {
        const stamp = t.filter ? stampOf(t.filter, attr) : {};
        if (!stamp) {
          throw badRequest("noTarget", `No element of "${attr.name}" matches the filter in PATCH path "${t.label}", and the filter is not made of "eq" conditions joined by "and" from which one could be created.`);
        }
        if (patch !== CLEAR) {
          const element = { ...stamp };
          mergeInto(element, patch);
          if (!isHollow(element, attr)) {
            list.push(element);
            notePrimary(element);
          }
        }
      } else if (patch === CLEAR) {
        list = list.filter((e) => !matches.includes(e)); // attr[filter] set to null: drop the matches
      } else {
        for (const m of matches) {
          if (!isObject(m)) continue;
          mergeInto(m, patch);
          notePrimary(m);
        }
      }
    }
    list = list.filter((e) => !(matches.includes(e) && isHollow(e, attr)));
  }

  normalisePrimary(list, primaried);
  if (list.length === 0) deleteProp(obj, attr.name);
  else setProp(obj, attr.name, list);
}

/** RFC 7643 §2.4: at most one element is primary; the one set last wins. */
function normalisePrimary(list: unknown[], primaried: Set<unknown>): void {
  const primaries = list.filter((e): e is Json => isObject(e) && getProp(e, "primary") === true);
  if (primaries.length <= 1) return;
  const touched = primaries.filter((e) => primaried.has(e));
  const keep = (touched.length > 0 ? touched : primaries).at(-1);
  for (const e of primaries) if (e !== keep) setProp(e, "primary", false);
}

/**
 * Applies a path-less add/replace value (or the value of a path naming a whole schema): each key
 * is an attribute, `attr.sub`, a full PATCH path, a URN-qualified attribute, or an extension URN
 * holding an object of its attributes. Unknown and read-only keys are ignored (Okta sends `id`).
 */
function applyObject(ctx: Context, op: PatchOpName, value: Json, schema: SchemaDef | undefined): void {
  for (const [key, v] of Object.entries(value)) {
    const path = schema ? `${schema.id}:${key}` : key;
    const resolution = resolveTarget(ctx.type, path, false);
    if (resolution.kind === "skip") {
      if (resolution.reason) ctx.ignore(path, resolution.reason);
      continue;
    }
    if (resolution.kind === "schema") {
      if (schema) ctx.ignore(path, "a schema inside a schema");
      else if (!isObject(v)) ctx.ignore(path, `a schema's value must be an object, not ${describe(v)}`);
      else applyObject(ctx, op, v, resolution.schema);
      continue;
    }
    applyToTarget(ctx, op, resolution.target, v);
  }
}

function applyOperation(ctx: Context, operation: PatchOperation): void {
  const { op, path, value } = operation;
  if (op !== "remove" && value === undefined) {
    throw badRequest("invalidSyntax", `"${op}" needs a "value" member.`);
  }
  if (path === undefined) {
    if (op === "remove") throw badRequest("noTarget", `"remove" needs a "path" naming what to remove.`);
    if (!isObject(value)) {
      throw invalidValue(`"${op}" without a "path" needs a "value" that is an object of attributes, not ${describe(value)}.`);
    }
    applyObject(ctx, op, value, undefined);
    return;
  }
  const resolution = resolveTarget(ctx.type, path, true);
  if (resolution.kind === "skip") {
    if (resolution.reason) ctx.ignore(path, resolution.reason);
    return;
  }
  if (resolution.kind === "schema") {
    if (op === "remove") {
      if (resolution.extension) deleteProp(ctx.root, resolution.schema.id);
      else throw badRequest("noTarget", `"remove" cannot target the whole resource (path "${path}").`);
      return;
    }
    if (value === null || value === "") {
      if (resolution.extension) deleteProp(ctx.root, resolution.schema.id);
      return;
    }
    if (!isObject(value)) {
      throw invalidValue(`PATCH path "${path}" names a schema; its "value" must be an object of that schema's attributes, not ${describe(value)}.`);
    }
    applyObject(ctx, op, value, resolution.schema);
    return;
  }
  applyToTarget(ctx, op, resolution.target, value);
}

// ---------------------------------------------------------------------------------------------
// The envelope
// ---------------------------------------------------------------------------------------------

const ENVELOPE_HINT = `Send {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"…","value":…}]}.`;

/**
 * Reads a PatchOp body into normalised operations (lenient: `Operations` and the op member names
 * are matched case-insensitively, `op` values too, `schemas` may be missing). Throws 400
 * invalidSyntax when the envelope is unusable.
 */
export function readOperations(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw badRequest("invalidSyntax", `The PATCH body must be a JSON object with an "Operations" array. ${ENVELOPE_HINT}`);
  const key = keyOf(body, "Operations");
  if (key === undefined) throw badRequest("invalidSyntax", `The PATCH body has no "Operations" array. ${ENVELOPE_HINT}`);
  const raw = body[key];
  if (!Array.isArray(raw)) throw badRequest("invalidSyntax", `"Operations" must be an array of operations, not ${describe(raw)}. ${ENVELOPE_HINT}`);
  return raw.map((item, i) => {
    if (!isObject(item)) throw badRequest("invalidSyntax", `Operations[${i}] must be an object with "op", "path" and "value", not ${describe(item)}.`);
    const opKey = keyOf(item, "op");
    const opValue = opKey === undefined ? undefined : item[opKey];
    if (typeof opValue !== "string") throw badRequest("invalidSyntax", `Operations[${i}] has no "op"; use "add", "replace" or "remove".`);
    const op = OPS[lower(opValue.trim())];
    if (!op) throw badRequest("invalidSyntax", `Operations[${i}] has unsupported op "${opValue}"; use "add", "replace" or "remove".`);
    const pathKey = keyOf(item, "path");
    const pathValue = pathKey === undefined ? undefined : item[pathKey];
    if (pathValue !== undefined && pathValue !== null && typeof pathValue !== "string") {
      throw badRequest("invalidPath", `Operations[${i}].path must be a string, not ${describe(pathValue)}.`);
    }
    const operation: PatchOperation = { op };
    if (typeof pathValue === "string" && pathValue.trim() !== "") operation.path = pathValue;
    const valueKey = keyOf(item, "value");
    if (valueKey !== undefined) operation.value = item[valueKey];
    return operation;
  });
}

/**
 * Drops extension objects the PATCH emptied, and keeps `schemas` (when the resource has one) in
 * step with the extension objects the PATCH added or removed.
 */
function syncSchemas(root: Json, before: Json, type: ResourceTypeDef): void {
  for (const ext of type.extensions) {
    const value = getProp(root, ext.id);
    if (isObject(value) && Object.keys(value).length === 0) deleteProp(root, ext.id);
  }
  const schemas = root.schemas;
  if (!Array.isArray(schemas)) return;
  let next = [...schemas];
  for (const ext of type.extensions) {
    const value = getProp(root, ext.id);
    const hasObject = isObject(value);
    const listed = next.some((s) => typeof s === "string" && lower(s) === lower(ext.id));
    if (hasObject && !listed) next.push(ext.id);
    const hadObject = isObject(getProp(before, ext.id));
    if (!hasObject && hadObject && listed) next = next.filter((s) => !(typeof s === "string" && lower(s) === lower(ext.id)));
  }
  root.schemas = next;
}

/** At most this many ignored parts are named (the log's detail is short); the rest are counted. */
const MAX_IGNORED_NAMED = 5;

/**
 * Applies a SCIM PatchOp `body` to `resource` (its SCIM JSON: core attributes at the top level
 * under their canonical names, each extension as an object under its URN): the new resource, and
 * what the PATCH named that was ignored (`path (why)`, for the provisioning log). Never mutates
 * `resource`; throws ApiError (400, with a scimType) on any invalid operation, in which case
 * nothing is applied.
 */
export function patchResource(resource: Record<string, unknown>, body: unknown, type: ResourceTypeDef): { resource: Record<string, unknown>; ignored: string[] } {
  const operations = readOperations(body);
  const ignored: string[] = [];
  const ctx: Context = { root: deepClone(resource), type, ignore: (what, why) => ignored.push(`${what} (${why})`) };
  operations.forEach((operation, i) => {
    try {
      applyOperation(ctx, operation);
    } catch (error) {
      if (error instanceof ApiError && error.message !== PASSWORD_SYNC_REFUSED) {
        const where = operation.path === undefined ? `Operations[${i}] (${operation.op})` : `Operations[${i}] (${operation.op} "${operation.path}")`;
        throw new ApiError(error.status, `${where}: ${error.message}`, { scimType: error.scimType, headers: error.headers });
      }
      throw error;
    }
  });
  syncSchemas(ctx.root, resource, type);
  return { resource: ctx.root, ignored };
}

/** patchResource's new resource alone. */
export function applyPatch(resource: Record<string, unknown>, body: unknown, type: ResourceTypeDef): Record<string, unknown> {
  return patchResource(resource, body, type).resource;
}

/** The log's words for what a PATCH ignored (empty when nothing was). */
export function ignoredNote(ignored: string[]): string {
  if (ignored.length === 0) return "";
  const named = ignored.slice(0, MAX_IGNORED_NAMED).join(", ");
  return `ignored: ${named}${ignored.length > MAX_IGNORED_NAMED ? ` and ${ignored.length - MAX_IGNORED_NAMED} more` : ""}`;
}

/**
 * Input normalisation for POST and PUT bodies (and for the result of a PATCH): turns whatever an
 * IdP sent into the canonical stored document of a resource type.
 *
 * Lenient where real IdPs deviate (RFC 7643 §2.1, okta.md §c): attribute names match
 * case-insensitively and are stored under their canonical spelling; read-only and unknown
 * attributes are ignored, never rejected; `null` and `""` clear an attribute; `"True"`/`"False"`
 * become booleans; a scalar where a list is expected is wrapped, a singleton list where a scalar is
 * expected is unwrapped; the enterprise extension is accepted whether or not its URN is in
 * `schemas`. Strict where guessing would lose data: a value of the wrong shape is a 400
 * `invalidValue` naming the attribute.
 */
import { ApiError } from "./errors";
import { isObject } from "./json";
import { IDENTIFIER_RULE, MAX_IDENTIFIER_LENGTH, MAX_STRING_LENGTH } from "./limits";
import { COMMON_ATTRIBUTES, findAttribute, type AttributeDef, type ResourceTypeDef, type SchemaDef } from "./schema";

const EXTERNAL_ID = findAttribute(COMMON_ATTRIBUTES, "externalId")!;

export type ScimDocument = Record<string, unknown>;

/**
 * Whether `value` is already stored at `path` (e.g. `userName`, `emails.value`). Such a value is
 * not held to the length and character limits: a name stored before the limits existed must not
 * make every later PUT or PATCH of its resource fail. Limits apply to what a request changes.
 */
type Stored = (path: string, value: string) => boolean;
const nothingStored: Stored = () => false;

/** The string values of a stored document by the paths sanitizing uses (extension attributes by their own name). */
function storedValues(doc: ScimDocument | undefined): Stored {
  if (!doc) return nothingStored;
  const seen = new Set<string>();
  const walk = (value: unknown, path: string): void => {
    if (typeof value === "string") seen.add(`${path}\u0000${value}`);
    else if (Array.isArray(value)) for (const element of value) walk(element, path);
    else if (isObject(value)) for (const [key, inner] of Object.entries(value)) walk(inner, `${path}.${key}`);
  };
  for (const [key, value] of Object.entries(doc)) {
    if (key.toLowerCase().startsWith("urn:") && isObject(value)) for (const [name, inner] of Object.entries(value)) walk(inner, name);
    else walk(value, key);
  }
  return (path, value) => seen.has(`${path}\u0000${value}`);
}

const invalid = (path: string, expected: string, got: unknown) =>
  new ApiError(400, `Attribute '${path}' must be ${expected}; got ${JSON.stringify(got)?.slice(0, 80)}.`, { scimType: "invalidValue" });


/** True for the values that mean "no value" in SCIM input: absent, null, "" and empty lists/objects. */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isObject(value)) return Object.keys(value).length === 0;
  return false;
}

export function coerceBoolean(value: unknown, path: string): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === "true";
  throw invalid(path, "a boolean (true or false)", value);
}

function characterCount(value: string, atMost: number): number {
  // Code points, not UTF-16 units; a string this long in units cannot be short in code points.
  return value.length > atMost * 2 ? value.length : [...value].length;
}

/**
 * A string attribute's value. Identifiers (userName, displayName, externalId) must arrive as JSON
 * strings, never numbers or lists that would be stored as something else, and follow IDENTIFIER_RULE;
 * other strings may arrive as numbers or booleans (stored as their text), at most MAX_STRING_LENGTH
 * characters and without NUL, which no consumer of the directory can carry.
 */
function coerceString(value: unknown, path: string, attribute?: AttributeDef, stored = nothingStored): string {
  if (typeof value === "string" && stored(path, value)) return value;
  if (attribute?.identifier) {
    if (typeof value !== "string") throw invalid(path, `a string (${IDENTIFIER_RULE})`, value);
    if (!value.trim()) throw invalid(path, `not blank (${IDENTIFIER_RULE})`, value);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(path, `free of control characters (${IDENTIFIER_RULE})`, value);
    const n = characterCount(value, MAX_IDENTIFIER_LENGTH);
    if (n > MAX_IDENTIFIER_LENGTH) throw new ApiError(400, `Attribute '${path}' is ${n} characters long; at most ${MAX_IDENTIFIER_LENGTH} are accepted. ${IDENTIFIER_RULE}`, { scimType: "invalidValue" });
    return value;
  }
  const text = typeof value === "string" ? value : typeof value === "number" || typeof value === "boolean" ? String(value) : undefined;
  if (text === undefined) throw invalid(path, "a string", value);
  if (text.includes("\u0000")) throw invalid(path, "a string without NUL characters", value);
  const n = characterCount(text, MAX_STRING_LENGTH);
  if (n > MAX_STRING_LENGTH) throw new ApiError(400, `Attribute '${path}' is ${n} characters long; at most ${MAX_STRING_LENGTH} are accepted.`, { scimType: "invalidValue" });
  return text;
}

/** Unwraps `["x"]` to `"x"` for single-valued attributes (Entra wraps scalars), identifiers excepted. */
function unwrapSingleton(value: unknown, attribute: AttributeDef, path: string): unknown {
  if (!Array.isArray(value)) return value;
  if (attribute.identifier) throw invalid(path, `a string, not a list (${IDENTIFIER_RULE})`, value);
  if (value.length === 0) return undefined;
  if (value.length === 1) return value[0];
  throw invalid(path, `a single value (${attribute.name} is not multi-valued)`, value);
}

function sanitizeScalar(value: unknown, attribute: AttributeDef, path: string, stored: Stored): unknown {
  switch (attribute.type) {
    case "boolean":
      return coerceBoolean(value, path);
    case "integer": {
      const n = typeof value === "string" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isInteger(n)) throw invalid(path, "an integer", value);
      return n;
    }
    case "decimal": {
      const n = typeof value === "string" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isFinite(n)) throw invalid(path, "a number", value);
      return n;
    }
    case "dateTime": {
      const s = coerceString(value, path);
      if (Number.isNaN(Date.parse(s))) throw invalid(path, "an ISO 8601 date-time", value);
      return s;
    }
    default:
      return coerceString(value, path, attribute, stored);
  }
}

function sanitizeComplex(value: unknown, attribute: AttributeDef, path: string, stored: Stored): ScimDocument | undefined {
  // A bare scalar for a complex attribute means its `value` (Entra's `manager: "id"`, `emails: "a@b"`).
  const object = isObject(value) ? value : findAttribute(attribute.subAttributes, "value") ? { value } : undefined;
  if (!object) throw invalid(path, "an object", value);
  const out: ScimDocument = {};
  for (const [key, raw] of Object.entries(object)) {
    const sub = findAttribute(attribute.subAttributes, key);
    if (!sub || sub.mutability === "readOnly") continue;
    const single = unwrapSingleton(raw, sub, `${path}.${sub.name}`);
    if (isEmptyValue(single)) continue;
    out[sub.name] = sanitizeScalar(single, sub, `${path}.${sub.name}`, stored);
  }
  return Object.keys(out).length ? out : undefined;
}

/** Multi-valued: a list of elements, duplicates dropped, at most one `primary` (RFC 7643 §2.4). */
function sanitizeMulti(value: unknown, attribute: AttributeDef, path: string, stored: Stored): unknown[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  const out: unknown[] = [];
  const seen = new Set<string>();
  for (const element of list) {
    if (isEmptyValue(element)) continue;
    const clean = attribute.type === "complex" ? sanitizeComplex(element, attribute, path, stored) : sanitizeScalar(element, attribute, path, stored);
    if (clean === undefined) continue;
    const key = JSON.stringify(clean);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(clean);
  }
  if (attribute.type === "complex") {
    const primaries = out.filter((e) => (e as ScimDocument).primary === true);
    for (const extra of primaries.slice(1)) delete (extra as ScimDocument).primary;
  }
  return out.length ? out : undefined;
}

export function sanitizeAttribute(value: unknown, attribute: AttributeDef, path = attribute.name, stored = nothingStored): unknown {
  if (isEmptyValue(value)) return undefined;
  if (attribute.multiValued) return sanitizeMulti(value, attribute, path, stored);
  const single = unwrapSingleton(value, attribute, path);
  if (isEmptyValue(single)) return undefined;
  return attribute.type === "complex" ? sanitizeComplex(single, attribute, path, stored) : sanitizeScalar(single, attribute, path, stored);
}

function sanitizeSchemaAttributes(input: Record<string, unknown>, schema: SchemaDef, into: ScimDocument, stored: Stored): void {
  for (const [key, raw] of Object.entries(input)) {
    const attribute = findAttribute(schema.attributes, key);
    if (!attribute || attribute.mutability === "readOnly") continue;
    const clean = sanitizeAttribute(raw, attribute, attribute.name, stored);
    if (clean === undefined) delete into[attribute.name];
    else into[attribute.name] = clean;
  }
}

/**
 * The canonical document for `type` from client input: core attributes at the top level (plus
 * `externalId`), each extension as an object under its URN. Nothing read-only, nothing unknown.
 * `current`: the stored document a PUT or PATCH replaces; values it already holds are kept as they
 * are (see Stored), so limits apply only to what the request changes.
 */
export function sanitizeResource(input: Record<string, unknown>, type: ResourceTypeDef, current?: ScimDocument): ScimDocument {
  const stored = storedValues(current);
  const doc: ScimDocument = {};
  const extensionValues = new Map<SchemaDef, Record<string, unknown>>();

  for (const [key, raw] of Object.entries(input)) {
    const lower = key.toLowerCase();
    if (lower === "externalid") {
      const clean = sanitizeAttribute(raw, EXTERNAL_ID, EXTERNAL_ID.name, stored);
      if (clean !== undefined) doc.externalId = clean;
      continue;
    }
    if (!lower.startsWith("urn:")) continue;
    // `urn:…:enterprise:2.0:User` → the extension object; `urn:…:enterprise:2.0:User:department` → one attribute.
    for (const extension of type.extensions) {
      const urn = extension.id.toLowerCase();
      if (lower === urn && isObject(raw)) {
        extensionValues.set(extension, { ...(extensionValues.get(extension) ?? {}), ...raw });
      } else if (lower.startsWith(urn + ":")) {
        extensionValues.set(extension, { ...(extensionValues.get(extension) ?? {}), [key.slice(urn.length + 1)]: raw });
      }
    }
    if (lower.startsWith(type.schema.id.toLowerCase() + ":")) {
      // A core attribute written URN-qualified, e.g. `urn:…:core:2.0:User:userName`.
      sanitizeSchemaAttributes({ [key.slice(type.schema.id.length + 1)]: raw }, type.schema, doc, stored);
    }
  }
  sanitizeSchemaAttributes(input, type.schema, doc, stored);

  for (const [extension, values] of extensionValues) {
    const ext: ScimDocument = {};
    sanitizeSchemaAttributes(values, extension, ext, stored);
    if (Object.keys(ext).length) doc[extension.id] = ext;
  }

  for (const attribute of type.schema.attributes) {
    if (attribute.required && isEmptyValue(doc[attribute.name])) {
      throw new ApiError(400, `Attribute '${attribute.name}' is required.`, { scimType: "invalidValue" });
    }
  }
  return doc;
}

/**
 * In-memory filter evaluation over a SCIM resource as returned to clients, plus the attribute and
 * literal checks shared with the SQL compiler (sql.ts), so both reject exactly the same filters
 * and agree on what matches.
 *
 * Semantics (RFC 7644 §3.4.2.2, with the choices this server makes):
 * - Attribute names resolve case-insensitively through the schema; an unknown attribute is a 400
 *   invalidFilter naming it (never a silent empty result). An unqualified name that is not in the
 *   core schema is also looked up in the extensions (`department` → the enterprise extension).
 * - Strings compare after `foldCase` unless the attribute is caseExact; gt/ge/lt/le on strings are
 *   lexicographic (UTF-16 code units, after folding).
 * - dateTime compares as instants; the literal must be an ISO 8601 date or date-time (no offset
 *   means UTC), else 400. Booleans accept only eq/ne, with true/false or "true"/"false" (any case).
 *   co/sw/ew apply to strings only.
 * - Multi-valued: any element matching is a match; a complex multi-valued attribute compared
 *   without a sub-attribute (`emails eq "x"`) compares its `value` sub-attribute.
 * - `pr`: present and not null, "", [] or {}. `eq null` ≡ `not pr`, `ne null` ≡ `pr`.
 * - `ne` is the negation of `eq` over the whole attribute (a missing attribute is `ne` anything).
 * - A User's `active`, when missing, is `true` (TheStorage reads a user without `active` as active;
 *   the SQL side filters on the `active` column, derived the same way): `active pr` holds for every User.
 * - A value filter `emails[...]` holds when one element (an object) satisfies the inner filter,
 *   whose paths are sub-attribute names; on a singular complex attribute the object itself is the
 *   one element.
 */
import { badRequest } from "../errors";
import { fieldOf, isObject } from "../json";
import { findAttribute, resolvePath, type AttributeDef, type ResolvedPath, type ResourceTypeDef } from "../schema";
import { foldCase } from "../text";
import type { AttributePath, CompareOperator, Filter, FilterValue } from "./ast";
import { formatPath, invalidFilter } from "./parse";

// ---------------------------------------------------------------------------------------------
// Shared with sql.ts
// ---------------------------------------------------------------------------------------------

/**
 * Resolves a filter path against the resource type, case-insensitively. Throws 400 invalidFilter
 * naming the attribute when it is unknown.
 */
export function resolveFilterPath(path: AttributePath, type: ResourceTypeDef): ResolvedPath {
  const text = formatPath(path);
  const resolved = resolvePath(type, text) ?? (path.schema === undefined ? resolveInExtensions(text, type) : undefined);
  if (!resolved) throw invalidFilter(`unknown attribute "${text}" for resource type ${type.name}.`);
  return resolved;
}

function resolveInExtensions(text: string, type: ResourceTypeDef): ResolvedPath | undefined {
  for (const extension of type.extensions) {
    const resolved = resolvePath(type, `${extension.id}:${text}`);
    if (resolved) return resolved;
  }
  return undefined;
}

/**
 * Resolves a path inside a value filter (`emails[type eq "work"]`): a sub-attribute name of the
 * complex attribute `parent`.
 */
export function resolveSubAttribute(path: AttributePath, parent: AttributeDef): AttributeDef {
  const text = formatPath(path);
  if (path.schema !== undefined || path.subAttribute !== undefined) {
    throw invalidFilter(`inside "${parent.name}[...]" use a sub-attribute name of ${parent.name} alone, not "${text}".`);
  }
  const sub = findAttribute(parent.subAttributes, path.attribute);
  if (!sub) throw invalidFilter(`unknown sub-attribute "${path.attribute}" of "${parent.name}".`);
  return sub;
}

/** The attribute a comparison applies to: the sub-attribute, else `value` of a multi-valued complex one. */
export function comparedAttribute(resolved: ResolvedPath, pathText: string): AttributeDef {
  if (resolved.subAttribute) return resolved.subAttribute;
  const attribute = resolved.attribute;
  if (attribute.type !== "complex") return attribute;
  const value = attribute.multiValued ? findAttribute(attribute.subAttributes, "value") : undefined;
  if (value) return value;
  const subs = (attribute.subAttributes ?? []).map((s) => `${pathText}.${s.name}`).slice(0, 3).join(", ");
  throw invalidFilter(`"${pathText}" is complex; compare one of its sub-attributes (such as ${subs}) instead.`);
}

/** A comparison literal, checked against the attribute type and normalised. */
export type Operand =
  | { kind: "string"; value: string; caseExact: boolean }
  | { kind: "boolean"; value: boolean }
  | { kind: "dateTime"; ms: number; iso: string }
  | { kind: "number"; value: number };

const SUBSTRING: readonly CompareOperator[] = ["co", "sw", "ew"];

/**
 * Checks operator and literal against the attribute type and returns the normalised operand.
 * `value` must not be null (callers rewrite `eq null`/`ne null` to presence first).
 */
export function checkOperand(op: CompareOperator, value: Exclude<FilterValue, null>, attribute: AttributeDef, pathText: string): Operand {
  switch (attribute.type) {
    case "string":
    case "reference":
      // Bare numbers/booleans (Entra's unquoted values) compare as their text.
      return { kind: "string", value: String(value), caseExact: attribute.caseExact };
    case "boolean": {
      if (op !== "eq" && op !== "ne") throw invalidFilter(`"${op}" cannot be applied to the boolean attribute "${pathText}"; use eq or ne.`);
      const b = typeof value === "boolean" ? value : typeof value === "string" ? /^(true|false)$/i.exec(value)?.[0].toLowerCase() : undefined;
      if (b === undefined) throw invalidFilter(`expected true or false for the boolean attribute "${pathText}", found ${JSON.stringify(value)}.`);
      return { kind: "boolean", value: b === true || b === "true" };
    }
    case "dateTime": {
      if (SUBSTRING.includes(op)) throw invalidFilter(`"${op}" applies to strings only; "${pathText}" is a dateTime.`);
      const ms = typeof value === "string" ? parseDateTimeLiteral(value) : NaN;
      if (Number.isNaN(ms)) {
        throw invalidFilter(`expected an ISO 8601 date-time (such as "2024-01-31T12:00:00Z") for "${pathText}", found ${JSON.stringify(value)}.`);
      }
      return { kind: "dateTime", ms, iso: new Date(ms).toISOString() };
    }
    case "decimal":
    case "integer": {
      if (SUBSTRING.includes(op)) throw invalidFilter(`"${op}" applies to strings only; "${pathText}" is a number.`);
      if (typeof value !== "number") throw invalidFilter(`expected a number for "${pathText}", found ${JSON.stringify(value)}.`);
      return { kind: "number", value };
    }
    case "complex":
    default:
      throw invalidFilter(`"${pathText}" is complex; compare one of its sub-attributes instead.`);
  }
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Parses an ISO 8601 date or date-time literal to epoch milliseconds (NaN when invalid). A missing
 * offset means UTC, so the result never depends on the server's time zone.
 */
export function parseDateTimeLiteral(text: string): number {
  const trimmed = text.trim();
  if (!ISO_DATE.test(trimmed)) return NaN;
  let normalised = trimmed.replace(" ", "T").replace(/(\.\d{3})\d+/, "$1");
  if (normalised.length > 10 && !/(?:[Zz]|[+-]\d{2}:?\d{2})$/.test(normalised)) normalised += "Z";
  const ms = Date.parse(normalised);
  // Reject calendar overflow such as 2024-02-30, which Date.parse may roll over.
  if (Number.isNaN(ms) || new Date(ms).getUTCFullYear() > 9999) return NaN;
  const [y, m, d] = trimmed.slice(0, 10).split("-").map(Number);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999, and every RFC 3339 year
  // (0000–9999) is valid; Microsoft's full sync asks for `meta.lastModified gt "0001-01-03T…"`.
  const day = new Date(0);
  day.setUTCFullYear(y, m - 1, d);
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return NaN;
  return ms;
}

/** RFC 7643 §2.5: unassigned, null, "", [] and {} are all "not present". */
export function isPresent(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return true;
}

/** Ensures a compare node's literal/op combination is well-formed before type checks: null only with eq/ne. */
export function checkNullLiteral(op: CompareOperator, pathText: string): void {
  if (op !== "eq" && op !== "ne") throw invalidFilter(`null can only be compared with eq or ne ("${pathText} ${op} null").`);
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/**
 * True when `resource` (its client representation) satisfies `filter`. The whole filter is checked
 * first (throws 400 invalidFilter), so a bad branch is reported even where `and`/`or` would
 * short-circuit past it — the same filters the SQL compiler rejects.
 */
export function matchesFilter(filter: Filter, resource: Record<string, unknown>, type: ResourceTypeDef): boolean {
  return compileMatcher(filter, type)(resource);
}

/** Checks `filter` once and returns a predicate over resources (for filtering many in memory). */
export function compileMatcher(filter: Filter, type: ResourceTypeDef): (resource: Record<string, unknown>) => boolean {
  const predicate = build(filter, (path) => topLevelAccessor(path, type), false);
  return (resource) => {
    if (resource === null || typeof resource !== "object") throw badRequest("invalidFilter", "Invalid filter: nothing to evaluate it against.");
    return predicate(resource);
  };
}

/** Where a path's values are, in the current scope (the resource, or one element inside a value filter). */
interface Accessor {
  pathText: string;
  resolved: ResolvedPath;
  /** The values compared: one per element for multi-valued attributes; `[value]` for singular ones. */
  values(scope: Record<string, unknown>): unknown[];
  /** Set for complex attributes: the objects a value filter iterates (and, when multi-valued, what `pr` counts). */
  elements?(scope: Record<string, unknown>): Record<string, unknown>[];
}

type Predicate = (scope: Record<string, unknown>) => boolean;
type Resolver = (path: AttributePath) => Accessor;

function build(filter: Filter, resolve: Resolver, inValuePath: boolean): Predicate {
  switch (filter.kind) {
    case "and": {
      const [left, right] = [build(filter.left, resolve, inValuePath), build(filter.right, resolve, inValuePath)];
      return (scope) => left(scope) && right(scope);
    }
    case "or": {
      const [left, right] = [build(filter.left, resolve, inValuePath), build(filter.right, resolve, inValuePath)];
      return (scope) => left(scope) || right(scope);
    }
    case "not": {
      const inner = build(filter.filter, resolve, inValuePath);
      return (scope) => !inner(scope);
    }
    case "present":
      return presence(resolve(filter.path));
    case "compare": {
      const accessor = resolve(filter.path);
      if (filter.value === null) {
        checkNullLiteral(filter.op, accessor.pathText);
        const isPresent = presence(accessor);
        return filter.op === "eq" ? (scope) => !isPresent(scope) : isPresent;
      }
      const attribute = comparedAttribute(accessor.resolved, accessor.pathText);
      const operand = checkOperand(filter.op, filter.value, attribute, accessor.pathText);
      const op = filter.op === "ne" ? "eq" : filter.op;
      const negate = filter.op === "ne";
      return (scope) => accessor.values(scope).some((v) => compareValue(v, op, operand)) !== negate;
    }
    case "valuePath": {
      if (inValuePath) throw invalidFilter("value filters cannot be nested.");
      const accessor = resolve(filter.path);
      const parent = accessor.resolved.attribute;
      if (parent.type !== "complex" || accessor.resolved.subAttribute || !accessor.elements) {
        throw invalidFilter(`a value filter "[...]" needs a complex attribute; "${accessor.pathText}" is not one.`);
      }
      const elements = accessor.elements;
      const inner = build(filter.filter, (p) => elementAccessor(p, parent, accessor.resolved), true);
      return (scope) => elements(scope).some(inner);
    }
  }
}

function presence(accessor: Accessor): Predicate {
  const { elements } = accessor;
  // A multi-valued complex attribute is present when it has an element.
  if (elements && accessor.resolved.attribute.multiValued) return (scope) => elements(scope).length > 0;
  return (scope) => accessor.values(scope).some(isPresent);
}

function compareValue(value: unknown, op: CompareOperator, operand: Operand): boolean {
  switch (operand.kind) {
    case "string": {
      if (typeof value !== "string") return false;
      const a = operand.caseExact ? value : foldCase(value);
      const b = operand.caseExact ? operand.value : foldCase(operand.value);
      switch (op) {
        case "co":
          return a.includes(b);
        case "sw":
          return a.startsWith(b);
        case "ew":
          return a.endsWith(b);
        default:
          return order(a, b, op);
      }
    }
    case "boolean":
      return typeof value === "boolean" && value === operand.value;
    case "dateTime": {
      if (typeof value !== "string") return false;
      const ms = Date.parse(value);
      return !Number.isNaN(ms) && order(ms, operand.ms, op);
    }
    case "number":
      return typeof value === "number" && order(value, operand.value, op);
  }
}

function order<T extends string | number>(a: T, b: T, op: CompareOperator): boolean {
  switch (op) {
    case "eq":
      return a === b;
    case "gt":
      return a > b;
    case "ge":
      return a >= b;
    case "lt":
      return a < b;
    case "le":
      return a <= b;
    default:
      return false;
  }
}

function topLevelAccessor(path: AttributePath, type: ResourceTypeDef): Accessor {
  const resolved = resolveFilterPath(path, type);
  const pathText = formatPath(path);
  const { attribute, subAttribute } = resolved;
  const raw = (scope: Record<string, unknown>) => {
    const container = resolved.extension ? fieldOf(scope, resolved.schema) : scope;
    return fieldOf(container, attribute.name);
  };
  if (attribute.multiValued) {
    const list = (scope: Record<string, unknown>) => {
      const value = raw(scope);
      return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
    };
    if (attribute.type !== "complex") return { pathText, resolved, values: list };
    const elements = (scope: Record<string, unknown>) => list(scope).filter(isObject);
    if (subAttribute) return { pathText, resolved, values: (scope) => elements(scope).map((e) => fieldOf(e, subAttribute.name)) };
    // Without a sub-attribute, comparisons use `value` (comparedAttribute rejects types without one).
    const value = findAttribute(attribute.subAttributes, "value")?.name ?? "value";
    return { pathText, resolved, elements, values: (scope) => elements(scope).map((e) => fieldOf(e, value)) };
  }
  // A User without `active` (removed by a PATCH) is active, as the `active` column SQL filters on says.
  if (type.name === "User" && !resolved.extension && attribute.name === "active") return { pathText, resolved, values: (scope) => [raw(scope) !== false] };
  if (subAttribute) return { pathText, resolved, values: (scope) => [fieldOf(raw(scope), subAttribute.name)] };
  if (attribute.type === "complex") return { pathText, resolved, elements: (scope) => objectElements(raw(scope)), values: (scope) => [raw(scope)] };
  return { pathText, resolved, values: (scope) => [raw(scope)] };
}

function elementAccessor(path: AttributePath, parent: AttributeDef, outer: ResolvedPath): Accessor {
  const sub = resolveSubAttribute(path, parent);
  // Resolved as `parent.sub`, so type checks and messages read like the top-level form.
  const resolved: ResolvedPath = { ...outer, attribute: parent, subAttribute: sub };
  return { pathText: `${parent.name}.${sub.name}`, resolved, values: (element) => [fieldOf(element, sub.name)] };
}

function objectElements(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.filter(isObject);
  return isObject(value) ? [value] : [];
}


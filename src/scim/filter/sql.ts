/**
 * Compiles a filter AST (and sortBy/sortOrder) to drizzle `sql` fragments over the tenant tables.
 *
 * - Every literal is a bound parameter. JSON paths are built only from the schema's canonical
 *   attribute names (never from client text) and inlined, which keeps the parameter count low:
 *   D1 allows 100 bound parameters per statement, so a filter may bind at most
 *   MAX_FILTER_PARAMETERS (one per comparison) and the caller has room for its own.
 * - Every predicate is two-valued (never SQL NULL), so `not`/`ne` over a missing attribute behave
 *   like the in-memory evaluator (evaluate.ts), whose checks this module shares.
 * - Promoted columns are used where the contract provides them (`user_name_norm`,
 *   `display_name_norm` compared to `foldCase(literal)`, `external_id`, `active`, `created_at`,
 *   `updated_at`; `active` is false only when the document says `false`, so a User whose `active`
 *   was removed matches `active eq true` and `active pr`); membership (`members` on groups, `groups` on users) is an EXISTS over
 *   `group_members`; everything else reads `json_extract(data, …)` / `json_each(data, …)`.
 * - Case-insensitive comparisons on JSON values use SQLite's `lower()`, which folds ASCII only,
 *   while the evaluator uses `foldCase` (NFKC + full Unicode lower-casing). They agree on ASCII;
 *   for other letters SQL matches case-sensitively. The `*_norm` columns are folded by the writer
 *   with `foldCase`, so userName/displayName comparisons agree fully.
 */
import { sql, type SQL } from "drizzle-orm";
import { groupMembers, groups, users } from "../../db/tenant/schema";
import { badRequest } from "../errors";
import { findAttribute, type AttributeDef, type ResolvedPath, type ResourceTypeDef } from "../schema";
import { foldCase } from "../text";
import type { AttributePath, CompareOperator, Filter } from "./ast";
import {
  checkNullLiteral,
  checkOperand,
  comparedAttribute,
  resolveFilterPath,
  resolveSubAttribute,
  type Operand,
} from "./evaluate";
import { formatPath, invalidFilter, parseAttributePath } from "./parse";
import { CUSTOM_SCHEMA_ID } from "../../attributes/core";

/** At most this many literals per filter (D1: 100 bound parameters per statement). */
export const MAX_FILTER_PARAMETERS = 64;

const TRUE = sql.raw("1");
const FALSE = sql.raw("0");

// ---------------------------------------------------------------------------------------------
// Targets: where a path's value lives in SQL
// ---------------------------------------------------------------------------------------------

/** A single value: a column (or constant), or a JSON value at a path inside a JSON document. */
type Scalar =
  | {
      kind: "column";
      expr: SQL;
      nullable: boolean;
      /** The column holds `foldCase(value)`: compare it raw to `foldCase(literal)`. */
      folded?: boolean;
    }
  /** `path`: a JSON path literal, or SQL yielding one (an element of a simple multi-valued attribute: `j.fullkey`). */
  | { kind: "json"; doc: SQL; path: string | SQL };

/** A set of elements (one row each) with a way to reach each element's sub-attributes. */
interface Elements {
  /** `FROM … WHERE …` body of an EXISTS subquery, correlated to the outer row. */
  from: SQL;
  element(sub: AttributeDef, pathText: string): Scalar;
}

type Target =
  | { kind: "scalar"; scalar: Scalar; resolved: ResolvedPath; pathText: string }
  | { kind: "elements"; elements: Elements; sub?: AttributeDef; resolved: ResolvedPath; pathText: string }
  /** A singular complex attribute stored as a JSON object (valid for `pr` and value filters). */
  | { kind: "object"; doc: SQL; path: string; resolved: ResolvedPath; pathText: string };

type Resolver = (path: AttributePath) => Target;

interface Context {
  type: ResourceTypeDef;
  params: number;
  /** A comparison that must hold for every match (a top-level conjunct) is answered by the text index. */
  textIndexed: boolean;
}

const isUser = (type: ResourceTypeDef) => type.name === "User";

/** `$.a.b`, quoting keys that are not plain identifiers (the extension URN: `$."urn:…:User".department`). */
export function jsonPath(keys: string[]): string {
  return "$" + keys.map((k) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `.${k}` : `."${k.replace(/(["\\])/g, "\\$1")}"`)).join("");
}

/** A JSON path as an SQL string literal. Only ever called with schema-defined names. */
function pathLiteral(path: string | SQL): SQL {
  return typeof path === "string" ? sql.raw(`'${path.replace(/'/g, "''")}'`) : path;
}

function topLevelTarget(path: AttributePath, ctx: Context): Target {
  const resolved = resolveFilterPath(path, ctx.type);
  const pathText = formatPath(path);
  const { attribute, subAttribute } = resolved;
  const user = isUser(ctx.type);
  const table = user ? users : groups;
  const name = attribute.name;

  // Promoted columns and attributes not stored in `data`.
  if (!resolved.extension) {
    if (name === "id") return scalar({ kind: "column", expr: sql`${table.id}`, nullable: false });
    if (name === "externalId") return scalar({ kind: "column", expr: sql`${table.externalId}`, nullable: true });
    if (user && name === "userName") return scalar({ kind: "column", expr: sql`${users.userNameNorm}`, nullable: false, folded: true });
    if (!user && name === "displayName") return scalar({ kind: "column", expr: sql`${groups.displayNameNorm}`, nullable: false, folded: true });
    if (user && name === "active") return scalar({ kind: "column", expr: sql`${users.active}`, nullable: false });
    if (name === "meta") {
      // `meta` is not in `data` and always exists: an "object" with no path is present and cannot be filtered into.
      if (!subAttribute) return { kind: "object", doc: TRUE, path: "", resolved, pathText };
      if (subAttribute.name === "created") return scalar({ kind: "column", expr: sql`${table.createdAt}`, nullable: false });
      if (subAttribute.name === "lastModified") return scalar({ kind: "column", expr: sql`${table.updatedAt}`, nullable: false });
      if (subAttribute.name === "resourceType") return scalar({ kind: "column", expr: sql.raw(`'${ctx.type.name}'`), nullable: false });
      throw invalidFilter(`"${pathText}" cannot be used in a filter.`);
    }
    if ((user && name === "groups") || (!user && name === "members")) {
      return { kind: "elements", elements: membership(ctx.type), sub: subAttribute, resolved, pathText };
    }
  }

  const keys = resolved.extension ? [resolved.schema, name] : [name];
  const data = sql`${table.data}`;
  if (attribute.multiValued && attribute.type !== "complex") {
    // A list of plain values (a custom multi-valued attribute): each element is compared where it stands.
    const elements: Elements = { from: sql`json_each(${data}, ${pathLiteral(jsonPath(keys))}) AS j WHERE 1`, element: () => ({ kind: "json", doc: data, path: sql.raw("j.fullkey") }) };
    return { kind: "elements", elements, sub: subAttribute, resolved, pathText };
  }
  if (attribute.multiValued) {
    const elements: Elements = {
      from: sql`json_each(${data}, ${pathLiteral(jsonPath(keys))}) AS j WHERE j.type = 'object'`,
      element: (sub) => ({ kind: "json", doc: sql.raw("j.value"), path: jsonPath([sub.name]) }),
    };
    return { kind: "elements", elements, sub: subAttribute, resolved, pathText };
  }
  if (subAttribute) return scalar({ kind: "json", doc: data, path: jsonPath([...keys, subAttribute.name]) });
  if (attribute.type === "complex") return { kind: "object", doc: data, path: jsonPath(keys), resolved, pathText };
  return scalar({ kind: "json", doc: data, path: jsonPath(keys) });

  function scalar(s: Scalar): Target {
    return { kind: "scalar", scalar: s, resolved, pathText };
  }
}

/** Membership rows: a group's members, or a user's groups. Only `value` is filterable. */
function membership(type: ResourceTypeDef): Elements {
  const user = isUser(type);
  const from = user
    ? sql`${groupMembers} AS gm WHERE gm.tenant_id = ${users.tenantId} AND gm.member_id = ${users.id}`
    : sql`${groupMembers} AS gm WHERE gm.tenant_id = ${groups.tenantId} AND gm.group_id = ${groups.id}`;
  return {
    from,
    element(sub, pathText) {
      if (sub.name !== "value") {
        throw invalidFilter(`"${pathText}" cannot be used in a filter; filter on ${user ? "groups" : "members"}.value instead.`);
      }
      return { kind: "column", expr: sql.raw(user ? "gm.group_id" : "gm.member_id"), nullable: false };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Predicates
// ---------------------------------------------------------------------------------------------

/** A WHERE predicate for `users` (User) or `groups` (Group); the caller adds `tenant_id = ?`. */
export function compileFilter(filter: Filter, type: ResourceTypeDef): SQL {
  return compileFilterQuery(filter, type).where;
}

/**
 * The WHERE predicate, and whether every match is among the text index's candidates for one of
 * its comparisons (`textIndexed`): the caller should then let those candidates drive the query
 * rather than walk the tenant (see textCandidates).
 */
export function compileFilterQuery(filter: Filter, type: ResourceTypeDef): { where: SQL; textIndexed: boolean } {
  const ctx: Context = { type, params: 0, textIndexed: false };
  const where = compile(filter, (path) => topLevelTarget(path, ctx), ctx, false, true);
  return { where, textIndexed: ctx.textIndexed };
}

/** `conjunct`: every match must satisfy this part (reached through `and`s only). */
function compile(filter: Filter, resolve: Resolver, ctx: Context, inValuePath: boolean, conjunct = false): SQL {
  switch (filter.kind) {
    case "and":
    case "or": {
      // Flatten chains so a long `a or b or c …` does not nest parentheses (SQLite's depth limit).
      const parts = flatten(filter, filter.kind).map((f) => compile(f, resolve, ctx, inValuePath, conjunct && filter.kind === "and"));
      return sql`(${sql.join(parts, sql.raw(filter.kind === "and" ? " AND " : " OR "))})`;
    }
    case "not":
      return sql`(NOT ${compile(filter.filter, resolve, ctx, inValuePath)})`;
    case "present":
      return present(resolve(filter.path));
    case "compare": {
      const target = resolve(filter.path);
      if (filter.value === null) {
        checkNullLiteral(filter.op, target.pathText);
        return filter.op === "eq" ? sql`(NOT ${present(target)})` : present(target);
      }
      const attribute = comparedAttribute(target.resolved, target.pathText);
      const operand = checkOperand(filter.op, filter.value, attribute, target.pathText);
      if (++ctx.params > MAX_FILTER_PARAMETERS) {
        throw invalidFilter(`too many comparisons; at most ${MAX_FILTER_PARAMETERS} values are allowed in one filter.`);
      }
      const op = filter.op === "ne" ? "eq" : filter.op;
      let predicate: SQL;
      if (target.kind === "elements") {
        const leaf = target.elements.element(attribute, `${target.resolved.attribute.name}.${attribute.name}`);
        predicate = sql`EXISTS (SELECT 1 FROM ${target.elements.from} AND ${compareScalar(leaf, op, operand)})`;
      } else if (target.kind === "scalar") {
        predicate = compareScalar(target.scalar, op, operand);
      } else {
        throw invalidFilter(`"${target.pathText}" is complex; compare one of its sub-attributes instead.`);
      }
      const custom = inValuePath || filter.op === "ne" ? undefined : customCandidates(target.resolved, op, operand);
      if (custom && ctx.params < MAX_FILTER_PARAMETERS) {
        ctx.params++;
        if (conjunct) ctx.textIndexed = true;
        predicate = sql`(${custom} AND ${predicate})`;
      }
      const column = inValuePath ? undefined : textIndexColumn(ctx.type, target.resolved);
      if (column && operand.kind === "string" && (op === "co" || op === "sw" || op === "ew") && ctx.params < MAX_FILTER_PARAMETERS) {
        const candidates = textCandidates(column, target.kind === "scalar" && target.scalar.kind === "column" && target.scalar.folded ? foldCase(operand.value) : operand.value);
        if (candidates) {
          ctx.params++;
          if (conjunct && filter.op !== "ne") ctx.textIndexed = true;
          predicate = sql`(${candidates} AND ${predicate})`;
        }
      }
      return filter.op === "ne" ? sql`(NOT ${predicate})` : predicate;
    }
    case "valuePath": {
      if (inValuePath) throw invalidFilter("value filters cannot be nested.");
      const target = resolve(filter.path);
      const parent = target.resolved.attribute;
      if (parent.type !== "complex" || target.resolved.subAttribute) {
        throw invalidFilter(`a value filter "[...]" needs a complex attribute; "${target.pathText}" is not one.`);
      }
      if (target.kind === "elements") {
        const { elements } = target;
        const inner = compile(filter.filter, (p) => elementTarget(p, parent, target.resolved, (sub, text) => elements.element(sub, text)), ctx, true);
        return sql`EXISTS (SELECT 1 FROM ${elements.from} AND ${inner})`;
      }
      if (target.kind !== "object" || target.path === "") throw invalidFilter(`a value filter "[...]" cannot be applied to "${target.pathText}".`);
      // A singular complex attribute: the object itself is the one element.
      const { doc, path } = target;
      const inner = compile(
        filter.filter,
        (p) => elementTarget(p, parent, target.resolved, (sub) => ({ kind: "json", doc, path: `${path}${jsonPath([sub.name]).slice(1)}` })),
        ctx,
        true,
      );
      return sql`(json_type(${doc}, ${pathLiteral(path)}) IS 'object' AND ${inner})`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The text index
// ---------------------------------------------------------------------------------------------

/**
 * `users_text` (migrations/tenant/0003): a trigram FTS5 index over the text that substring
 * filters read. A trigram phrase query finds every row whose indexed text contains the literal
 * with case folded per character, a superset of what the exact predicate accepts (which folds
 * per character too, or not at all); so the index only narrows candidates and the exact predicate
 * still decides. Trigram queries need 3 characters; shorter literals use the exact predicate alone.
 */
const TEXT_INDEX_COLUMNS: Record<string, string> = {
  userName: "user_name",
  displayName: "display_name",
  "emails.value": "emails",
  "name.givenName": "given_name",
  "name.familyName": "family_name",
  "name.middleName": "middle_name",
  "name.formatted": "formatted",
};

function textIndexColumn(type: ResourceTypeDef, resolved: ResolvedPath): string | undefined {
  if (!isUser(type) || resolved.extension) return undefined;
  const path = resolved.subAttribute ? `${resolved.attribute.name}.${resolved.subAttribute.name}` : resolved.attribute.name;
  return TEXT_INDEX_COLUMNS[path];
}

/**
 * `users.rowid IN (…)` the rows whose `column` may contain `text`; undefined when the index cannot
 * answer (under 3 characters, or a NUL, which FTS5's query syntax cannot carry).
 */
export function textCandidates(column: string, text: string): SQL | undefined {
  if ([...text].length < 3 || text.includes("\u0000")) return undefined;
  const phrase = `${column} : "${text.replace(/"/g, '""')}"`;
  return sql`"users".rowid IN (SELECT rowid FROM users_text WHERE users_text MATCH ${phrase})`;
}

/**
 * Candidates of a comparison on one of the tenant's custom attributes (src/attributes), from
 * user_custom_values (kept by triggers: migrations/tenant/0012): a superset of the matches, found
 * by its (name, value) index; the exact predicate still decides. Text is stored lower-cased, as
 * the case-insensitive comparison lower()s both sides; dateTime compares unlowered text, so it is
 * left to the predicate alone, as are `co`/`sw`/`ew`.
 */
function customCandidates(resolved: ResolvedPath, op: CompareOperator, operand: Operand): SQL | undefined {
  if (!resolved.extension || resolved.schema !== CUSTOM_SCHEMA_ID || resolved.subAttribute || !SQL_ORDER[op]) return undefined;
  const value =
    operand.kind === "string" ? (operand.caseExact ? undefined : sql`lower(${operand.value})`) : operand.kind === "number" ? sql`${operand.value}` : operand.kind === "boolean" ? sql.raw(operand.value ? "1" : "0") : undefined;
  if (!value) return undefined;
  return sql`"users".rowid IN (SELECT user_rowid FROM user_custom_values WHERE name = ${resolved.attribute.name} AND value ${sql.raw(SQL_ORDER[op]!)} ${value})`;
}

function flatten(filter: Filter, kind: "and" | "or"): Filter[] {
  // Iterative: parser chains are left-deep and may be long.
  const out: Filter[] = [];
  const stack: Filter[] = [filter];
  while (stack.length) {
    const f = stack.pop()!;
    if (f.kind === kind) stack.push(f.right, f.left);
    else out.push(f);
  }
  return out;
}

function elementTarget(
  path: AttributePath,
  parent: AttributeDef,
  outer: ResolvedPath,
  element: (sub: AttributeDef, pathText: string) => Scalar,
): Target {
  const sub = resolveSubAttribute(path, parent);
  const pathText = `${parent.name}.${sub.name}`;
  return { kind: "scalar", scalar: element(sub, pathText), resolved: { ...outer, attribute: parent, subAttribute: sub }, pathText };
}

/** `pr`: present and not null, "", [] or {} — as `isPresent` in evaluate.ts. */
function present(target: Target): SQL {
  switch (target.kind) {
    case "scalar":
      return presentScalar(target.scalar);
    case "object":
      return target.path === "" ? TRUE : jsonPresent(target.doc, target.path);
    case "elements": {
      if (!target.sub) return sql`EXISTS (SELECT 1 FROM ${target.elements.from})`;
      const leaf = target.elements.element(target.sub, target.pathText);
      return sql`EXISTS (SELECT 1 FROM ${target.elements.from} AND ${presentScalar(leaf)})`;
    }
  }
}

function presentScalar(s: Scalar): SQL {
  if (s.kind === "json") return jsonPresent(s.doc, s.path);
  return s.nullable ? sql`(${s.expr} IS NOT NULL AND ${s.expr} <> '')` : sql`(${s.expr} <> '')`;
}

function jsonPresent(doc: SQL, path: string | SQL): SQL {
  const p = pathLiteral(path);
  // `>= -9e999` (minus infinity) holds for every non-NULL value (text and blobs sort above numbers):
  // a necessary condition that an expression index such as users_tenant_title can range-scan.
  return sql`(json_extract(${doc}, ${p}) >= -9e999 AND CASE json_type(${doc}, ${p}) WHEN 'null' THEN 0 WHEN 'text' THEN json_extract(${doc}, ${p}) <> '' WHEN 'array' THEN json_array_length(${doc}, ${p}) > 0 WHEN 'object' THEN json_extract(${doc}, ${p}) <> '{}' ELSE json_type(${doc}, ${p}) IS NOT NULL END)`;
}

const SQL_ORDER: Partial<Record<CompareOperator, string>> = { eq: "=", gt: ">", ge: ">=", lt: "<", le: "<=" };

/**
 * A two-valued comparison of one scalar with an operand. `op` is never `ne` (callers negate `eq`).
 */
function compareScalar(s: Scalar, op: CompareOperator, operand: Operand): SQL {
  // The value expression, and a guard making the result 0 (not NULL) when the value is missing or
  // of another JSON type — the evaluator likewise only matches values of the attribute's type.
  let value: SQL;
  let guard: SQL | undefined;
  if (s.kind === "json") {
    const p = pathLiteral(s.path);
    value = sql`json_extract(${s.doc}, ${p})`;
    const jsonTypes =
      operand.kind === "string" || operand.kind === "dateTime" ? "'text'" : operand.kind === "number" ? "'integer', 'real'" : "'true', 'false'";
    guard = sql`coalesce(json_type(${s.doc}, ${p}), '') IN (${sql.raw(jsonTypes)})`;
  } else {
    value = s.expr;
    guard = s.nullable ? sql`${s.expr} IS NOT NULL` : undefined;
  }

  let body: SQL;
  switch (operand.kind) {
    case "boolean":
      body = s.kind === "json" ? sql`json_type(${s.doc}, ${pathLiteral(s.path)}) = ${sql.raw(operand.value ? "'true'" : "'false'")}` : sql`${value} = ${sql.raw(operand.value ? "1" : "0")}`;
      break;
    case "dateTime":
      // Stored as `Date#toISOString()` text, so text order is time order.
      body = sql`${value} ${sql.raw(SQL_ORDER[op]!)} ${operand.iso}`;
      break;
    case "number":
      body = sql`${value} ${sql.raw(SQL_ORDER[op]!)} ${operand.value}`;
      break;
    case "string":
      body = compareString(s, value, op, operand.value, operand.caseExact);
      break;
  }
  return guard ? sql`(${guard} AND ${body})` : sql`(${body})`;
}

function compareString(s: Scalar, value: SQL, op: CompareOperator, literal: string, caseExact: boolean): SQL {
  let left = value;
  let right: SQL;
  let compared = literal;
  if (s.kind === "column" && s.folded) {
    compared = foldCase(literal);
    right = sql`${compared}`;
  } else if (caseExact) {
    right = sql`${literal}`;
  } else {
    left = sql`lower(${value})`;
    right = sql`lower(${literal})`;
  }
  switch (op) {
    case "co":
      return sql`instr(${left}, ${right}) > 0`;
    case "sw":
      return sql`instr(${left}, ${right}) = 1`;
    case "ew": {
      // Length in code points, as SQLite's substr counts characters (lower() keeps the length).
      const n = [...compared].length;
      return n === 0 ? TRUE : sql`substr(${left}, -${sql.raw(String(n))}) = ${right}`;
    }
    default:
      return sql`${left} ${sql.raw(SQL_ORDER[op]!)} ${right}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Sorting
// ---------------------------------------------------------------------------------------------

const invalidValue = (detail: string) => badRequest("invalidValue", detail);

/**
 * ORDER BY list for `sortBy`/`sortOrder` (RFC 7644 §3.4.2.3), always ending in `created_at, id`.
 * Without sortBy: `created_at ASC, id ASC` (sortOrder is still validated). Missing values sort last
 * when ascending, first when descending. Strings that are not caseExact sort case-insensitively.
 * A multi-valued attribute sorts by its primary (else first) element's value (or named
 * sub-attribute). Unknown or unsortable attributes (complex without sub-attribute, membership,
 * meta.location/version) are 400 invalidValue.
 */
/** Whether `sortBy` asks for an order other than the default (`created_at, id`). */
export function isSorted(sortBy: string | undefined): boolean {
  return sortBy !== undefined && sortBy.trim() !== "";
}

export function compileSort(sortBy: string | undefined, sortOrder: string | undefined, type: ResourceTypeDef): SQL {
  const table = isUser(type) ? users : groups;
  const tieBreak = sql`${table.createdAt} ASC, ${table.id} ASC`;
  let descending = false;
  if (sortOrder !== undefined && sortOrder !== "") {
    const order = sortOrder.trim().toLowerCase();
    if (order !== "ascending" && order !== "descending") {
      throw invalidValue(`Invalid sortOrder ${JSON.stringify(sortOrder)}: expected "ascending" or "descending".`);
    }
    descending = order === "descending";
  }
  if (sortBy === undefined || !isSorted(sortBy)) return tieBreak;

  let resolved: ResolvedPath;
  try {
    resolved = resolveFilterPath(parseAttributePath(sortBy), type);
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^Invalid filter: /, "") : String(error);
    throw invalidValue(`Invalid sortBy ${JSON.stringify(sortBy)}: ${detail}`);
  }
  const key = sortKey(resolved, sortBy.trim(), type);
  const dir = sql.raw(descending ? "DESC" : "ASC");
  if (!key.nullable) return sql`${key.expr} ${dir}, ${tieBreak}`;
  // `IS NULL` is 0 for present values: ascending puts missing last, descending first.
  return sql`(${key.expr}) IS NULL ${dir}, ${key.expr} ${dir}, ${tieBreak}`;
}

function sortKey(resolved: ResolvedPath, text: string, type: ResourceTypeDef): { expr: SQL; nullable: boolean } {
  const { attribute, subAttribute } = resolved;
  const user = isUser(type);
  const table = user ? users : groups;
  const name = attribute.name;
  const unsortable = (why: string) => invalidValue(`Invalid sortBy ${JSON.stringify(text)}: ${why}`);

  if (!resolved.extension) {
    if (name === "id") return { expr: sql`${table.id}`, nullable: false };
    if (name === "externalId") return { expr: sql`nullif(${table.externalId}, '')`, nullable: true };
    if (user && name === "userName") return { expr: sql`${users.userNameNorm}`, nullable: false };
    if (!user && name === "displayName") return { expr: sql`${groups.displayNameNorm}`, nullable: false };
    if (user && name === "active") return { expr: sql`${users.active}`, nullable: false };
    if (name === "meta") {
      if (subAttribute?.name === "created") return { expr: sql`${table.createdAt}`, nullable: false };
      if (subAttribute?.name === "lastModified") return { expr: sql`${table.updatedAt}`, nullable: false };
      if (subAttribute?.name === "resourceType") return { expr: sql.raw("1"), nullable: false };
      throw unsortable(`sort by meta.created or meta.lastModified.`);
    }
    if ((user && name === "groups") || (!user && name === "members")) throw unsortable(`${name} cannot be sorted on.`);
  }

  const keys = resolved.extension ? [resolved.schema, name] : [name];
  const data = sql`${table.data}`;
  let leaf: AttributeDef;
  let expr: SQL;
  if (attribute.multiValued) {
    leaf = subAttribute ?? (attribute.type === "complex" ? findAttribute(attribute.subAttributes, "value") : attribute) ?? attribute;
    if (leaf.type === "complex") throw unsortable(`"${text}" is complex; sort by one of its sub-attributes.`);
    const value = attribute.type === "complex" ? sql`json_extract(j.value, ${pathLiteral(jsonPath([leaf.name]))})` : sql.raw("j.value");
    // The primary element, else the first.
    expr = sql`(SELECT ${value} FROM json_each(${data}, ${pathLiteral(jsonPath(keys))}) AS j ORDER BY (j.type = 'object' AND json_extract(j.value, '$.primary') IS 1) DESC, j.id LIMIT 1)`;
  } else {
    leaf = subAttribute ?? attribute;
    if (leaf.type === "complex") throw unsortable(`"${text}" is complex; sort by one of its sub-attributes.`);
    expr = sql`json_extract(${data}, ${pathLiteral(jsonPath(subAttribute ? [...keys, subAttribute.name] : keys))})`;
  }
  if ((leaf.type === "string" || leaf.type === "reference") && !leaf.caseExact) expr = sql`lower(${expr})`;
  return { expr: sql`nullif(${expr}, '')`, nullable: true };
}

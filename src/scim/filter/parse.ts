/**
 * SCIM filter parser (RFC 7644 §3.4.2.2): text → `Filter` AST.
 *
 * A hand-written recursive-descent parser over the raw text (no separate token list), so every
 * error can say what was expected and where. Positions in error details are 1-based character
 * columns of the filter text ("position 1" is the first character; the end of the filter is
 * `length + 1`).
 *
 * Grammar (keywords and operators case-insensitive):
 *   filter    = and-expr *("or" and-expr)
 *   and-expr  = unary *("and" unary)                    ; "and" binds tighter than "or"
 *   unary     = "not" "(" filter ")" / "(" filter ")" / attr-expr
 *   attr-expr = path "pr" / path op value
 *             / path "[" filter "]" ["." name ("pr" / op value)]   ; no nested "[" inside
 *   value     = JSON string / JSON number / true / false / null / bare-word
 *
 * Leniency for real identity providers:
 * - Entra ID sends unquoted values (`externalId eq jyoung`, `userName eq a@b.com`): a bare word
 *   that is not true/false/null/a JSON number is a string literal.
 * - Entra ID sends `emails[type eq "work"].value eq "a@x"`: folded into
 *   `emails[type eq "work" and value eq "a@x"]`.
 *
 * Limits: at most MAX_FILTER_LENGTH characters and MAX_FILTER_DEPTH nested parentheses/brackets,
 * so hostile input gets a 400, never a stack overflow. `and`/`or` chains are parsed iteratively
 * (left-deep trees), so a long flat chain does not recurse in the parser.
 */
import { badRequest, type ApiError } from "../errors";
import type { AttributePath, CompareOperator, Filter, FilterValue } from "./ast";

export const MAX_FILTER_LENGTH = 4096;
export const MAX_FILTER_DEPTH = 32;

const COMPARE_OPERATORS: readonly CompareOperator[] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];
const OPERATOR_LIST = "eq, ne, co, sw, ew, gt, ge, lt, le, pr";
const VALUE_KINDS = 'a value (a quoted string, a number, true, false or null)';

/** JSON number (RFC 8259 §6). */
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** ATTRNAME (RFC 7644 §3.10), plus `$ref`. */
const ATTRNAME = /^\$?[A-Za-z][A-Za-z0-9_-]*$/;
/** Characters of an attribute path as written: names, `.`, and the URN's `:` and digits. */
const PATH_CHAR = /[A-Za-z0-9_$.:-]/;
const WORD_CHAR = /[A-Za-z]/;
const SPACE = /\s/;

export function invalidFilter(detail: string): ApiError {
  return badRequest("invalidFilter", `Invalid filter: ${detail}`);
}

/** Parses a SCIM filter. Throws ApiError 400 `invalidFilter` with a positioned detail. */
export function parseFilter(text: string): Filter {
  if (typeof text !== "string") throw invalidFilter("expected a string.");
  if (text.length > MAX_FILTER_LENGTH) {
    throw invalidFilter(`the filter is ${text.length} characters long; at most ${MAX_FILTER_LENGTH} are allowed.`);
  }
  const parser = new Parser(text);
  parser.skipSpace();
  if (parser.atEnd()) throw invalidFilter("expected an attribute path, \"(\" or \"not\" at position 1, found an empty filter.");
  const filter = parser.parseOr(false);
  parser.skipSpace();
  if (!parser.atEnd()) parser.fail(`"and", "or" or the end of the filter${parser.closerHint()}`);
  return filter;
}

/**
 * Parses a bare attribute path (`userName`, `name.givenName`, `urn:…:User:manager.value`), as used
 * by `sortBy`. Throws ApiError 400 `invalidFilter`; callers wanting another scimType rethrow.
 */
export function parseAttributePath(text: string): AttributePath {
  const trimmed = text.trim();
  const path = splitPath(trimmed);
  if (typeof path === "string") throw invalidFilter(`${path} in "${trimmed}".`);
  return path;
}

/** Renders a path back as text (for error details): `urn:…:User:manager.value`. */
export function formatPath(path: AttributePath): string {
  const tail = path.subAttribute === undefined ? path.attribute : `${path.attribute}.${path.subAttribute}`;
  return path.schema ? `${path.schema}:${tail}` : tail;
}

/**
 * Splits a path token. The URN is everything up to the last `:` (URNs contain `.` as in `2.0`, but
 * attribute names never contain `:`). Returns an error message instead of throwing so the parser
 * can add the position.
 */
function splitPath(token: string): AttributePath | string {
  let schema: string | undefined;
  let rest = token;
  if (/^urn:/i.test(token)) {
    const colon = token.lastIndexOf(":");
    schema = token.slice(0, colon);
    rest = token.slice(colon + 1);
    if (!rest) return "expected an attribute name after the schema URN";
  } else if (token.includes(":")) {
    return 'expected an attribute name (a schema URN must start with "urn:")';
  }
  const parts = rest.split(".");
  if (parts.length > 2) return "expected at most one sub-attribute (attribute.subAttribute)";
  for (const part of parts) {
    if (!ATTRNAME.test(part)) return part ? `"${part}" is not a valid attribute name` : "expected an attribute name";
  }
  const path: AttributePath = { attribute: parts[0] };
  if (schema !== undefined) path.schema = schema;
  if (parts.length === 2) path.subAttribute = parts[1];
  return path;
}

class Parser {
  private pos = 0;
  private depth = 0;
  /** Set when the last value was an unquoted word, to hint at quoting on a following error. */
  private lastValueBare = false;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    while (this.pos < this.text.length && SPACE.test(this.text[this.pos])) this.pos++;
  }

  /** Throws `expected <what> at position N, found <…>.` at `at` (0-based index; reported 1-based). */
  fail(expected: string, at = this.pos): never {
    throw invalidFilter(`expected ${expected} at position ${at + 1}, found ${this.describe(at)}.`);
  }

  closerHint(): string {
    return this.lastValueBare ? " (values containing spaces must be quoted)" : "";
  }

  private describe(at: number): string {
    if (at >= this.text.length) return "the end of the filter";
    const rest = this.text.slice(at);
    const token = /^[A-Za-z0-9_$.:@-]+/.exec(rest)?.[0] ?? rest[0];
    return JSON.stringify(token.length > 24 ? `${token.slice(0, 24)}…` : token);
  }

  /** Consumes the keyword if it is next (case-insensitive) and not a prefix of a longer word. */
  private keyword(word: string): boolean {
    const end = this.pos + word.length;
    if (this.text.slice(this.pos, end).toLowerCase() !== word) return false;
    if (end < this.text.length && PATH_CHAR.test(this.text[end])) return false;
    this.pos = end;
    return true;
  }

  private enter(at: number): void {
    if (++this.depth > MAX_FILTER_DEPTH) {
      throw invalidFilter(`nesting is deeper than ${MAX_FILTER_DEPTH} levels of parentheses/brackets at position ${at + 1}.`);
    }
  }

  parseOr(inValuePath: boolean): Filter {
    let left = this.parseAnd(inValuePath);
    for (;;) {
      const save = this.pos;
      this.skipSpace();
      if (!this.keyword("or")) {
        this.pos = save;
        return left;
      }
      left = { kind: "or", left, right: this.parseAnd(inValuePath) };
    }
  }

  private parseAnd(inValuePath: boolean): Filter {
    let left = this.parseUnary(inValuePath);
    for (;;) {
      const save = this.pos;
      this.skipSpace();
      if (!this.keyword("and")) {
        this.pos = save;
        return left;
      }
      left = { kind: "and", left, right: this.parseUnary(inValuePath) };
    }
  }

  private parseUnary(inValuePath: boolean): Filter {
    this.skipSpace();
    const start = this.pos;
    if (this.keyword("not")) {
      this.skipSpace();
      if (this.text[this.pos] !== "(") this.fail('"(" after "not"');
      return { kind: "not", filter: this.parseGroup(inValuePath) };
    }
    if (this.text[this.pos] === "(") return this.parseGroup(inValuePath);
    if (this.atEnd() || !PATH_CHAR.test(this.text[this.pos])) {
      this.fail(inValuePath ? 'a sub-attribute name, "(" or "not"' : 'an attribute path, "(" or "not"', start);
    }
    return this.parseAttributeExpression(inValuePath);
  }

  /** `(` filter `)`; the current character is `(`. */
  private parseGroup(inValuePath: boolean): Filter {
    const open = this.pos;
    this.enter(open);
    this.pos++;
    const inner = this.parseOr(inValuePath);
    this.skipSpace();
    if (this.text[this.pos] !== ")") this.fail(`"and", "or" or ")" (closing the "(" at position ${open + 1})${this.closerHint()}`);
    this.pos++;
    this.depth--;
    return inner;
  }

  private readPath(): AttributePath {
    const start = this.pos;
    while (this.pos < this.text.length && PATH_CHAR.test(this.text[this.pos])) this.pos++;
    const token = this.text.slice(start, this.pos);
    const path = splitPath(token);
    if (typeof path === "string") throw invalidFilter(`${path} at position ${start + 1} ("${token}").`);
    return path;
  }

  private parseAttributeExpression(inValuePath: boolean): Filter {
    const pathStart = this.pos;
    const path = this.readPath();
    const pathText = this.text.slice(pathStart, this.pos);
    if (this.text[this.pos] === "[") {
      if (inValuePath) throw invalidFilter(`value filters cannot be nested ("[" at position ${this.pos + 1}).`);
      if (path.subAttribute !== undefined) {
        throw invalidFilter(`a value filter "[...]" applies to a multi-valued attribute, not to the sub-attribute "${pathText}" (position ${pathStart + 1}).`);
      }
      return this.parseValuePath(path, pathText);
    }
    return this.parseOperation(path, pathText);
  }

  /** `path [ filter ]` with Entra's optional trailing `.sub op value`; the current character is `[`. */
  private parseValuePath(path: AttributePath, pathText: string): Filter {
    const open = this.pos;
    this.enter(open);
    this.pos++;
    const inner = this.parseOr(true);
    this.skipSpace();
    if (this.text[this.pos] !== "]") this.fail(`"and", "or" or "]" (closing the "[" at position ${open + 1})${this.closerHint()}`);
    this.pos++;
    this.depth--;
    if (this.text[this.pos] !== ".") return { kind: "valuePath", path, filter: inner };
    // Entra: `emails[type eq "work"].value eq "a@x"` → emails[type eq "work" and value eq "a@x"].
    this.pos++;
    const subStart = this.pos;
    while (this.pos < this.text.length && PATH_CHAR.test(this.text[this.pos])) this.pos++;
    const sub = this.text.slice(subStart, this.pos);
    if (!ATTRNAME.test(sub)) this.fail(`a sub-attribute name after "${pathText}[...]."`, subStart);
    const trailing = this.parseOperation({ attribute: sub }, `${pathText}[...].${sub}`);
    return { kind: "valuePath", path, filter: { kind: "and", left: inner, right: trailing } };
  }

  /** The operator (and value) after a path. */
  private parseOperation(path: AttributePath, pathText: string): Filter {
    this.skipSpace();
    const opStart = this.pos;
    while (this.pos < this.text.length && WORD_CHAR.test(this.text[this.pos])) this.pos++;
    const op = this.text.slice(opStart, this.pos).toLowerCase();
    if (op === "pr") return { kind: "present", path };
    if (!(COMPARE_OPERATORS as readonly string[]).includes(op)) {
      this.fail(`a comparison operator (${OPERATOR_LIST}) after "${pathText}"`, opStart);
    }
    return { kind: "compare", path, op: op as CompareOperator, value: this.parseValue(op) };
  }

  private parseValue(op: string): FilterValue {
    this.skipSpace();
    if (this.text[this.pos] === '"') {
      this.lastValueBare = false;
      return this.parseString();
    }
    const start = this.pos;
    // A bare word ends at whitespace or a structural character.
    while (this.pos < this.text.length && !/[\s()[\]"]/.test(this.text[this.pos])) this.pos++;
    const word = this.text.slice(start, this.pos);
    if (!word) this.fail(`${VALUE_KINDS} after "${op}"`, start);
    this.lastValueBare = true;
    const lower = word.toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
    if (lower === "null") return null;
    if (NUMBER.test(word)) {
      const n = Number(word);
      // 1e999 is a JSON number but no double: it would compare as Infinity and match nothing.
      if (!Number.isFinite(n)) this.fail(`a number within ±1.7976931348623157e308, not ${word}`, start);
      return n;
    }
    // 'a' is a common mistake for "a": as a bare word it would match nothing, silently.
    if (/^['{]/.test(word)) this.fail(`${VALUE_KINDS} after "${op}"; strings take double quotes ("…"), not ${word[0]}`, start);
    return word; // Entra's unquoted string.
  }

  /** A JSON string (RFC 8259 §7); the current character is the opening quote. */
  private parseString(): string {
    const open = this.pos;
    this.pos++;
    let out = "";
    for (;;) {
      if (this.pos >= this.text.length) {
        throw invalidFilter(`expected a closing '"' for the string starting at position ${open + 1}, found the end of the filter.`);
      }
      const ch = this.text[this.pos];
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch !== "\\") {
        out += ch;
        this.pos++;
        continue;
      }
      const esc = this.text[this.pos + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (esc !== undefined && esc in simple) {
        out += simple[esc];
        this.pos += 2;
      } else if (esc === "u" && /^[0-9A-Fa-f]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) {
        out += String.fromCharCode(parseInt(this.text.slice(this.pos + 2, this.pos + 6), 16));
        this.pos += 6;
      } else {
        this.fail('a valid escape (\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX) in the string', this.pos);
      }
    }
  }
}

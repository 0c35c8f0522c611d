/**
 * The SCIM filter AST (RFC 7644 §3.4.2.2). Produced by `parseFilter`, consumed by the in-memory
 * evaluator, the SQL compiler and the PATCH engine's value-filtered paths.
 */

export type CompareOperator = "eq" | "ne" | "co" | "sw" | "ew" | "gt" | "ge" | "lt" | "le";

/** A literal as written: a JSON string, number, `true`/`false` or `null`. */
export type FilterValue = string | number | boolean | null;

/**
 * An attribute path as written in the filter (names keep the client's spelling; resolution against
 * the schema, which is case-insensitive, happens in the consumers).
 * `urn:…:enterprise:2.0:User:manager.value` → { schema: "urn:…:enterprise:2.0:User", attribute: "manager", subAttribute: "value" }.
 */
export interface AttributePath {
  schema?: string;
  attribute: string;
  subAttribute?: string;
}

export type Filter =
  | { kind: "compare"; path: AttributePath; op: CompareOperator; value: FilterValue }
  | { kind: "present"; path: AttributePath }
  | { kind: "and"; left: Filter; right: Filter }
  | { kind: "or"; left: Filter; right: Filter }
  | { kind: "not"; filter: Filter }
  /**
   * `emails[type eq "work" and value co "@x.com"]`: true when one element of the multi-valued
   * attribute `path` satisfies `filter`, whose paths are relative to that element (sub-attributes).
   * Entra's `emails[type eq "work"].value eq "a@x"` parses to the same node with the trailing
   * comparison folded into `filter` with `and`.
   */
  | { kind: "valuePath"; path: AttributePath; filter: Filter };

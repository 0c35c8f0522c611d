/**
 * Case folding for SCIM's case-insensitive strings (`caseExact: false`): userName and group
 * displayName uniqueness, and the `*_norm` lookup columns. Values are stored and returned exactly
 * as sent; only comparisons fold.
 */
export function foldCase(value: string): string {
  return value.normalize("NFKC").toLowerCase();
}

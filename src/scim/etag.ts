/** Weak ETags from the stored version counter (RFC 7644 §3.14). */

export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/**
 * The version an `If-Match` / `If-None-Match` header names, or null for `*`/absent.
 * Accepts weak and strong forms and lists (`W/"3", W/"4"` → every listed version).
 */
export function versionsIn(header: string | undefined | null): number[] | null {
  if (!header || header.trim() === "*") return null;
  const versions: number[] = [];
  for (const match of header.matchAll(/(?:W\/)?"(\d+)"/g)) versions.push(Number(match[1]));
  return versions;
}

/** True when the If-Match header allows a write to a resource at `version`. */
export function ifMatchAllows(header: string | undefined | null, version: number): boolean {
  const versions = versionsIn(header);
  return versions === null || versions.includes(version);
}

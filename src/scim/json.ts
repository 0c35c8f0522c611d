/** Small helpers for SCIM's JSON, where attribute and parameter names are case-insensitive (RFC 7643 §2.1). */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The key of `object` that spells `name` case-insensitively, the canonical spelling first. */
export function keyOf(object: JsonObject, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(object, name)) return name;
  const wanted = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === wanted);
}

/** The value under `name`, matched case-insensitively; undefined for non-objects. */
export function fieldOf(object: unknown, name: string): unknown {
  if (!isObject(object)) return undefined;
  const key = keyOf(object, name);
  return key === undefined ? undefined : object[key];
}

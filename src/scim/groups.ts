/** The Group resource: from client input to the stored document and member ids, and back to SCIM. */
import { etagOf } from "./etag";
import type { Filter } from "./filter/ast";
import { isObject, keyOf } from "./json";
import { parsePatchPath, readOperations } from "./patch";
import { sanitizeAttribute, sanitizeResource, type ScimDocument } from "./sanitize";
import { findAttribute, GROUP_RESOURCE, SCHEMA } from "./schema";
import { foldCase } from "./text";

export interface StoredGroup {
  id: string;
  data: ScimDocument;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface MemberRef {
  id: string;
  display: string | null;
}

const MEMBERS = findAttribute(GROUP_RESOURCE.schema.attributes, "members")!;

/**
 * Splits client input into the stored document (displayName, externalId) and the member ids, in
 * order and without duplicates. Members are rows, not part of the document. `memberIds` is
 * undefined when the input has no `members` key at all. `current`: the stored document a PUT or
 * PATCH replaces (values it already holds are kept whatever limits came after them).
 */
export function groupDocument(input: Record<string, unknown>, current?: ScimDocument): { doc: ScimDocument; memberIds?: string[] } {
  const key = keyOf(input, "members");
  // Members are sanitized once, below (a 100,000-member push is most of the work).
  const { [key ?? ""]: _members, ...rest } = input;
  const doc = sanitizeResource(key === undefined ? input : rest, GROUP_RESOURCE, current);
  delete doc.members;
  if (key === undefined) return { doc };
  const list = (sanitizeAttribute(input[key], MEMBERS) as { value?: string }[] | undefined) ?? [];
  const memberIds = [...new Set(list.map((m) => m.value).filter((v): v is string => typeof v === "string" && v.length > 0))];
  return { doc, memberIds };
}

export function groupColumns(doc: ScimDocument) {
  const displayName = String(doc.displayName);
  return {
    displayName,
    displayNameNorm: foldCase(displayName),
    externalId: (doc.externalId as string | undefined) ?? null,
  };
}

/** The document a PATCH operates on: what SCIM owns, the id, and members as `{value}` elements. */
export function patchableGroup(group: StoredGroup, memberIds: string[]): ScimDocument {
  return { id: group.id, ...structuredClone(group.data), members: memberIds.map((value) => ({ value })) };
}

/** `members` undefined means "not loaded" (excluded by the request): the attribute is left out. */
export function toScimGroup(group: StoredGroup, baseUrl: string, members?: MemberRef[]): ScimDocument {
  const { externalId, ...attributes } = group.data;
  return {
    schemas: [SCHEMA.group],
    id: group.id,
    ...(externalId !== undefined ? { externalId } : {}),
    ...attributes,
    ...(members
      ? { members: members.map((m) => ({ value: m.id, ...(m.display ? { display: m.display } : {}), $ref: `${baseUrl}/Users/${m.id}`, type: "User" })) }
      : {}),
    meta: {
      resourceType: "Group",
      created: group.createdAt,
      lastModified: group.updatedAt,
      location: `${baseUrl}/Groups/${group.id}`,
      version: etagOf(group.version),
    },
  };
}

/** `value eq "x"`: the member filter Okta puts in every remove. */
function memberValueEq(filter: Filter): string | null {
  return filter.kind === "compare" && filter.op === "eq" && filter.path.attribute.toLowerCase() === "value" && !filter.path.subAttribute && typeof filter.value === "string"
    ? filter.value
    : null;
}

/** The `value` of each listed member, or null when the list has anything else in it. */
function listedMemberValues(value: unknown): string[] | null {
  const list = Array.isArray(value) ? value : [value];
  const ids = list.map((m) => (isObject(m) && typeof m.value === "string" && m.value ? m.value : null));
  return ids.length > 0 && ids.every((id) => id !== null) ? (ids as string[]) : null;
}

/**
 * The member ids a group PATCH names, when every operation on `members` is an add of listed
 * members, a `members[value eq "x"]` remove, or Entra's remove with a value list: the PATCH can
 * then be applied to just those members rather than the whole list, so a one-member change to a
 * 5,000-member group reads one row, not 5,000. Null when an operation needs the whole list (a
 * replace, another filter, a path-less value carrying members) or the body is malformed (the
 * PATCH engine then reports it).
 */
export function namedMemberIds(body: unknown): string[] | null {
  try {
    const ids = new Set<string>();
    for (const op of readOperations(body)) {
      if (op.path === undefined) {
        if (isObject(op.value) && keyOf(op.value, "members") !== undefined) return null;
        continue;
      }
      const path = parsePatchPath(op.path, GROUP_RESOURCE);
      if (path.attribute.toLowerCase() !== "members" || (path.schema && path.schema.toLowerCase() !== SCHEMA.group.toLowerCase())) continue;
      const named =
        path.subAttribute !== undefined
          ? null
          : op.op === "add" && !path.filter
            ? listedMemberValues(op.value)
            : op.op === "remove" && path.filter
              ? [memberValueEq(path.filter)].filter((v): v is string => v !== null)
              : op.op === "remove" && op.value !== undefined
                ? listedMemberValues(op.value)
                : null;
      if (!named || named.length === 0) return null;
      for (const id of named) ids.add(id);
    }
    return [...ids];
  } catch {
    return null;
  }
}

/** The Group resource: from client input to the stored document and member ids, and back to SCIM. */
import { etagOf } from "./etag";
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
 * undefined when the input has no `members` key at all.
 */
export function groupDocument(input: Record<string, unknown>): { doc: ScimDocument; memberIds?: string[] } {
  const doc = sanitizeResource(input, GROUP_RESOURCE);
  delete doc.members;
  const key = Object.keys(input).find((k) => k.toLowerCase() === "members");
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

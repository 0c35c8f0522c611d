/**
 * The User resource: from client input to the stored document and columns, and from a stored row
 * to its SCIM representation.
 */
import { etagOf } from "./etag";
import { sanitizeResource, type ScimDocument } from "./sanitize";
import { SCHEMA, USER_RESOURCE, type ResourceTypeDef } from "./schema";
import { foldCase } from "./text";

/**
 * TheStorage's own avatar travels as the `photos` entry of this type. An IdP's photo of that type
 * is kept apart, in the document, and shown only while no avatar is set: the avatar wins, and the
 * IdP's push never fails over it (Okta would refuse every profile push on a 400).
 */
export const AVATAR_PHOTO_TYPE = "photo";

export interface StoredUser {
  id: string;
  data: ScimDocument;
  avatarUrl: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface GroupRef {
  id: string;
  displayName: string;
}

const isAvatarPhoto = (photo: unknown) => String((photo as { type?: unknown })?.type ?? "").toLowerCase() === AVATAR_PHOTO_TYPE;

/**
 * The stored document for a User from a POST/PUT body or a patched representation. `password` is
 * not in the schema, so it is dropped here and never stored. Given the stored user (`current`),
 * an entry of type `photo` that is the avatar we showed the client (Okta's PUT sends back what it
 * read) is not the IdP's photo: it is dropped, and the IdP's own, which the avatar hid from that
 * client, stays as stored. Values the stored user already holds are kept as they are, whatever
 * limits came after them (see sanitizeResource).
 */
export function userDocument(input: Record<string, unknown>, current?: Pick<StoredUser, "data" | "avatarUrl">, type: ResourceTypeDef = USER_RESOURCE): ScimDocument {
  const doc = sanitizeResource(input, type, current?.data);
  const avatar = current?.avatarUrl;
  if (!avatar || !Array.isArray(doc.photos)) return doc;
  const isEcho = (p: unknown) => isAvatarPhoto(p) && (p as { value?: unknown }).value === avatar;
  if (!doc.photos.some(isEcho)) return doc;
  const theirs = doc.photos.filter((p) => !isEcho(p));
  const hidden = theirs.some(isAvatarPhoto) ? [] : ((current.data.photos as unknown[] | undefined) ?? []).filter(isAvatarPhoto);
  const photos = [...theirs, ...hidden];
  if (photos.length) doc.photos = photos;
  else delete doc.photos;
  return doc;
}

function primaryEmail(doc: ScimDocument): string | null {
  const emails = (doc.emails as { value?: string; primary?: boolean }[] | undefined) ?? [];
  const email = emails.find((e) => e.primary === true) ?? emails[0];
  return email?.value ? email.value.toLowerCase() : null;
}

/** The promoted, indexed columns derived from the document (the document stays the truth). */
export function userColumns(doc: ScimDocument) {
  const userName = String(doc.userName);
  return {
    userName,
    userNameNorm: foldCase(userName),
    externalId: (doc.externalId as string | undefined) ?? null,
    displayName: (doc.displayName as string | undefined) ?? null,
    email: primaryEmail(doc),
    // A user without `active` is active: filters (`active eq true`), the console and the events agree.
    active: doc.active !== false,
  };
}

/** The document a PATCH operates on: what SCIM owns plus the id (no meta, no avatar, no groups). */
export function patchableUser(user: StoredUser): ScimDocument {
  return { id: user.id, ...structuredClone(user.data) };
}

export function toScimUser(user: StoredUser, baseUrl: string, groups: GroupRef[] = []): ScimDocument {
  const { externalId, ...attributes } = user.data;
  let photos = [...((attributes.photos as unknown[]) ?? [])];
  // The avatar wins over the IdP's photo of the same type, which stays stored.
  if (user.avatarUrl) photos = [...photos.filter((p) => !isAvatarPhoto(p)), { value: user.avatarUrl, type: AVATAR_PHOTO_TYPE }];
  const resource: ScimDocument = {
    // The core schema, then each extension the user has values in (enterprise, the tenant's custom one).
    schemas: [SCHEMA.user, ...Object.keys(attributes).filter((key) => key.startsWith("urn:"))],
    id: user.id,
    ...(externalId !== undefined ? { externalId } : {}),
    // `active` as stored: absent after a PATCH remove (RFC 7644 §3.5.2.2), which TheStorage reads as active.
    ...attributes,
  };
  if (photos.length) resource.photos = photos;
  else delete resource.photos;
  resource.groups = groups.map((g) => ({ value: g.id, display: g.displayName, $ref: `${baseUrl}/Groups/${g.id}`, type: "direct" }));
  resource.meta = {
    resourceType: "User",
    created: user.createdAt,
    lastModified: user.updatedAt,
    location: `${baseUrl}/Users/${user.id}`,
    version: etagOf(user.version),
  };
  return resource;
}

/**
 * The resource shapes change events carry (design.md §4b) — the same shapes the RPC entrypoint
 * returns — built from stored rows. Pure: no env, no I/O.
 */
import type { GroupRow, UserRow } from "../db/tenant/schema";
import { SCHEMA } from "../scim/schema";
import { customValues, type CustomValue } from "../attributes/core";

export interface UserPayload {
  id: string;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  /** SCIM `name` sub-attributes (`givenName`, `familyName`, `formatted`, …), all strings. */
  name: Record<string, string> | null;
  /** SCIM `emails`; typed concretely (not `unknown`) so the RPC types of ScimDirectory stay usable. */
  emails: ScimEmail[];
  active: boolean;
  title: string | null;
  department: string | null;
  source: string | null;
  avatarUrl: string | null;
  /** The effective role (design.md §4f). */
  role: string | null;
  /** The tenant's custom attributes that this user has values for (design.md §4f), by name. */
  attributes: Record<string, CustomValue>;
}

export interface ScimEmail {
  value: string;
  type?: string;
  primary?: boolean;
  display?: string;
}

export interface GroupPayload {
  id: string;
  displayName: string;
  externalId: string | null;
}

type UserFields = Pick<UserRow, "id" | "userName" | "externalId" | "displayName" | "active" | "data" | "source" | "avatarUrl"> & Partial<Pick<UserRow, "role">>;

/**
 * `defaultRole`: what a stored role of null stands for (the deployment's DEFAULT_ROLE: users older
 * than roles); change events written in SQL fill `role` in the batch instead (repo/roles).
 */
export function userPayload(row: UserFields, defaultRole: string | null = null): UserPayload {
  const data = row.data;
  const enterprise = (data[SCHEMA.enterpriseUser] as Record<string, unknown> | undefined) ?? {};
  return {
    id: row.id,
    userName: row.userName,
    externalId: row.externalId,
    displayName: row.displayName,
    name: (data.name as Record<string, string> | undefined) ?? null,
    emails: (data.emails as ScimEmail[] | undefined) ?? [],
    // A user without `active` is active (RFC 7644 lets a client remove it; TheStorage reads absence as active).
    active: row.active,
    title: (data.title as string | undefined) ?? null,
    department: (enterprise.department as string | undefined) ?? null,
    source: row.source,
    avatarUrl: row.avatarUrl,
    role: row.role ?? defaultRole,
    attributes: customValues(data),
  };
}

export function groupPayload(row: Pick<GroupRow, "id" | "displayName" | "externalId">): GroupPayload {
  return { id: row.id, displayName: row.displayName, externalId: row.externalId };
}

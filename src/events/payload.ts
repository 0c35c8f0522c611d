/**
 * The resource shapes that leave the service: the `user` and `group` of a change event's `data`
 * (webhooks and the change feed, design.md §4b) and what the ScimDirectory RPC returns. One mapper
 * per resource, so a consumer sees the same object whichever way it reads it.
 */
import type { GroupRow, UserRow } from "../db/tenant/schema";
import { SCHEMA } from "../scim/schema";

export interface UserPayload {
  id: string;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  /** SCIM `name` as the IdP sent it (`givenName`, `familyName`, `formatted`, …), or null. */
  name: Record<string, unknown> | null;
  /** SCIM `emails` (`value`, `type`, `primary`), an empty list when none. */
  emails: { value: string; type?: string; primary?: boolean }[];
  active: boolean;
  title: string | null;
  /** From the enterprise extension. */
  department: string | null;
  /** The provider that created the user (`okta`, `entra`, …); null for local users. */
  source: string | null;
  /** TheStorage-owned, never written by SCIM. */
  avatarUrl: string | null;
}

export interface GroupPayload {
  id: string;
  displayName: string;
  externalId: string | null;
}

const stringOrNull = (value: unknown) => (typeof value === "string" ? value : null);

export function userPayload(row: UserRow): UserPayload {
  const data = row.data ?? {};
  const enterprise = (data[SCHEMA.enterpriseUser] ?? {}) as Record<string, unknown>;
  const name = data.name;
  return {
    id: row.id,
    userName: row.userName,
    externalId: row.externalId,
    displayName: row.displayName,
    name: name && typeof name === "object" && !Array.isArray(name) ? (name as Record<string, unknown>) : null,
    emails: Array.isArray(data.emails) ? (data.emails as UserPayload["emails"]) : [],
    active: row.active,
    title: stringOrNull(data.title),
    department: stringOrNull(enterprise.department),
    source: row.source,
    avatarUrl: row.avatarUrl,
  };
}

export function groupPayload(row: GroupRow): GroupPayload {
  return { id: row.id, displayName: row.displayName, externalId: row.externalId };
}

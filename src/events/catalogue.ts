/** The change-event types (design.md §4b): one per kind of committed change, and nothing else. */
export const CHANGE_EVENT_TYPES = [
  "user.created",
  "user.updated",
  "user.deactivated",
  "user.reactivated",
  "user.deleted",
  "user.role_changed",
  "group.created",
  "group.updated",
  "group.deleted",
  "group.user_added",
  "group.user_removed",
  "connection.enabled",
  "connection.token_rotated",
  "connection.disabled",
  // Guardrails (design.md §4g).
  "connection.guard_tripped",
  "connection.health_changed",
] as const;

export type ChangeEventType = (typeof CHANGE_EVENT_TYPES)[number];

export function isChangeEventType(value: string): value is ChangeEventType {
  return (CHANGE_EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * What a customer IT admin's setup-link session may do: the one list the pages show (the operator's
 * setup-link panel, the IT admin's own provisioning page, the 403 page) and the checks enforce.
 */
import type { WebhookRow } from "../db/tenant/schema";

/** Said to the operator before they send a link, and to the IT admin on their page. */
export const IT_ADMIN_CAN = [
  "switch SCIM on or off and regenerate its token",
  "see the connection's health, release held deactivations and set the deactivation hold",
  "see users and groups and set a user's avatar",
  "read the provisioning log",
  "add webhooks, and test, rotate, resend to or remove the ones they added",
  "set up sign-in through their IdP (single sign-on) and run Test sign-in",
  "map groups to roles and define custom user attributes",
] as const;

export const IT_ADMIN_CANNOT = [
  "export users as CSV",
  "change or see deliveries of webhooks TheStorage added",
  "create setup links, delete the organisation or see any other organisation",
] as const;

/** One sentence of both lists, for a page. */
export function itAdminScopeSentence(): string {
  return `They can ${IT_ADMIN_CAN.join("; ")}. They cannot ${IT_ADMIN_CANNOT.join("; ")}.`;
}

/** The pages a tenant-scoped session may reach: its own tenant's tabs and what is under them. */
const SCOPED_SECTIONS = ["provisioning", "users", "groups", "log", "webhooks", "sso", "roles", "attributes"];

/** Operator-only paths under an allowed section. */
const OPERATOR_ONLY = [/^users\/export$/];

export function scopedPathAllowed(path: string, slug: string): boolean {
  if (path === "/admin/sign-out") return true;
  const prefix = `/admin/tenants/${slug}/`;
  if (!path.startsWith(prefix)) return false;
  const rest = path.slice(prefix.length);
  if (OPERATOR_ONLY.some((pattern) => pattern.test(rest))) return false;
  return SCOPED_SECTIONS.includes(rest.split("/")[0]!);
}

/** A setup-link session may act on the webhooks it added, never on TheStorage's own. */
export function scopedMayChangeWebhook(hook: Pick<WebhookRow, "createdBy">): boolean {
  return hook.createdBy === "customer";
}

/**
 * A tenant's users as CSV (RFC 4180): CRLF line ends; a field with a comma, quote, CR or LF is
 * quoted, its quotes doubled. Against CSV formula injection (a userName such as `=HYPERLINK(…)`
 * run as a formula when the file is opened in a spreadsheet), a text field starting with `=`, `+`,
 * `-`, `@`, a tab or a carriage return is prefixed with a single quote (OWASP's advice): the cell
 * shows as text, at the cost of that leading `'` in the raw value.
 */
import type { UserRow } from "../db/tenant/schema";
import type { Env } from "../env";
import type { AdminActor } from "../lib/hono";
import { usersAfter, type UserCursor } from "../repo/user-export";
import { SCHEMA } from "../scim/schema";
import { tenantDb, type TenantDb, type TenantRef } from "../tenancy/tenant-db";
import { recordAdminAction } from "./audit";
import { rolesOf } from "../roles/config";
import { customValues, type CustomAttribute } from "../attributes/core";

export const USER_CSV_COLUMNS = [
  "id",
  "userName",
  "displayName",
  "email",
  "active",
  "source",
  "role",
  "externalId",
  "givenName",
  "familyName",
  "title",
  "department",
  "avatarUrl",
  "createdAt",
  "updatedAt",
] as const;

/**
 * Users read per D1 query while streaming the file: 1,000,000 users take 200 queries, well inside
 * D1's 1,000 per invocation (at 1,000 a page they took all of it). A page is a few MB of rows, far
 * under D1's 50 MB result limit, and is all the stream holds at once.
 */
export const EXPORT_PAGE_SIZE = 5000;

const FORMULA_START = /^[=+\-@\t\r]/;

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvRow(values: unknown[]): string {
  return `${values.map(csvCell).join(",")}\r\n`;
}

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** A custom attribute's column: its name, or `custom:<name>` where that is a fixed column's (`title`, `role`, …). */
function customColumn(attribute: CustomAttribute): string {
  const clashes = USER_CSV_COLUMNS.some((c) => c.toLowerCase() === attribute.name.toLowerCase());
  return clashes ? `custom:${attribute.name}` : attribute.name;
}

function userCsvValues(row: UserRow, defaultRole: string, custom: CustomAttribute[]): unknown[] {
  const name = (row.data.name ?? {}) as Record<string, unknown>;
  const enterprise = (row.data[SCHEMA.enterpriseUser] ?? {}) as Record<string, unknown>;
  return [
    row.id,
    row.userName,
    row.displayName,
    row.email,
    row.active,
    row.source,
    row.role ?? defaultRole,
    row.externalId,
    text(name.givenName),
    text(name.familyName),
    text(row.data.title),
    text(enterprise.department),
    row.avatarUrl,
    row.createdAt,
    row.updatedAt,
    // The tenant's custom attributes, one column each (a multi-valued one as a JSON list).
    ...custom.map((a) => customValues(row.data)[a.name]),
  ];
}

/**
 * The CSV as a stream: the header, then the users a page at a time, so a tenant of any size is
 * exported without holding it in memory. The first page is read before the stream is returned, so
 * a failing database answers an error status rather than a truncated 200.
 */
async function usersCsvStream(db: TenantDb, tenantId: string, defaultRole: string, custom: CustomAttribute[] = [], pageSize = EXPORT_PAGE_SIZE): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  let page: UserRow[] | null = await usersAfter(db, tenantId, null, pageSize);
  let header = true;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (header) {
        header = false;
        controller.enqueue(encoder.encode(csvRow([...USER_CSV_COLUMNS, ...custom.map(customColumn)])));
        return;
      }
      if (!page) {
        controller.close();
        return;
      }
      const rows = page;
      if (rows.length) controller.enqueue(encoder.encode(rows.map((row) => csvRow(userCsvValues(row, defaultRole, custom))).join("")));
      const last = rows[rows.length - 1];
      const cursor: UserCursor | null = rows.length === pageSize && last ? { createdAt: last.createdAt, id: last.id } : null;
      page = cursor ? await usersAfter(db, tenantId, cursor, pageSize) : null;
      if (!page) controller.close();
    },
  });
}

/** The download's headers: an attachment named `<slug>-users.csv`, never cached (it is personal data). */
export function csvHeaders(slug: string): Record<string, string> {
  return {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${slug}-users.csv"`,
    "Cache-Control": "no-store",
  };
}

/** An admin's export of `tenant`'s users: the CSV stream, the export recorded as an admin action. */
export async function exportUsers(env: Env, tenant: TenantRef, actor: AdminActor, ip: string | null): Promise<ReadableStream<Uint8Array>> {
  const body = await usersCsvStream(tenantDb(env, tenant), tenant.id, rolesOf(env).defaultRole, tenant.attributes);
  await recordAdminAction(env, { action: "users.export", actor, tenant, status: 200, detail: "users exported as CSV", ip });
  return body;
}

/** The request limits this server enforces and advertises in `/ServiceProviderConfig` (RFC 7643 §5). */
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./list";

/** Largest request body in bytes (Hono's body limit), for every request but those below. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Largest body of a group write (`PUT`/`PATCH /Groups/{id}`) and of `/Bulk`: Okta's Push Now of a
 * 100,000-member group is one PATCH replacing `members`, about 9 MB with Okta's `display`s
 * (`{"value":"<id>","display":"<name>"}`, ~90 bytes each); 16 MiB leaves room for longer names.
 */
export const MAX_LARGE_BODY_BYTES = 16 * 1024 * 1024;

/** Most operations one `/Bulk` request may carry. */
export const BULK_MAX_OPERATIONS = 1000;

/** Advertised as `bulk.maxPayloadSize`: the largest body this server accepts (a Bulk's, and a group push's). */
export const BULK_MAX_PAYLOAD = MAX_LARGE_BODY_BYTES;

/** userName, displayName (User and Group) and externalId: at most this many characters (Unicode code points). */
export const MAX_IDENTIFIER_LENGTH = 256;

/** Every other string attribute: at most this many characters (Unicode code points). */
export const MAX_STRING_LENGTH = 4096;

/** Deepest nesting of arrays and objects a JSON body may have; SCIM's own documents need fewer than 10. */
export const MAX_JSON_DEPTH = 64;

/** The identifier rule, as the Schemas documents and error details state it. */
export const IDENTIFIER_RULE = `A JSON string of 1 to ${MAX_IDENTIFIER_LENGTH} characters, not blank, without control characters.`;

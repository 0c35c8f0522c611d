/** The request limits this server enforces and advertises in `/ServiceProviderConfig` (RFC 7643 §5). */
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./list";

/** Largest request body in bytes (Hono's body limit), for every request including `/Bulk`. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Most operations one `/Bulk` request may carry. */
export const BULK_MAX_OPERATIONS = 1000;

/** Advertised as `bulk.maxPayloadSize`: the body limit itself. */
export const BULK_MAX_PAYLOAD = MAX_BODY_BYTES;

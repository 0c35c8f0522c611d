/**
 * The request limits this server advertises in `/ServiceProviderConfig` (RFC 7643 §5) and enforces.
 *
 * `BULK_MAX_PAYLOAD` is the Worker's body limit (`MAX_BODY_BYTES` in src/app.ts). It is spelled out
 * here rather than imported because src/app.ts imports the SCIM routes, which import this module:
 * importing it back would be a cycle whose constant is still uninitialised when this module runs.
 * test/integration/discovery.test.ts asserts the two stay equal.
 */
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./list";

/** Most operations one `/Bulk` request may carry. */
export const BULK_MAX_OPERATIONS = 1000;

/** Largest request body, in bytes, a `/Bulk` request (or any request) may have: equal to MAX_BODY_BYTES. */
export const BULK_MAX_PAYLOAD = 1024 * 1024;

/**
 * A tenant's first connection (design.md §4g): its first SCIM request moves `scim.health` from
 * `never_connected` and emits one `connection.health_changed`, recorded after the response
 * (waitUntil), so it lands in the feed at a moment the test does not control. A test that asserts an
 * exact sequence of events connects its tenant first: the event then has a known place, right after
 * `connection.enabled`, and the test's own writes come after it.
 */
import { expect, vi } from "vitest";
import { admin, scimTenant, type ScimTenant } from "./harness";

const HEALTH_CHANGED = "connection.health_changed";

/** Sends the tenant's first SCIM request and waits until its one connection.health_changed is in the feed. */
export async function connect(tenant: ScimTenant): Promise<void> {
  expect((await tenant.scim("GET", "/Users?count=1")).status).toBe(200);
  await vi.waitFor(
    async () => {
      const feed = await admin("GET", `/tenants/${tenant.slug}/changes?types=${HEALTH_CHANGED}`);
      expect(feed.body.data.map((e: any) => [e.data.health.previousState, e.data.health.state])).toEqual([["never_connected", "healthy"]]);
    },
    { timeout: 10_000, interval: 20 },
  );
}

/** A SCIM-enabled tenant already connected: its feed starts `connection.enabled`, `connection.health_changed`. */
export async function connectedTenant(options: Parameters<typeof scimTenant>[0] = {}): Promise<ScimTenant> {
  const tenant = await scimTenant(options);
  await connect(tenant);
  return tenant;
}

/** What travels on the delivery queue (the catalogue of types is in ./catalogue). */

/** Sent only by "send test event" to one webhook; never in the change feed, never subscribed to. */
export const TEST_EVENT_TYPE = "webhook.test";

/** What a receiver gets (and what the signature covers): `data` is the change_events row's payload. */
export interface DeliveryEvent {
  id: string;
  type: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/**
 * One queue message: one event for one webhook. The event travels inline, so a retry sends the very
 * bytes of the first attempt even if retention has since deleted the change_events row; only an
 * event too large for a queue message (128 KB) travels without `data`, which the consumer then
 * reads from change_events.
 */
export interface DeliveryMessage {
  tenant: { id: string; slug: string; database: string };
  webhookId: string;
  event: Omit<DeliveryEvent, "data"> & { data?: DeliveryEvent["data"] };
  /**
   * Attempts already made before this message was sent: a retry is a new message carrying the
   * count (src/events/queue.ts), so absent (0) on a first send.
   */
  attempts?: number;
}

/** True when a webhook with this subscription (null = everything) wants `type`. */
export function wantsEvent(subscribed: string[] | null, type: string): boolean {
  if (type === TEST_EVENT_TYPE) return true;
  return subscribed === null || subscribed.includes(type);
}

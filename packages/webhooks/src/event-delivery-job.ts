import type { DeliveryJob } from './webhook-delivery';

/**
 * The job of a delivery's `event` attempts. Its id is the delivery's own, the same wherever it is
 * made (fan-out, a replayed event, the Redis store's lease sweep), so the queue skips a second one.
 */
export function eventDeliveryJob(
  tenantId: string,
  endpointId: string,
  messageId: string,
): DeliveryJob {
  return { id: `${endpointId}_${messageId}`, tenantId, endpointId, messageId, trigger: 'event' };
}

import type { DeliveryJob } from './webhook-delivery';

/**
 * The job of a delivery's recovery (`recover`). Its id is the same for every recovery of the
 * delivery, so recovering again while one is queued or running (a retried call, a call that
 * failed halfway and was made again) is skipped by the queue instead of sending twice. Once the
 * job is done the id is free: a delivery that failed again can be recovered again.
 */
export function recoveryDeliveryJob(
  tenantId: string,
  endpointId: string,
  messageId: string,
): DeliveryJob {
  return {
    id: `${endpointId}_${messageId}_recover`,
    tenantId,
    endpointId,
    messageId,
    trigger: 'recover',
  };
}

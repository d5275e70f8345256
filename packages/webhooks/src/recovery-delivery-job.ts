import type { DeliveryJob } from './webhook-delivery';

/**
 * The job of a dead letter's recovery (`recover`): of the delivery as it failed after `attempts`
 * attempts. Its id is the same for every recovery of that failure, so recovering again while
 * one is queued or running (a retried call, a call that failed halfway and was made again, two
 * calls at once) is skipped by the queue instead of sending twice. Once the job is done the id
 * is free; the job sends only while the delivery is still that dead letter
 * ({@link recoveredAttemptsOf}), so a call that listed it before an earlier recovery failed
 * queues a job that sends nothing, and one that failed again is recovered by a new id.
 */
export function recoveryDeliveryJob(
  tenantId: string,
  endpointId: string,
  messageId: string,
  attempts: number,
): DeliveryJob {
  return {
    id: `${endpointId}_${messageId}_recover_${attempts}`,
    tenantId,
    endpointId,
    messageId,
    trigger: 'recover',
  };
}

/**
 * The attempts of the dead letter a recovery job was queued for; undefined for a job of an
 * earlier version (its id ends in `_recover`), which recovers the delivery as it is.
 */
export function recoveredAttemptsOf(job: DeliveryJob): number | undefined {
  const match = /_recover_(\d+)$/.exec(job.id);
  return match === null ? undefined : Number(match[1]);
}

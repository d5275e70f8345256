import type { CallEvent, EventSink } from '@calltrack/core';
import { parseRetryAfterMs, toError } from '@calltrack/core/internal';
import { createAttemptId } from './create-attempt-id';
import type { Permits } from './create-permits';
import type { WebhookSender } from './create-webhook-sender';
import { isKept } from './is-kept';
import { recoveredAttemptsOf } from './recovery-delivery-job';
import { computeRetryDelay } from './retry-schedule';
import { sendAttempt } from './send-attempt';
import type { WebhookClock } from './webhook-clock';
import type {
  AttemptTrigger,
  DeliveryJob,
  DeliveryJobOutcome,
  WebhookDelivery,
} from './webhook-delivery';
import type { EndpointDisabledReason, StoredEndpoint } from './webhook-endpoint';
import type {
  DeliveryJobHandler,
  RecordAttemptInput,
  RecordAttemptResult,
  WebhookStore,
} from './webhook-store';

/** What the delivery handler needs from the dispatcher. */
export interface DeliveryHandlerContext {
  store: WebhookStore;
  sender: WebhookSender;
  clock: WebhookClock;
  /** Where `webhook.endpoint_disabled` goes. */
  sink: EventSink;
  retrySchedule: readonly number[];
  retryJitter: number;
  /** Undefined: never disable for failing. */
  autoDisable: { afterMs: number; minFailures: number } | undefined;
  retentionMs: number;
  maxAttemptsPerEndpoint: number;
  /** How long a concurrency slot is held at most (real time): the request timeout and a margin. */
  slotLeaseMs: number;
  /**
   * The process's cap on requests in flight. A job holds a permit from its first read to the end
   * of its request; the writes after it do not, so the queue may run more jobs than this and
   * their bookkeeping overlaps the next requests.
   */
  sendPermits: Permits;
  /** An endpoint was disabled by an attempt (drop cached copies). */
  onEndpointDisabled: (endpoint: StoredEndpoint) => void;
  onError: (error: Error) => void;
}

const throttlingStatuses = new Set([429, 502, 503, 504]);

/** The two ways into one attempt. */
export interface DeliveryHandler {
  /** Runs a queued job: takes a send permit first (waiting for one). */
  run: DeliveryJobHandler;
  /**
   * Runs a job whose caller has already taken a send permit (a direct first attempt); the permit
   * is released here, as `run` releases its own.
   */
  runHoldingPermit: DeliveryJobHandler;
}

/**
 * Runs one queued delivery job: checks it is still due and wanted, takes a concurrency slot and a
 * rate-limit token (or defers, without sending, so a slow or limited endpoint never holds a
 * worker), signs and sends, then records the attempt, the delivery's next step and the
 * endpoint's health in one store write, and announces a disabled endpoint on the bus.
 */
export function createDeliveryHandler(context: DeliveryHandlerContext): DeliveryHandler {
  const { store, clock } = context;

  const announceDisabled = async (
    endpoint: StoredEndpoint,
    disabled: NonNullable<RecordAttemptResult['disabled']>,
  ): Promise<void> => {
    const now = clock.now();
    const at = new Date(now).toISOString();
    const event: CallEvent = {
      id: `webhook.endpoint_disabled:${endpoint.id}:${now}`,
      type: 'webhook.endpoint_disabled',
      tenantId: endpoint.tenantId,
      provider: 'calltrack',
      occurredAt: at,
      receivedAt: at,
      data: {
        endpointId: endpoint.id,
        description: endpoint.description,
        reason: disabled.reason,
        message: disabled.message,
        ...(disabled.failingSince === undefined
          ? {}
          : { failingSince: new Date(disabled.failingSince).toISOString() }),
      },
    };
    try {
      await context.sink.publish(event);
    } catch (error) {
      context.onError(toError(error));
    }
  };

  /** Records a delivery that ends without a request (the endpoint was disabled meanwhile). */
  const giveUp = async (
    job: DeliveryJob,
    endpoint: StoredEndpoint,
    delivery: WebhookDelivery,
    reason: string,
  ): Promise<DeliveryJobOutcome> => {
    const now = clock.now();
    await store.recordAttempt({
      attempt: {
        id: createAttemptId(),
        tenantId: job.tenantId,
        endpointId: job.endpointId,
        messageId: job.messageId,
        eventType: delivery.eventType,
        url: endpoint.url,
        attempt: delivery.attempts,
        trigger: job.trigger,
        status: 'failed',
        statusCode: 0,
        durationMs: 0,
        responseBody: '',
        error: reason,
        startedAt: now,
      },
      delivery: {
        status: 'failed',
        attempts: delivery.attempts,
        lastError: reason,
        updatedAt: now,
      },
      retentionMs: context.retentionMs,
      maxAttemptsPerEndpoint: context.maxAttemptsPerEndpoint,
      now,
    });
    return { type: 'done' };
  };

  const runHoldingPermit: DeliveryJobHandler = async (job) => {
    let holding = true;
    const releasePermit = (): void => {
      if (!holding) return;
      holding = false;
      context.sendPermits.release();
    };
    try {
      return await runJob(job, releasePermit);
    } finally {
      releasePermit();
    }
  };

  return {
    run: async (job) => {
      const permit = context.sendPermits.acquire();
      if (permit !== true) await permit;
      return runHoldingPermit(job);
    },
    runHoldingPermit,
  };

  /** One job, holding a send permit; `releasePermit` once the request is done. */
  async function runJob(job: DeliveryJob, releasePermit: () => void): Promise<DeliveryJobOutcome> {
    // One round trip: the reads, and the slot when the job can send now.
    const startedAt = clock.now();
    const start = await store.beginAttempt(job, { now: startedAt, leaseMs: context.slotLeaseMs });
    const { delivery, endpoint } = start;
    // Kept `retentionMs` on the dispatcher's clock (a store's own expiry is a safety net): a
    // delivery of an older message has nothing to send.
    const message =
      start.message && isKept(start.message, startedAt, context.retentionMs)
        ? start.message
        : undefined;
    // A resend waiting on the delivery is served by whichever job's attempt starts next (its
    // own, or the delivery's first attempt or retry), which the log then shows as the resend's.
    const servesResend = start.resend !== undefined;
    const trigger: AttemptTrigger = servesResend ? 'resend' : job.trigger;
    const outcome = ((): DeliveryJobOutcome | undefined => {
      if (job.trigger === 'event') {
        if (delivery?.status !== 'pending') return { type: 'done' };
        // The queue's timer is only a wake-up: the delivery's own due time decides.
        if (
          !servesResend &&
          delivery.nextAttemptAt !== undefined &&
          delivery.nextAttemptAt > startedAt
        ) {
          return { type: 'retry', at: delivery.nextAttemptAt };
        }
      }
      // A resend that another attempt served, or that an attempt in flight when it was asked
      // answered by succeeding, is not sent again.
      if (job.trigger === 'resend' && !servesResend) return { type: 'done' };
      // A recovery is of a dead letter as it was listed: one delivered meanwhile (a resend, an
      // earlier recovery), or attempted again since (an earlier recovery that failed, whose own
      // recovery has a job of its own), is not sent again.
      if (job.trigger === 'recover' && !servesResend) {
        if (delivery?.status !== 'failed') return { type: 'done' };
        const attempts = recoveredAttemptsOf(job);
        if (attempts !== undefined && delivery.attempts !== attempts) return { type: 'done' };
      }
      if (!endpoint || !message) return { type: 'done' };
      return undefined;
    })();
    if (outcome || !endpoint || !message) {
      // Not sent: a slot the store took all the same (it should not have) goes back.
      if (start.slotWait === 0)
        await store.releaseSlot(job.tenantId, job.endpointId, job.id, job.messageId);
      return outcome ?? { type: 'done' };
    }
    if (!endpoint.enabled) {
      if (start.slotWait === 0)
        await store.releaseSlot(job.tenantId, job.endpointId, job.id, job.messageId);
      if (job.trigger === 'event' && delivery) {
        return giveUp(job, endpoint, delivery, 'Not sent: the endpoint is disabled.');
      }
      return { type: 'done' };
    }

    const slotWait =
      start.slotWait ??
      (await store.acquireSlot(
        job.tenantId,
        endpoint.id,
        job.id,
        endpoint.maxConcurrency,
        context.slotLeaseMs,
      ));
    if (slotWait > 0) return { type: 'defer', ms: slotWait + Math.floor(Math.random() * 50) };
    if (endpoint.rateLimitPerSecond !== null) {
      let rateWait: number;
      try {
        rateWait = await store.takeRateToken(endpoint.id, endpoint.rateLimitPerSecond, clock.now());
      } catch (error) {
        await store.releaseSlot(job.tenantId, endpoint.id, job.id, job.messageId);
        throw error;
      }
      if (rateWait > 0) {
        await store.releaseSlot(job.tenantId, endpoint.id, job.id, job.messageId);
        return { type: 'defer', ms: rateWait };
      }
    }
    const attemptNumber = (delivery?.attempts ?? 0) + 1;
    // sendAttempt reports every network outcome as a result; it does not throw.
    const sent = await sendAttempt(
      context.sender,
      clock,
      endpoint,
      message,
      trigger,
      attemptNumber,
    );
    releasePermit();
    const { attempt, result, succeeded } = sent;
    const now = clock.now();
    const gone = result.kind === 'response' && result.statusCode === 410;
    // Fails the same way until the endpoint is edited: retries would only fill the log. Its dead
    // letters are recovered once it is.
    const unsendable = result.kind === 'error' && result.reason === 'unsendable_header';
    // A resend of a delivery still being retried takes the place of its next retry: after a
    // failure the schedule goes on from the resend (never earlier than the retry it replaces,
    // whose queued wake-up follows the delivery's due time), so the endpoint is not sent the
    // message again moments after a resend; after a success nothing more is sent.
    const supersedesRetry = trigger === 'resend' && delivery?.status === 'pending';
    let status: WebhookDelivery['status'];
    let nextAttemptAt: number | undefined;
    if (succeeded) {
      status = 'succeeded';
    } else if (trigger !== 'event' && !supersedesRetry) {
      // Any other manual attempt that fails is not rescheduled; the delivery keeps its place.
      status = delivery?.status === 'pending' ? 'pending' : 'failed';
      nextAttemptAt = delivery?.status === 'pending' ? delivery.nextAttemptAt : undefined;
    } else if (gone || unsendable) {
      status = 'failed';
    } else {
      const throttled =
        (result.kind === 'response' && throttlingStatuses.has(result.statusCode)) ||
        (result.kind === 'error' && result.reason === 'timeout');
      // Read on any failed answer, not only the 429 and 503 that core's readRetryAfterSeconds
      // reads for providers: receivers send it with 502 and 504 too.
      const retryAfterMs =
        result.kind === 'response' ? parseRetryAfterMs(result.retryAfter, now) : undefined;
      const delay = computeRetryDelay({
        schedule: context.retrySchedule,
        attempt: attempt.attempt,
        throttled,
        jitter: context.retryJitter,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
      status = delay === undefined ? 'failed' : 'pending';
      nextAttemptAt = delay === undefined ? undefined : attempt.startedAt + delay;
      if (supersedesRetry && nextAttemptAt !== undefined && delivery?.nextAttemptAt !== undefined)
        nextAttemptAt = Math.max(nextAttemptAt, delivery.nextAttemptAt);
    }
    if (nextAttemptAt !== undefined && (trigger === 'event' || supersedesRetry))
      attempt.nextAttemptAt = nextAttemptAt;

    const disable: EndpointDisabledReason | undefined = gone ? 'gone' : undefined;
    // Built without spreads of optional parts (each a throwaway object on every delivery).
    const deliveryChange: RecordAttemptInput['delivery'] & {} = {
      status,
      attempts: attempt.attempt,
      nextAttemptAt,
      lastStatusCode: attempt.statusCode,
      updatedAt: now,
    };
    // Absent, not undefined: a success keeps the delivery's last error.
    if (attempt.error !== undefined) deliveryChange.lastError = attempt.error;
    // The slot is released in the same step as the record.
    const recorded = await store.recordAttempt({
      attempt,
      releaseSlot: job.id,
      delivery: deliveryChange,
      servedResend: start.resend,
      health: {
        succeeded,
        disable,
        failureWindowMs: context.autoDisable?.afterMs,
        minFailures: context.autoDisable?.minFailures ?? 1,
        // Only a failure can disable: a success carries no message (no string built per delivery).
        message: succeeded
          ? ''
          : gone
            ? 'The endpoint answered 410 Gone.'
            : `Every attempt has failed for the auto-disable window; the last: ${attempt.error ?? 'failed'}`,
      },
      retentionMs: context.retentionMs,
      maxAttemptsPerEndpoint: context.maxAttemptsPerEndpoint,
      now,
    });
    if (recorded.disabled) {
      context.onEndpointDisabled(endpoint);
      await announceDisabled(endpoint, recorded.disabled);
    }
    if (job.trigger === 'event' && status === 'pending' && nextAttemptAt !== undefined) {
      return { type: 'retry', at: nextAttemptAt };
    }
    return { type: 'done' };
  }
}

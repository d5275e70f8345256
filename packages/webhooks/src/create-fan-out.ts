import { performance } from 'node:perf_hooks';
import type { CallEvent } from '@calltrack/core';
import type { DeliveryHandler } from './create-delivery-handler';
import type { EndpointCache } from './create-endpoint-cache';
import type { FanOutOutage } from './create-fan-out-outage';
import type { Permits } from './create-permits';
import { createWebhookBody } from './create-webhook-body';
import { eventDeliveryJob } from './event-delivery-job';
import { endpointTakesEvent } from './event-filter';
import type { WebhookClock } from './webhook-clock';
import type { DeliveryJob, WebhookMessage } from './webhook-delivery';
import { webhookMessageId } from './webhook-message-id';
import type { WebhookStore } from './webhook-store';

/** What fan-out needs from the dispatcher. */
export interface FanOutContext {
  store: WebhookStore;
  clock: WebhookClock;
  /** Each tenant's endpoints, cached. */
  endpointCache: Pick<EndpointCache, 'endpointsOf'>;
  /** Sends a direct first attempt. */
  handler: Pick<DeliveryHandler, 'runHoldingPermit'>;
  /** The process's cap on requests in flight; a direct first attempt takes one first. */
  sendPermits: Permits;
  /**
   * Whether fan-out may send first attempts itself (this process delivers and is not closing).
   * Asked at each use: the dispatcher's lifecycle changes it.
   */
  directSends: () => boolean;
  /** Largest body sent. */
  maxPayloadBytes: number;
  /** How long messages and deliveries are kept. */
  retentionMs: number;
  /** How long a direct first attempt's lease lasts (real time). */
  slotLeaseMs: number;
  /** Where a direct attempt's failures go: an outage is reported once. */
  outage: FanOutOutage;
}

/** Bus events turned into deliveries. */
export interface FanOut {
  /**
   * Fans a batch of events out to their tenants' matching endpoints; resolves once the
   * deliveries are created and queued (or sent directly), with the tenants that have endpoints.
   */
  run(events: readonly CallEvent[]): Promise<Set<string>>;
  /** Resolves once no direct first attempt is running (those that start meanwhile included). */
  whenDirectAttemptsDone(): Promise<void>;
}

// How long a fan-out batch waits for send permits to send its new deliveries itself: long
// enough for a burst to go out directly at the pace requests finish, short enough that a
// saturated process (slow endpoints) still queues a batch about this often.
const directWaitMs = 100;

/** Creates the dispatcher's {@link FanOut}. */
export function createFanOut(context: FanOutContext): FanOut {
  const { store, clock, endpointCache, handler, sendPermits, directSends, outage } = context;

  /**
   * Fans a batch of events out: their deliveries are created together and queued in one call.
   * In a delivering process, the deliveries the batch creates are leased to it, and each is sent
   * at once, without a queued job, if a send permit frees up within `directWaitMs` of the batch's
   * start; the others are queued (the queue is for retries, and for first attempts that found no
   * permit). The wait is bounded, so a saturated process still fans out a batch at least that
   * often, and what waits is leased, so nothing is lost if the process dies meanwhile. Resolves
   * with the tenants that have endpoints.
   */
  const run = async (events: readonly CallEvent[]): Promise<Set<string>> => {
    const withEndpoints = new Set<string>();
    const deadline = performance.now() + directWaitMs;
    // Settled, not all: an event that fails must not keep the batch's others from their queue.
    // Their deliveries are leased to this process (in memory, for as long as it runs), and the
    // batch's retry, which the failure brings, creates none of them again.
    const settled = await Promise.allSettled(
      events.map(async (event): Promise<DeliveryJob[]> => {
        const endpoints = await endpointCache.endpointsOf(event.tenantId);
        if (endpoints.length === 0) return [];
        withEndpoints.add(event.tenantId);
        const matching = endpoints.filter(
          (endpoint) => endpoint.enabled && endpointTakesEvent(endpoint.events, event),
        );
        if (matching.length === 0) return [];
        const message: WebhookMessage = {
          id: webhookMessageId(event.tenantId, event.id),
          tenantId: event.tenantId,
          eventId: event.id,
          eventType: event.type,
          body: createWebhookBody(event, context.maxPayloadBytes),
          createdAt: clock.now(),
        };
        const created = await store.createDeliveries(
          message,
          matching.map((endpoint) => endpoint.id),
          context.retentionMs,
          directSends() ? { count: matching.length, ms: context.slotLeaseMs } : undefined,
        );
        const queued = created.pending.map((endpointId) =>
          eventDeliveryJob(event.tenantId, endpointId, message.id),
        );
        for (const endpointId of created.leased) {
          const job = eventDeliveryJob(event.tenantId, endpointId, message.id);
          // Past the deadline this takes only a permit that is free now.
          const taking = sendPermits.acquireBefore(deadline);
          const permit = taking === true || taking === false ? taking : await taking;
          if (permit && directSends()) sendDirect(job);
          else {
            if (permit) sendPermits.release();
            queued.push(job);
          }
        }
        return queued;
      }),
    );
    const all = settled.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
    if (all.length > 0) await store.enqueue(all);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    return withEndpoints;
  };

  /** Direct first attempts running, so closing waits for them. */
  const directAttempts = new Set<Promise<void>>();

  /**
   * A leased delivery's first attempt, holding a permit already taken. Anything but a finished
   * delivery goes to the queue (which ends the lease); if even that fails, the lease runs out and
   * a delivering process queues it.
   */
  const sendDirect = (job: DeliveryJob): void => {
    // Held under an id of its own, not its job's: a job queued for the delivery meanwhile (a
    // resend queues it) is another holder, and waits for this attempt instead of joining it.
    const attempt = handler
      .runHoldingPermit({ ...job, id: `${job.id}_direct` })
      .then(
        async (outcome) => {
          if (outcome.type !== 'done') await store.enqueue([job]);
          outage.worked();
        },
        async (error: unknown) => {
          outage.failed(error);
          await store.enqueue([job]);
        },
      )
      .catch((error: unknown) => outage.failed(error))
      .finally(() => directAttempts.delete(attempt));
    directAttempts.add(attempt);
  };

  const whenDirectAttemptsDone = async (): Promise<void> => {
    while (directAttempts.size > 0) await Promise.all(directAttempts);
  };

  return { run, whenDirectAttemptsDone };
}

import { performance } from 'node:perf_hooks';
import { type CallEvent, callEventTypes, InvalidArgumentError } from '@calltrack/core';
import { createAddressGuard } from './create-address-guard';
import { createDeliveryHandler } from './create-delivery-handler';
import { createDeliveryLogs } from './create-delivery-logs';
import { createEndpointManager } from './create-endpoint-manager';
import { createPermits } from './create-permits';
import { createWebhookBody } from './create-webhook-body';
import { createWebhookSender } from './create-webhook-sender';
import { eventDeliveryJob } from './event-delivery-job';
import { matchesEventFilter } from './event-filter';
import { type BusFollower, followBus } from './follow-bus';
import type { EndpointInputPolicy } from './parse-endpoint-input';
import { defaultRetrySchedule, overloadPenaltyMs } from './retry-schedule';
import { systemClock } from './webhook-clock';
import type { DeliveryJob, WebhookMessage } from './webhook-delivery';
import type { WebhookDispatcher, WebhookDispatcherOptions } from './webhook-dispatcher';
import type { StoredEndpoint } from './webhook-endpoint';
import { webhookMessageId } from './webhook-message-id';

declare const __CALLTRACK_WEBHOOKS_VERSION__: string | undefined;

const day = 24 * 3_600_000;

/**
 * Creates the outbound webhook dispatcher. Call `start()` in the processes that deliver (any
 * number of them share the work through a Redis store); the management methods work without it.
 *
 * ```ts
 * const webhooks = createWebhookDispatcher({ bus, store: createRedisWebhookStore({ redis }) });
 * await webhooks.start();
 * const { endpoint, secret } = await webhooks.createEndpoint('acme', {
 *   url: 'https://crm.example.com/calltrack',
 *   events: ['call.ended', 'call.analyzed'],
 * });
 * ```
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  if (options == null || options.store == null || options.bus == null) {
    throw new InvalidArgumentError({ message: 'createWebhookDispatcher needs { store, bus }.' });
  }
  const { store, bus } = options;
  const clock = options.clock ?? systemClock;
  const retrySchedule = options.retrySchedule ?? defaultRetrySchedule;
  const retryJitter = options.retryJitter ?? 0.2;
  if (!(retryJitter >= 0 && retryJitter < 1)) {
    throw new InvalidArgumentError({ message: 'retryJitter must be from 0 to below 1.' });
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  const concurrency = options.concurrency ?? 50;
  const defaultEndpointConcurrency = options.defaultEndpointConcurrency ?? 10;
  const maxEndpointsPerTenant = options.maxEndpointsPerTenant ?? 50;
  const maxPayloadBytes = options.maxPayloadBytes ?? 20_000;
  const retentionMs = options.retentionMs ?? 14 * day;
  const maxAttemptsPerEndpoint = options.maxAttemptsPerEndpoint ?? 10_000;
  const secretGracePeriodMs = options.secretGracePeriodMs ?? day;
  const endpointCacheMs = options.endpointCacheMs ?? 1000;
  const autoDisable =
    options.autoDisable === false
      ? undefined
      : {
          afterMs: options.autoDisable?.afterMs ?? 5 * day,
          minFailures: options.autoDisable?.minFailures ?? 5,
        };
  const onError =
    options.onError ?? ((error: Error) => console.error('[calltrack/webhooks]', error));
  for (const [name, value] of Object.entries({
    timeoutMs,
    concurrency,
    defaultEndpointConcurrency,
    maxEndpointsPerTenant,
    maxPayloadBytes,
    retentionMs,
    maxAttemptsPerEndpoint,
  })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError({ message: `${name} must be a positive integer.` });
    }
  }
  if (!retrySchedule.every((delay) => Number.isFinite(delay) && delay >= 0)) {
    throw new InvalidArgumentError({ message: 'retrySchedule must list delays in milliseconds.' });
  }
  // A slot, and a direct first attempt's lease, outlast the request by this margin.
  const slotLeaseMs = timeoutMs + 5_000;
  // A message and its deliveries expire with the retention: a retry due after that would find
  // nothing to send, so the retention must outlast the longest a delivery can stay pending.
  const pendingAtMostMs = longestPendingMs(retrySchedule, retryJitter, slotLeaseMs);
  if (retentionMs < pendingAtMostMs) {
    throw new InvalidArgumentError({
      message: `retentionMs (${retentionMs}) must outlast the retry schedule: a delivery can stay pending up to ${pendingAtMostMs} ms.`,
    });
  }
  const guard = createAddressGuard(options.allowedCidrs);
  const policy: EndpointInputPolicy = {
    allowHttp: options.allowHttp ?? false,
    guard,
    knownEventTypes: [...callEventTypes, ...(options.eventTypes ?? [])],
  };
  const version =
    typeof __CALLTRACK_WEBHOOKS_VERSION__ === 'string' ? __CALLTRACK_WEBHOOKS_VERSION__ : 'dev';
  const sender = createWebhookSender({
    timeoutMs,
    ...(options.allowedCidrs ? { allowedCidrs: options.allowedCidrs } : {}),
    ...(options.maxResponseBodyBytes ? { maxResponseBodyBytes: options.maxResponseBodyBytes } : {}),
    userAgent: options.userAgent ?? `calltrack-webhooks/${version}`,
    ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
  });
  const endpointCache = new Map<string, { at: number; endpoints: Promise<StoredEndpoint[]> }>();
  const sendPermits = createPermits(concurrency);
  // How long a fan-out batch waits for send permits to send its new deliveries itself: long
  // enough for a burst to go out directly at the pace requests finish, short enough that a
  // saturated process (slow endpoints) still queues a batch about this often.
  const directWaitMs = 100;
  const handler = createDeliveryHandler({
    store,
    sender,
    clock,
    sink: bus,
    retrySchedule,
    retryJitter,
    autoDisable,
    retentionMs,
    maxAttemptsPerEndpoint,
    slotLeaseMs,
    sendPermits,
    onEndpointDisabled: (endpoint) => endpointCache.delete(endpoint.tenantId),
    onError,
  });

  // ---- fan-out ------------------------------------------------------------------------------

  const endpointsOf = (tenantId: string): Promise<StoredEndpoint[]> => {
    const now = Date.now();
    const cached = endpointCache.get(tenantId);
    if (cached && now - cached.at < endpointCacheMs) return cached.endpoints;
    const loading = store.listEndpoints(tenantId);
    endpointCache.set(tenantId, { at: now, endpoints: loading });
    loading.catch(() => endpointCache.delete(tenantId));
    if (endpointCache.size > 10_000) endpointCache.delete(endpointCache.keys().next().value!);
    return loading;
  };

  /**
   * Fans a batch of events out: their deliveries are created together and queued in one call.
   * In a delivering process, the deliveries the batch creates are leased to it, and each is sent
   * at once, without a queued job, if a send permit frees up within `directWaitMs` of the batch's
   * start; the others are queued (the queue is for retries, and for first attempts that found no
   * permit). The wait is bounded, so a saturated process still fans out a batch at least that
   * often, and what waits is leased, so nothing is lost if the process dies meanwhile. Resolves
   * with the tenants that have endpoints.
   */
  const fanOut = async (events: readonly CallEvent[]): Promise<Set<string>> => {
    const withEndpoints = new Set<string>();
    const deadline = performance.now() + directWaitMs;
    // Settled, not all: an event that fails must not keep the batch's others from their queue.
    // Their deliveries are leased to this process (in memory, for as long as it runs), and the
    // batch's retry, which the failure brings, creates none of them again.
    const settled = await Promise.allSettled(
      events.map(async (event): Promise<DeliveryJob[]> => {
        const endpoints = await endpointsOf(event.tenantId);
        if (endpoints.length === 0) return [];
        withEndpoints.add(event.tenantId);
        const matching = endpoints.filter(
          (endpoint) => endpoint.enabled && matchesEventFilter(endpoint.events, event.type),
        );
        if (matching.length === 0) return [];
        const message: WebhookMessage = {
          id: webhookMessageId(event.tenantId, event.id),
          tenantId: event.tenantId,
          eventId: event.id,
          eventType: event.type,
          body: createWebhookBody(event, maxPayloadBytes),
          createdAt: clock.now(),
        };
        const created = await store.createDeliveries(
          message,
          matching.map((endpoint) => endpoint.id),
          retentionMs,
          directSends ? { count: matching.length, ms: slotLeaseMs } : undefined,
        );
        const queued = created.pending.map((endpointId) =>
          eventDeliveryJob(event.tenantId, endpointId, message.id),
        );
        for (const endpointId of created.leased) {
          const job = eventDeliveryJob(event.tenantId, endpointId, message.id);
          // Past the deadline this takes only a permit that is free now.
          const taking = sendPermits.acquireBefore(deadline);
          const permit = taking === true || taking === false ? taking : await taking;
          if (permit && directSends) sendDirect(job);
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

  /** Direct first attempts running, so `close` waits for them. */
  const directAttempts = new Set<Promise<void>>();

  /**
   * A leased delivery's first attempt, holding a permit already taken. Anything but a finished
   * delivery goes to the queue (which ends the lease); if even that fails, the lease runs out and
   * a delivering process queues it.
   */
  const sendDirect = (job: DeliveryJob): void => {
    const attempt = handler
      .runHoldingPermit(job)
      .then(
        async (outcome) => {
          if (outcome.type !== 'done') await store.enqueue([job]);
        },
        async (error: unknown) => {
          onError(error instanceof Error ? error : new Error(String(error)));
          await store.enqueue([job]);
        },
      )
      .catch((error: unknown) => onError(error instanceof Error ? error : new Error(String(error))))
      .finally(() => directAttempts.delete(attempt));
    directAttempts.add(attempt);
  };

  // ---- lifecycle ----------------------------------------------------------------------------

  let follower: BusFollower | undefined;
  let delivering = false;
  /** Whether fan-out may send first attempts itself: this process delivers and is not closing. */
  let directSends = false;
  let closed = false;

  const start: WebhookDispatcher['start'] = async (startOptions = {}) => {
    if (closed) throw new InvalidArgumentError({ message: 'This dispatcher was closed.' });
    if ((startOptions.deliver ?? true) && !delivering) {
      delivering = true;
      // Twice as many jobs as requests: a job's writes after its request (the log row, the
      // queue's own) overlap the next requests; `concurrency` still caps the requests.
      store.startWorker(handler.run, { concurrency: concurrency * 2, clock });
      directSends = true;
    }
    if ((startOptions.subscribe ?? true) && !follower) {
      follower = followBus({
        bus,
        store,
        handle: fanOut,
        flushIntervalMs: options.cursorFlushIntervalMs ?? 1000,
        onError,
      });
      await follower.ready;
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    directSends = false;
    await follower?.stop();
    while (directAttempts.size > 0) await Promise.all(directAttempts);
    if (delivering) await store.stopWorker();
    await sender.close();
  };

  // ---- endpoints ----------------------------------------------------------------------------

  const endpoints = createEndpointManager({
    store,
    bus,
    clock,
    policy,
    forgetEndpoints: (tenantId) => endpointCache.delete(tenantId),
    maxEndpointsPerTenant,
    defaultEndpointConcurrency,
    secretGracePeriodMs,
  });

  // ---- logs, stats, recovery ----------------------------------------------------------------

  const deliveryLogs = createDeliveryLogs({
    store,
    sender,
    clock,
    retentionMs,
    maxAttemptsPerEndpoint,
  });

  return {
    start,
    close,
    dispatch: async (event) => {
      await fanOut([event]);
    },
    ...endpoints,
    ...deliveryLogs,
  };
}

/**
 * The longest a delivery can stay pending: every retry's delay at its most (a throttled one
 * raised to 60 s, a `Retry-After` honoured up to twice the delay, then jitter up), plus each
 * attempt's lease (its timeout and a margin).
 */
function longestPendingMs(schedule: readonly number[], jitter: number, attemptMs: number): number {
  const delays = schedule.reduce(
    (sum, delay) => sum + 2 * Math.max(delay, overloadPenaltyMs) * (1 + jitter),
    0,
  );
  return Math.ceil(delays + (schedule.length + 1) * attemptMs);
}

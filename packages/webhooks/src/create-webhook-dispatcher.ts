import { callEventTypes, InvalidArgumentError } from '@calltrack/core';
import { checkTimerDelayMs } from '@calltrack/core/internal';
import { createAddressGuard } from './create-address-guard';
import { createDeliveryHandler } from './create-delivery-handler';
import { createDeliveryLogs } from './create-delivery-logs';
import { createEndpointCache } from './create-endpoint-cache';
import { createEndpointManager } from './create-endpoint-manager';
import { createFailingJobs } from './create-failing-jobs';
import { createFanOut } from './create-fan-out';
import { createFanOutOutage } from './create-fan-out-outage';
import { createPermits } from './create-permits';
import { createWebhookSender } from './create-webhook-sender';
import { type BusFollower, followBus } from './follow-bus';
import type { EndpointInputPolicy } from './parse-endpoint-input';
import { defaultRetrySchedule, overloadPenaltyMs } from './retry-schedule';
import { systemClock } from './webhook-clock';
import type { WebhookDispatcher, WebhookDispatcherOptions } from './webhook-dispatcher';
import type { DeliveryJobHandler } from './webhook-store';

declare const __CALLTRACK_WEBHOOKS_VERSION__: string | undefined;

const day = 24 * 3_600_000;
/**
 * Response bytes kept per log row: enough for a JSON error or the head of an HTML error page,
 * and 10,000 rows of an endpoint stay near 30 MB (decision 0068).
 */
const defaultMaxResponseBodyBytes = 2048;

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
  // A timer's delay (the request's): past 2^31 - 1 ms Node fires it after 1 ms.
  const timeoutMs = checkTimerDelayMs(
    'createWebhookDispatcher',
    'timeoutMs',
    options.timeoutMs,
    15_000,
  );
  const concurrency = options.concurrency ?? 50;
  const defaultEndpointConcurrency = options.defaultEndpointConcurrency ?? 10;
  const maxEndpointsPerTenant = options.maxEndpointsPerTenant ?? 50;
  const maxPayloadBytes = options.maxPayloadBytes ?? 20_000;
  const retentionMs = options.retentionMs ?? 14 * day;
  const maxAttemptsPerEndpoint = options.maxAttemptsPerEndpoint ?? 10_000;
  const maxResponseBodyBytes = options.maxResponseBodyBytes ?? defaultMaxResponseBodyBytes;
  const testSendsPerMinute = options.testSendsPerMinute ?? 20;
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
    concurrency,
    defaultEndpointConcurrency,
    maxEndpointsPerTenant,
    maxPayloadBytes,
    retentionMs,
    maxAttemptsPerEndpoint,
    testSendsPerMinute,
  })) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidArgumentError({ message: `${name} must be a positive integer.` });
    }
  }
  for (const [name, value] of Object.entries({ endpointCacheMs, secretGracePeriodMs })) {
    if (!Number.isInteger(value) || value < 0) {
      throw new InvalidArgumentError({
        message: `${name} must be a whole number of milliseconds, 0 or more.`,
      });
    }
  }
  // Node runs a longer (or NaN, or 0) interval every millisecond.
  const cursorFlushIntervalMs = checkTimerDelayMs(
    'createWebhookDispatcher',
    'cursorFlushIntervalMs',
    options.cursorFlushIntervalMs,
    1000,
  );
  // Checked here: NaN compares false with every failure, so the endpoint would never be disabled.
  if (autoDisable && !(Number.isInteger(autoDisable.afterMs) && autoDisable.afterMs >= 0)) {
    throw new InvalidArgumentError({
      message: 'autoDisable.afterMs must be a whole number of milliseconds, 0 or more.',
    });
  }
  if (autoDisable && !(Number.isInteger(autoDisable.minFailures) && autoDisable.minFailures >= 1)) {
    throw new InvalidArgumentError({
      message: 'autoDisable.minFailures must be a positive integer.',
    });
  }
  // A rotation keeps an old secret at most 7 days: a longer default would refuse every rotation
  // that does not give its own (a 400 naming a field the caller never sent).
  if (secretGracePeriodMs > 7 * day) {
    throw new InvalidArgumentError({
      message: `secretGracePeriodMs must be at most ${7 * day} (7 days).`,
    });
  }
  if (!Number.isInteger(maxResponseBodyBytes) || maxResponseBodyBytes < 0) {
    throw new InvalidArgumentError({
      message: 'maxResponseBodyBytes must be a whole number of bytes, 0 or more.',
    });
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
    maxResponseBodyBytes,
    userAgent: options.userAgent ?? `calltrack-webhooks/${version}`,
    ...(options.resolveHost ? { resolveHost: options.resolveHost } : {}),
  });
  const endpointCache = createEndpointCache(store, endpointCacheMs);
  const sendPermits = createPermits(concurrency);
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
    onEndpointDisabled: (endpoint) => endpointCache.forget(endpoint.tenantId),
    onError,
  });

  /** Whether fan-out may send first attempts itself: this process delivers and is not closing. */
  let directSends = false;
  // Fan-out retries for as long as Redis is down: an outage reaches `onError` once, not per retry.
  const fanOutOutage = createFanOutOutage(onError, clock);
  const fanOut = createFanOut({
    store,
    clock,
    endpointCache,
    handler,
    sendPermits,
    directSends: () => directSends,
    maxPayloadBytes,
    retentionMs,
    slotLeaseMs,
    outage: fanOutOutage,
  });

  const endpoints = createEndpointManager({
    store,
    bus,
    clock,
    policy,
    forgetEndpoints: (tenantId) => endpointCache.forget(tenantId),
    maxEndpointsPerTenant,
    defaultEndpointConcurrency,
    secretGracePeriodMs,
  });

  const deliveryLogs = createDeliveryLogs({
    store,
    sender,
    sendPermits,
    slotLeaseMs,
    clock,
    retentionMs,
    maxAttemptsPerEndpoint,
    testSendsPerMinute,
  });

  // A queued job whose run throws (the store failed before or after its request) backs off and
  // is reported once per incident; the queue runs it again after the wait.
  const failingJobs = createFailingJobs(onError);
  const runQueuedJob: DeliveryJobHandler = async (job) => {
    try {
      const outcome = await handler.run(job);
      failingJobs.succeeded(job.id);
      return outcome;
    } catch (error) {
      return { type: 'defer', ms: failingJobs.failed(job.id, error) };
    }
  };

  // ---- lifecycle ----------------------------------------------------------------------------

  let follower: BusFollower | undefined;
  let delivering = false;
  let closed = false;

  const start: WebhookDispatcher['start'] = async (startOptions = {}) => {
    if (closed) throw new InvalidArgumentError({ message: 'This dispatcher was closed.' });
    if ((startOptions.deliver ?? true) && !delivering) {
      delivering = true;
      // Twice as many jobs as requests: a job's writes after its request (the log row, the
      // queue's own) overlap the next requests; `concurrency` still caps the requests.
      store.startWorker(runQueuedJob, { concurrency: concurrency * 2, clock });
      directSends = true;
    }
    if ((startOptions.subscribe ?? true) && !follower) {
      follower = followBus({
        bus,
        store,
        handle: fanOut.run,
        flushIntervalMs: cursorFlushIntervalMs,
        clock,
        onError,
        outage: fanOutOutage,
      });
      await follower.ready;
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    directSends = false;
    await follower?.stop();
    await fanOut.whenDirectAttemptsDone();
    if (delivering) await store.stopWorker();
    await sender.close();
  };

  return {
    start,
    close,
    dispatch: async (event) => {
      await fanOut.run([event]);
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

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  type CallEvent,
  CallTrackError,
  callEventTypes,
  InvalidArgumentError,
  NotFoundError,
} from '@calltrack/core';
import { computeEndpointStats } from './compute-endpoint-stats';
import { createAddressGuard } from './create-address-guard';
import { createDeliveryHandler } from './create-delivery-handler';
import { createEndpointManager } from './create-endpoint-manager';
import { createPermits } from './create-permits';
import { createWebhookBody } from './create-webhook-body';
import { createWebhookSender } from './create-webhook-sender';
import { eventDeliveryJob } from './event-delivery-job';
import { matchesEventFilter } from './event-filter';
import { type BusFollower, followBus } from './follow-bus';
import { checkTenantId, loadEndpoint } from './load-endpoint';
import {
  decodePageCursor,
  deliveryListKey,
  encodePageCursor,
  type PageCursor,
} from './page-cursor';
import type { EndpointInputPolicy } from './parse-endpoint-input';
import { recoveryDeliveryJob } from './recovery-delivery-job';
import { defaultRetrySchedule, overloadPenaltyMs } from './retry-schedule';
import { sendAttempt } from './send-attempt';
import { systemClock } from './webhook-clock';
import type { DeliveryJob, WebhookAttempt, WebhookMessage } from './webhook-delivery';
import type {
  AttemptsPage,
  FailedDeliveriesPage,
  WebhookDispatcher,
  WebhookDispatcherOptions,
} from './webhook-dispatcher';
import type { StoredEndpoint } from './webhook-endpoint';
import { webhookMessageId } from './webhook-message-id';
import type { ListQuery } from './webhook-store';

declare const __CALLTRACK_WEBHOOKS_VERSION__: string | undefined;

const day = 24 * 3_600_000;
/** A list page's way on, from the last row it read (its time and key). */
const nextPageAfter = (before: number, beforeKey: string) => ({
  nextBefore: before,
  nextCursor: encodePageCursor(before, beforeKey),
});
/** The way on of a list's last page. */
const noNextPage = { nextBefore: null, nextCursor: null } as const;
const maxRecoverWindowMs = 14 * day;

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
  const load = (tenantId: string, endpointId: string) => loadEndpoint(store, tenantId, endpointId);

  // ---- logs, stats, recovery ----------------------------------------------------------------

  const limitOf = (limit: number | undefined, max: number, fallback: number): number => {
    if (limit === undefined) return fallback;
    if (!Number.isInteger(limit) || limit < 1 || limit > max) {
      throw new InvalidArgumentError({ message: `"limit" must be an integer from 1 to ${max}.` });
    }
    return limit;
  };

  /** The store cursor of a `before` (time only) or `cursor` (time and key) query. */
  const cursorOf = (query: {
    before?: number;
    cursor?: string;
  }): Pick<ListQuery, 'before' | 'beforeKey'> => {
    if (query.cursor === undefined) {
      return query.before === undefined ? {} : { before: query.before };
    }
    if (query.before !== undefined) {
      throw new InvalidArgumentError({ message: 'Give "cursor" or "before", not both.' });
    }
    return decodePageCursor(query.cursor);
  };

  const listAttempts: WebhookDispatcher['listAttempts'] = async (
    tenantId,
    endpointId,
    query = {},
  ) => {
    await load(tenantId, endpointId);
    const limit = limitOf(query.limit, 1000, 50);
    const attempts: WebhookAttempt[] = [];
    let cursor = cursorOf(query);
    // A status filter may skip rows: read pages until the page is full or the log ends.
    for (let pages = 0; pages < 20 && attempts.length < limit; pages += 1) {
      const page = await store.listAttempts(tenantId, endpointId, {
        limit,
        ...cursor,
        ...(query.since === undefined ? {} : { since: query.since }),
      });
      for (const attempt of page) {
        if (query.status === undefined || attempt.status === query.status) attempts.push(attempt);
        if (attempts.length === limit) break;
      }
      if (page.length < limit) return { attempts, ...noNextPage };
      const last = page[page.length - 1]!;
      cursor = { before: last.startedAt, beforeKey: last.id };
    }
    const last = attempts[limit - 1];
    if (last !== undefined) return { attempts, ...nextPageAfter(last.startedAt, last.id) };
    // Twenty pages read without filling this one (a status filter that matches little): a short
    // page, and the next goes on from where the reading stopped, not an end of the log.
    const { before, beforeKey } = cursor as PageCursor;
    return { attempts, ...nextPageAfter(before, beforeKey) };
  };

  const getStats: WebhookDispatcher['getStats'] = async (
    tenantId,
    endpointId,
    statsOptions = {},
  ) => {
    await load(tenantId, endpointId);
    const windowMs = statsOptions.windowMs ?? day;
    if (!Number.isInteger(windowMs) || windowMs < 1000 || windowMs > retentionMs) {
      throw new InvalidArgumentError({
        message: `The stats window must be from 1 second to the retention (${retentionMs} ms).`,
      });
    }
    const now = clock.now();
    const attempts = await store.listAttempts(tenantId, endpointId, {
      since: now - windowMs,
      limit: maxAttemptsPerEndpoint,
    });
    return computeEndpointStats(attempts, windowMs, now);
  };

  const listFailedDeliveries: WebhookDispatcher['listFailedDeliveries'] = async (
    tenantId,
    query = {},
  ) => {
    checkTenantId(tenantId);
    if (query.endpointId !== undefined) await load(tenantId, query.endpointId);
    const limit = limitOf(query.limit, 1000, 50);
    const deliveries = await store.listFailedDeliveries(tenantId, {
      limit,
      ...(query.endpointId === undefined ? {} : { endpointId: query.endpointId }),
      ...(query.since === undefined ? {} : { since: query.since }),
      ...cursorOf(query),
    });
    const last = deliveries[limit - 1];
    const page: FailedDeliveriesPage = {
      deliveries,
      ...(last === undefined ? noNextPage : nextPageAfter(last.updatedAt, deliveryListKey(last))),
    };
    return page;
  };

  const requireEnabled = (endpoint: StoredEndpoint): void => {
    if (!endpoint.enabled) {
      throw new CallTrackError({
        message: 'The endpoint is disabled: enable it first (PUT with { "enabled": true }).',
        code: 'endpoint_disabled',
        status: 409,
      });
    }
  };

  const resend: WebhookDispatcher['resend'] = async (tenantId, endpointId, messageId) => {
    const endpoint = await load(tenantId, endpointId);
    requireEnabled(endpoint);
    const message =
      typeof messageId === 'string' && /^msg_[A-Za-z0-9_-]{1,64}$/.test(messageId)
        ? await store.getMessage(tenantId, messageId)
        : undefined;
    if (!message) throw new NotFoundError({ message: 'No such message (it may have expired).' });
    const delivery = await store.getDelivery(tenantId, endpointId, messageId);
    if (!delivery) {
      // The endpoint never had it: deliver it like any event, retries included.
      const { pending } = await store.createDeliveries(message, [endpointId], retentionMs);
      await store.enqueue(pending.map((id) => eventDeliveryJob(tenantId, id, message.id)));
      return;
    }
    await store.enqueue([resendJob(tenantId, endpointId, messageId)]);
  };

  /** A resend's job: a fresh id each time (every resend asked for is one more send). */
  const resendJob = (tenantId: string, endpointId: string, messageId: string): DeliveryJob => ({
    id: `${endpointId}_${messageId}_resend_${randomBytes(6).toString('base64url')}`,
    tenantId,
    endpointId,
    messageId,
    trigger: 'resend',
  });

  const recover: WebhookDispatcher['recover'] = async (tenantId, endpointId, window) => {
    const endpoint = await load(tenantId, endpointId);
    requireEnabled(endpoint);
    const now = clock.now();
    const since = window?.since;
    const until = window?.until ?? now + 1;
    if (typeof since !== 'number' || !Number.isFinite(since) || since < now - maxRecoverWindowMs) {
      throw new InvalidArgumentError({
        message: '"since" must be a time within the last 14 days.',
      });
    }
    if (!Number.isFinite(until) || until <= since) {
      throw new InvalidArgumentError({ message: '"until" must be later than "since".' });
    }
    let cursor: ListQuery = { before: until, limit: 500 };
    let queued = 0;
    for (;;) {
      const page = await store.listFailedDeliveries(tenantId, { ...cursor, endpointId, since });
      if (page.length > 0) {
        // One job id per delivery: what an earlier call queued is not queued twice.
        await store.enqueue(
          page.map((delivery) => recoveryDeliveryJob(tenantId, endpointId, delivery.messageId)),
        );
      }
      queued += page.length;
      if (page.length < 500) return { queued };
      // The next page goes on from the last delivery's time and key: more than a page may have
      // failed in one millisecond (an endpoint disabled gives up its backlog at once).
      const last = page[page.length - 1]!;
      cursor = { before: last.updatedAt, beforeKey: deliveryListKey(last), limit: 500 };
    }
  };

  const sendTest: WebhookDispatcher['sendTest'] = async (tenantId, endpointId) => {
    const endpoint = await load(tenantId, endpointId);
    const now = clock.now();
    const at = new Date(now).toISOString();
    const message: WebhookMessage = {
      id: `msg_test_${randomBytes(15).toString('base64url')}`,
      tenantId,
      eventId: 'test',
      eventType: 'webhook.test',
      body: JSON.stringify({
        type: 'webhook.test',
        timestamp: at,
        data: { endpointId: endpoint.id, message: 'A test delivery from calltrack.' },
      }),
      createdAt: now,
    };
    const { attempt } = await sendAttempt(sender, clock, endpoint, message, 'test', 1);
    await store.recordAttempt({
      attempt,
      retentionMs,
      maxAttemptsPerEndpoint,
      now: clock.now(),
    });
    return attempt;
  };

  return {
    start,
    close,
    dispatch: async (event) => {
      await fanOut([event]);
    },
    ...endpoints,
    listAttempts: async (tenantId, endpointId, query): Promise<AttemptsPage> =>
      listAttempts(tenantId, endpointId, query),
    getStats,
    listFailedDeliveries,
    resend,
    recover,
    sendTest,
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

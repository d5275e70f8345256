import type { CallSnapshot } from '@calltrack/core';
import {
  type CallEvent,
  InvalidArgumentError,
  parseCallEvent,
  tenantIdSchema,
} from '@calltrack/core';
import {
  type AnalyticsGranularity,
  analyticsBucketMs,
  analyticsBucketStart,
  analyticsGranularities,
} from './analytics-granularity';
import { buildCallAnalytics } from './build-call-analytics';
import type { CallAnalytics } from './call-analytics';
import type { CallStore } from './call-store';
import type {
  CallTracker,
  CallTrackerOptions,
  GetAnalyticsOptions,
  IngestResult,
  ListActiveCallsOptions,
  ListRecentCallsOptions,
  MaintenanceReport,
} from './call-tracker';
import type { CallTransition, CallTransitionSettings } from './call-transition';
import { createCallAlerts } from './create-call-alerts';
import { createMemoryCallStore } from './create-memory-call-store';
import { createStaleCallEvent } from './create-stale-call-event';
import { toCallTransition } from './to-call-transition';
import { createMaskedLogger, defaultTrackerLogger } from './tracker-logger';

const hour = 3_600_000;
const day = 24 * hour;
const maxBuckets = 2000;
/** What `getAnalytics` covers without a `from`. */
const defaultSpanMs: Readonly<Record<AnalyticsGranularity, number>> = {
  minute: hour,
  hour: day,
  day: 30 * day,
};
/** Buckets looked at before `from` to learn the active-call level the range opens with. */
const lookbackBuckets: Readonly<Record<AnalyticsGranularity, number>> = {
  minute: 240,
  hour: 72,
  day: 14,
};

/**
 * Creates the call tracker. See `CallTracker` for what it does and `CallTrackerOptions` for
 * what it takes. With the default memory store it serves one process; give every process the
 * same `createRedisCallStore` (and a Redis bus) to share live state.
 *
 * @example
 * const bus = createMemoryBus();
 * const tracker = createCallTracker({ bus, alerts: { maxConcurrentCalls: 50 } });
 * tracker.start(); // reaper, outbox, long-call checks
 * const twilio = createTwilioWebhookHandler({ sink: tracker, authToken, resolveTenant });
 */
export function createCallTracker(options: CallTrackerOptions): CallTracker {
  if (
    options == null ||
    typeof options !== 'object' ||
    typeof options.bus?.publish !== 'function'
  ) {
    throw new InvalidArgumentError({
      message: 'createCallTracker needs { bus }: an event bus (anything with publish(event)).',
    });
  }
  const { bus } = options;
  const store: CallStore = options.store ?? createMemoryCallStore();
  const now = options.now ?? Date.now;
  const logger = createMaskedLogger(options.logger ?? defaultTrackerLogger);
  const staleAfterMs = positive(options.staleAfterMs, hour, 'staleAfterMs');
  const staleCallStatus = options.staleCallStatus ?? 'failed';
  if (staleCallStatus !== 'failed' && staleCallStatus !== 'canceled') {
    throw new InvalidArgumentError({ message: 'staleCallStatus must be "failed" or "canceled".' });
  }
  const maintenanceIntervalMs = positive(
    options.maintenanceIntervalMs,
    60_000,
    'maintenanceIntervalMs',
  );
  const retentionDays = positive(options.analytics?.retentionDays, 30, 'analytics.retentionDays');
  const settings: CallTransitionSettings = {
    publishLeaseMs: positive(options.publishLeaseMs, 30_000, 'publishLeaseMs'),
    endedCallRetentionMs: positive(options.endedCallRetentionMs, day, 'endedCallRetentionMs'),
    analyticsRetentionMs: {
      minute: positive(options.analytics?.minuteRetentionMs, day, 'analytics.minuteRetentionMs'),
      hour: retentionDays * day,
      day: retentionDays * day,
    },
  };
  const capacity = options.analytics?.capacity;
  const alerts = createCallAlerts({
    rules: options.alerts ?? {},
    store,
    publish: (event) => bus.publish(event),
    logger,
    minuteRetentionMs: settings.analyticsRetentionMs.minute,
    endedCallRetentionMs: settings.endedCallRetentionMs,
  });

  const confirmations = new Set<Promise<void>>();

  /** Publishes an event with the call's snapshot, then confirms it to the store. */
  const publishWithCall = async (event: CallEvent, call: CallSnapshot): Promise<void> => {
    const key = { tenantId: event.tenantId, callId: call.callId, eventId: event.id };
    try {
      await bus.publish({ ...event, data: { ...event.data, call } });
    } catch (error) {
      logger.error('Publishing to the bus failed; a retry of the event publishes it again.', {
        eventId: event.id,
        type: event.type,
        callId: call.callId,
        error,
      });
      await store.markPublishFailed(key).catch((markError: unknown) => {
        logger.error('Recording the failed publish failed too; the lease will expire.', {
          eventId: event.id,
          error: markError,
        });
      });
      throw error;
    }
    // Confirmed in the background: the next command goes out without waiting for this one's
    // answer. A confirmation that never lands is harmless: when the lease expires a retry
    // publishes again and the bus drops the copy. `stop()` waits for the ones in flight.
    const confirmation = store
      .markPublished(key)
      .catch((error: unknown) => {
        logger.error('Confirming a publish to the store failed.', { eventId: event.id, error });
      })
      .finally(() => confirmations.delete(confirmation));
    confirmations.add(confirmation);
  };

  const runAlerts = async (task: () => Promise<number>): Promise<number> => {
    try {
      return await task();
    } catch (error) {
      logger.error('Evaluating alerts failed.', { error });
      return 0;
    }
  };

  const ingestTransition = async (
    event: CallEvent,
    transition: CallTransition,
  ): Promise<IngestResult> => {
    const result = await store.apply(transition);
    const { outcome, call } = result;
    logger.debug('Event applied.', {
      eventId: event.id,
      type: event.type,
      callId: transition.callId,
      outcome,
    });
    const base = { outcome, ...(call ? { call } : {}) };
    if (outcome === 'duplicate' || outcome === 'skipped') {
      return { ...base, duplicate: true, published: false };
    }
    if (outcome === 'ignored' || !call) return { ...base, duplicate: false, published: false };
    await publishWithCall(event, call);
    if (outcome === 'unpublished') return { ...base, duplicate: true, published: true };
    if (result.activated && result.activeCount !== undefined) {
      const activeCount = result.activeCount;
      await runAlerts(() => alerts.afterActivated(call, activeCount, transition.at));
    }
    if (outcome === 'ended') await runAlerts(() => alerts.afterEnded(call, transition.at));
    return { ...base, duplicate: false, published: true };
  };

  const ingest = async (input: CallEvent): Promise<IngestResult> => {
    const event = parseCallEvent(input);
    if (!event.type.startsWith('call.')) {
      const { duplicate } = await bus.publish(event);
      return { outcome: 'forwarded', duplicate, published: !duplicate };
    }
    return ingestTransition(event, toCallTransition(event, now(), settings));
  };

  const listActiveCalls = async (
    tenantId: string,
    listOptions: ListActiveCallsOptions = {},
  ): Promise<CallSnapshot[]> => {
    checkTenant(tenantId);
    const { branchId } = listOptions;
    checkBranchId(branchId);
    return store.listActiveCalls(tenantId, {
      ...(branchId === undefined ? {} : { branchId }),
      limit: checkLimit(listOptions.limit),
    });
  };

  const listRecentCalls = async (
    tenantId: string,
    recentOptions: ListRecentCallsOptions = {},
  ): Promise<CallSnapshot[]> => {
    checkTenant(tenantId);
    const { branchId, limit = 50 } = recentOptions;
    checkBranchId(branchId);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new InvalidArgumentError({ message: 'limit must be an integer from 1 to 1000.' });
    }
    return store.listEndedCalls(tenantId, {
      ...(branchId === undefined ? {} : { branchId }),
      limit,
    });
  };

  const listActiveCallsAcrossTenants = async (
    acrossOptions: { limit?: number } = {},
  ): Promise<CallSnapshot[]> => {
    const limit = checkLimit(acrossOptions.limit);
    const calls: CallSnapshot[] = [];
    for (const tenantId of await store.listTenants()) {
      calls.push(...(await store.listActiveCalls(tenantId, { limit })));
    }
    calls.sort(
      (a, b) =>
        Date.parse(b.startedAt ?? b.createdAt) - Date.parse(a.startedAt ?? a.createdAt) ||
        (a.callId < b.callId ? 1 : a.callId > b.callId ? -1 : 0),
    );
    return calls.slice(0, limit);
  };

  const countActiveCallsAcrossTenants = async (): Promise<{
    total: number;
    byTenant: Record<string, number>;
  }> => {
    const byTenant: Record<string, number> = {};
    let total = 0;
    for (const tenantId of await store.listTenants()) {
      const count = await store.countActiveCalls(tenantId);
      if (count.total > 0) byTenant[tenantId] = count.total;
      total += count.total;
    }
    return { total, byTenant };
  };

  const getAnalytics = async (
    tenantId: string,
    analyticsOptions: GetAnalyticsOptions = {},
  ): Promise<CallAnalytics> => {
    checkTenant(tenantId);
    if (analyticsOptions === null || typeof analyticsOptions !== 'object') {
      throw new InvalidArgumentError({
        message: 'getAnalytics takes { from?, to?, granularity? }.',
      });
    }
    const granularity = analyticsOptions.granularity ?? 'hour';
    if (!analyticsGranularities.includes(granularity)) {
      throw new InvalidArgumentError({
        message: 'granularity must be "minute", "hour" or "day".',
      });
    }
    const at = now();
    const size = analyticsBucketMs[granularity];
    const toRaw = analyticsOptions.to === undefined ? at + 1 : toTime(analyticsOptions.to, 'to');
    const fromRaw =
      analyticsOptions.from === undefined
        ? toRaw - defaultSpanMs[granularity]
        : toTime(analyticsOptions.from, 'from');
    const from = analyticsBucketStart(granularity, fromRaw);
    const to = analyticsBucketStart(granularity, toRaw - 1) + size;
    if (!(from < to)) throw new InvalidArgumentError({ message: '`from` must be before `to`.' });
    if ((to - from) / size > maxBuckets) {
      throw new InvalidArgumentError({
        message: `That range holds more than ${maxBuckets} ${granularity} buckets; use a coarser granularity or a shorter range.`,
      });
    }
    const lookbackFrom = from - lookbackBuckets[granularity] * size;
    const [earlier, buckets] = await Promise.all([
      store.readAnalytics(tenantId, granularity, lookbackFrom, from),
      store.readAnalytics(tenantId, granularity, from, to),
    ]);
    const opening = [...earlier].reverse().find((bucket) => bucket.level !== undefined);
    return buildCallAnalytics({
      tenantId,
      granularity,
      from,
      to,
      now: at,
      capacity: typeof capacity === 'function' ? capacity(tenantId) : capacity,
      buckets,
      openingLevel: opening?.level ?? 0,
    });
  };

  const reapTenant = async (tenantId: string, at: number): Promise<CallSnapshot[]> => {
    const reaped: CallSnapshot[] = [];
    const stale = await store.findStaleCalls(tenantId, at - staleAfterMs, 500);
    for (const call of stale) {
      const event = createStaleCallEvent(call, {
        at,
        status: staleCallStatus,
        staleAfterMs,
      });
      const transition = {
        ...toCallTransition(event, at, settings),
        expectUpdatedAt: Date.parse(call.updatedAt),
      };
      const result = await ingestTransition(event, transition);
      if (result.outcome === 'ended' && result.call) {
        reaped.push(result.call);
        logger.warn('Closed a stale call.', {
          tenantId,
          callId: call.callId,
          lastUpdateAt: call.updatedAt,
          status: staleCallStatus,
        });
      }
    }
    return reaped;
  };

  const reapStaleCalls = async (at: number = now()): Promise<CallSnapshot[]> => {
    const reaped: CallSnapshot[] = [];
    for (const tenantId of await store.listTenants())
      reaped.push(...(await reapTenant(tenantId, at)));
    return reaped;
  };

  const runMaintenance = async (at: number = now()): Promise<MaintenanceReport> => {
    const report: MaintenanceReport = { reaped: 0, republished: 0, alerts: 0 };
    for (const tenantId of await store.listTenants()) {
      try {
        const unpublished = await store.claimUnpublishedEnds(
          tenantId,
          at,
          settings.publishLeaseMs,
          500,
        );
        for (const { event, call } of unpublished) {
          await publishWithCall(event, call);
          report.republished += 1;
        }
        report.reaped += (await reapTenant(tenantId, at)).length;
        report.alerts += await alerts.checkLongCalls(tenantId, at);
      } catch (error) {
        logger.error('Maintenance failed for a tenant; the next run tries again.', {
          tenantId,
          error,
        });
      }
    }
    return report;
  };

  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> | undefined;
  const tick = (): void => {
    if (running) return;
    running = runMaintenance()
      .catch((error: unknown) => logger.error('Maintenance failed.', { error }))
      .finally(() => {
        running = undefined;
      });
  };

  return {
    ingest,
    publish: ingest,
    getCall: async (tenantId, callId) => {
      checkTenant(tenantId);
      if (typeof callId !== 'string' || callId === '') {
        throw new InvalidArgumentError({ message: 'callId must be a non-empty string.' });
      }
      return store.getCall(tenantId, callId);
    },
    listActiveCalls,
    listRecentCalls,
    countActiveCalls: async (tenantId) => {
      checkTenant(tenantId);
      return store.countActiveCalls(tenantId);
    },
    listActiveCallsAcrossTenants,
    countActiveCallsAcrossTenants,
    getAnalytics,
    reapStaleCalls,
    runMaintenance,
    start() {
      if (timer) return;
      timer = setInterval(tick, maintenanceIntervalMs);
      timer.unref?.();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
      await Promise.all(confirmations);
    },
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new InvalidArgumentError({ message: `${name} must be a positive number.` });
  }
  return value;
}

function checkTenant(tenantId: string): void {
  if (!tenantIdSchema.safeParse(tenantId).success) {
    throw new InvalidArgumentError({ message: `Invalid tenantId ${JSON.stringify(tenantId)}.` });
  }
}

function checkBranchId(branchId: string | undefined): void {
  if (branchId !== undefined && (typeof branchId !== 'string' || branchId === '')) {
    throw new InvalidArgumentError({ message: 'branchId must be a non-empty string.' });
  }
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new InvalidArgumentError({ message: 'limit must be an integer from 1 to 10000.' });
  }
  return limit;
}

function toTime(value: string | number | Date, name: string): number {
  const time =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string' && value !== ''
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isFinite(time)) {
    throw new InvalidArgumentError({
      message: `\`${name}\` must be an ISO 8601 time, a Date or milliseconds since the epoch.`,
    });
  }
  return time;
}

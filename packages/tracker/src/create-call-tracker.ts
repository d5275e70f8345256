import type { CallAnalytics } from '@calltrack/core';
import {
  type CallEvent,
  type CallSnapshot,
  InvalidArgumentError,
  sealCallEvent,
  withCallSnapshot,
} from '@calltrack/core';
import { createLoopFailureLog, newestCallFirst } from '@calltrack/core/internal';
import { resolveAnalyticsRange } from './analytics-range';
import { buildCallAnalytics } from './build-call-analytics';
import { isActiveStatus } from './call-status-rank';
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
import type { CallTransition } from './call-transition';
import { createCallAlerts } from './create-call-alerts';
import { createMemoryCallStore } from './create-memory-call-store';
import { createRedisIngest } from './create-redis-ingest';
import { createStaleCallEvent } from './create-stale-call-event';
import { defaultActiveListLimit } from './next-active-page';
import { resolveTrackerSettings } from './resolve-tracker-settings';
import { staleAfterMsOf } from './stale-after-ms-of';
import { toCallTransition } from './to-call-transition';
import { createMaskedLogger, defaultTrackerLogger } from './tracker-logger';
import {
  checkActiveListAfter,
  checkBranchId,
  checkLimit,
  checkTenantId,
  checkUserId,
} from './tracker-query-checks';

/** `limit` of the active-call lists: default and maximum. */
const activeLimit = { fallback: defaultActiveListLimit, max: 10_000 };
/** `limit` of `listRecentCalls`: default and maximum. */
const recentLimit = { fallback: 50, max: 1000 };
/** Tenants read at once by the cross-tenant views. */
const tenantReadBatch = 32;

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
  const { clock: given } = options;
  const clock = given === undefined ? Date.now : () => given.now();
  // Whole ms, as the store keeps and compares times: the reaper's compare-and-set reads
  // `updatedAt` back in whole ms, so a clock with fractions (`performance.now()`) never matched.
  const now = (): number => Math.floor(clock());
  const logger = createMaskedLogger(options.logger ?? defaultTrackerLogger);
  const {
    staleCallStatus,
    maintenanceIntervalMs,
    transition: settings,
    capacity,
  } = resolveTrackerSettings(options);
  const alerts = createCallAlerts({
    rules: options.alerts ?? {},
    store,
    publish: (event) => bus.publish(event),
    logger,
    minuteRetentionMs: settings.analyticsRetentionMs.minute,
  });

  const confirmations = new Set<Promise<void>>();
  // Redis store and Redis bus on one deployment: apply and publish in one script (decision 0030).
  const applyAndPublish = createRedisIngest(store, bus);

  /**
   * Publishes an event with the call's snapshot, then confirms it to the store. The published
   * event is sealed (`withCallSnapshot`): the event was validated when it was sealed, the
   * snapshot is validated here, and the bus validates neither again.
   */
  const publishWithCall = async (
    event: CallEvent,
    call: CallSnapshot,
    log: Pick<typeof logger, 'error'> = logger,
  ): Promise<void> => {
    const key = { tenantId: event.tenantId, callId: call.callId, eventId: event.id };
    try {
      await bus.publish(withCallSnapshot(event, call));
    } catch (error) {
      log.error('Publishing to the bus failed; a retry of the event publishes it again.', {
        eventId: event.id,
        type: event.type,
        callId: call.callId,
        error,
      });
      await store.markPublishFailed(key).catch((markError: unknown) => {
        log.error('Recording the failed publish failed too; the lease will expire.', {
          eventId: event.id,
          error: markError,
        });
      });
      throw error;
    }
    // Confirmed in the background: the next command goes out without waiting for this one's
    // answer. A confirmation that never lands is harmless: when the lease expires a retry
    // publishes again and the bus drops the copy. `stop()` waits for the ones in flight.
    const confirmation: Promise<void> = store.markPublished(key).then(
      () => {
        confirmations.delete(confirmation);
      },
      (error: unknown) => {
        confirmations.delete(confirmation);
        logger.error('Confirming a publish to the store failed.', { eventId: event.id, error });
      },
    );
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
    // The event is published by the apply script itself when it can be, else after it.
    const published = await applyAndPublish?.(transition, event);
    const result = published ?? (await store.apply(transition));
    const { outcome, call } = result;
    if (result.analyticsFoldError !== undefined) {
      logger.error(
        'Folding the analytics log after an event failed; the next one or a read folds it.',
        {
          tenantId: transition.tenantId,
          eventId: event.id,
          error: result.analyticsFoldError,
        },
      );
    }
    if (logger.logsDebug) {
      logger.debug('Event applied.', {
        eventId: event.id,
        type: event.type,
        callId: transition.callId,
        outcome,
      });
    }
    const base = { outcome, ...(call ? { call } : {}) };
    if (outcome === 'duplicate' || outcome === 'skipped') {
      return { ...base, duplicate: true, published: false };
    }
    if (outcome === 'ignored' || !call) return { ...base, duplicate: false, published: false };
    if (published === undefined) await publishWithCall(event, call);
    // A change handed out again (`unpublished`) had its publish fail, so its checks never ran:
    // they run now (the store says whether it was the activation; an end leased again ended it).
    const handedOutAgain = outcome === 'unpublished';
    if (result.activated && result.activeCount !== undefined) {
      const activeCount = result.activeCount;
      await runAlerts(() => alerts.afterActivated(call, activeCount, transition.at));
    }
    if (outcome === 'ended' || (handedOutAgain && transition.kind === 'end')) {
      await runAlerts(() => alerts.afterEnded(call, transition.at));
    }
    return { ...base, duplicate: handedOutAgain, published: true };
  };

  /**
   * Whether an event older than the ended-call retention (the caller checks that) is too old to
   * tell from a replay: it occurred longer than the retention before the tracker first saw its
   * call, so it cannot belong to the call the tracker keeps (a call it does not know is first
   * seen now; an inactive one past its retention counts as not known). A signed webhook carries
   * no expiry of its own: a replay of a forgotten call's webhooks would revive the call and
   * count it again, also after a replayed webhook without a time of its own made the call known
   * again.
   */
  const isReplayOfForgottenCall = async (transition: CallTransition): Promise<boolean> => {
    const { at, occurredAt, tenantId, callId } = transition;
    const retentionMs = settings.endedCallRetentionMs;
    const known = await store.getCall(tenantId, callId, at);
    if (known === undefined) return true;
    // A store written before getCall was told the time may still hand out a forgotten call.
    if (!isActiveStatus(known.status) && Date.parse(known.updatedAt) + retentionMs <= at) {
      return true;
    }
    return occurredAt < Date.parse(known.createdAt) - retentionMs;
  };

  const ingest = async (input: CallEvent): Promise<IngestResult> => {
    // Validated once here (a provider's events come sealed, and are not validated again).
    const event = sealCallEvent(input);
    if (!event.type.startsWith('call.')) {
      const { duplicate } = await bus.publish(event);
      return { outcome: 'forwarded', duplicate, published: !duplicate };
    }
    const transition = toCallTransition(event, now(), settings);
    // Only an event older than the retention is read for: the others take no extra await.
    if (
      transition.occurredAt < transition.at - settings.endedCallRetentionMs &&
      (await isReplayOfForgottenCall(transition))
    ) {
      logger.warn(
        'Dropped an event older than endedCallRetentionMs for a call no longer kept: ' +
          'it cannot be told from a replay.',
        {
          tenantId: event.tenantId,
          eventId: event.id,
          type: event.type,
          callId: transition.callId,
          occurredAt: event.occurredAt,
        },
      );
      // Answered like a duplicate, so the provider does not retry it.
      return { outcome: 'expired', duplicate: true, published: false };
    }
    return ingestTransition(event, transition);
  };

  const listActiveCalls = async (
    tenantId: string,
    listOptions: ListActiveCallsOptions = {},
  ): Promise<CallSnapshot[]> => {
    checkTenantId(tenantId);
    const { branchId, userId } = listOptions;
    checkBranchId(branchId);
    checkUserId(userId);
    const after = checkActiveListAfter(listOptions.after);
    const calls = await store.listActiveCalls(tenantId, {
      ...(branchId === undefined ? {} : { branchId }),
      ...(userId === undefined ? {} : { userId }),
      ...(after === undefined ? {} : { after }),
      limit: checkLimit(listOptions.limit, activeLimit),
    });
    // A store written before `userId` may not know it: only the user's calls go out.
    return userId === undefined
      ? calls
      : calls.filter((call) => call.agentId === userId || call.userId === userId);
  };

  const listRecentCalls = async (
    tenantId: string,
    recentOptions: ListRecentCallsOptions = {},
  ): Promise<CallSnapshot[]> => {
    checkTenantId(tenantId);
    const { branchId } = recentOptions;
    checkBranchId(branchId);
    const limit = checkLimit(recentOptions.limit, recentLimit);
    return store.listEndedCalls(tenantId, {
      ...(branchId === undefined ? {} : { branchId }),
      limit,
      now: now(),
    });
  };

  /** Reads something of every tenant, a batch of tenants at a time (a Redis store pipelines them). */
  const readEveryTenant = async <T>(
    read: (tenantId: string) => Promise<T>,
  ): Promise<[tenantId: string, value: T][]> => {
    const tenants = await store.listTenants();
    const results: [string, T][] = [];
    for (let index = 0; index < tenants.length; index += tenantReadBatch) {
      const batch = tenants.slice(index, index + tenantReadBatch);
      const values = await Promise.all(batch.map(read));
      for (const [position, tenantId] of batch.entries())
        results.push([tenantId, values[position]!]);
    }
    return results;
  };

  const listActiveCallsAcrossTenants = async (
    acrossOptions: { limit?: number } = {},
  ): Promise<CallSnapshot[]> => {
    const limit = checkLimit(acrossOptions.limit, activeLimit);
    const lists = await readEveryTenant((tenantId) => store.listActiveCalls(tenantId, { limit }));
    const calls = lists.flatMap(([, list]) => list);
    calls.sort(newestCallFirst);
    return calls.slice(0, limit);
  };

  const countActiveCallsAcrossTenants = async (): Promise<{
    total: number;
    byTenant: Record<string, number>;
  }> => {
    const counts: [string, number][] = [];
    let total = 0;
    for (const [tenantId, count] of await readEveryTenant((id) => store.countActiveCalls(id))) {
      if (count.total > 0) counts.push([tenantId, count.total]);
      total += count.total;
    }
    // Made with fromEntries: an assignment would drop a tenant named "__proto__" (a valid id).
    return { total, byTenant: Object.fromEntries(counts) };
  };

  const getAnalytics = async (
    tenantId: string,
    analyticsOptions: GetAnalyticsOptions = {},
  ): Promise<CallAnalytics> => {
    checkTenantId(tenantId);
    const at = now();
    const { granularity, from, to, lookbackFrom } = resolveAnalyticsRange(analyticsOptions, at);
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
    const stale = await store.findStaleCalls(tenantId, at, 500);
    for (const call of stale) {
      const event = sealCallEvent(
        createStaleCallEvent(call, {
          at,
          status: staleCallStatus,
          staleAfterMs: staleAfterMsOf(call.status, settings),
        }),
      );
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

  const reapStaleCalls = async (requestedAt: number = now()): Promise<CallSnapshot[]> => {
    const at = Math.floor(requestedAt);
    const reaped: CallSnapshot[] = [];
    for (const tenantId of await store.listTenants())
      reaped.push(...(await reapTenant(tenantId, at)));
    return reaped;
  };

  // Maintenance runs every minute for as long as the process lives: a store or bus whose Redis
  // client has ended fails every run alike, so that is logged once (core's ended-client rule).
  const maintenanceFailures = createLoopFailureLog(logger, 'Tracker maintenance runs');

  const runMaintenance = async (requestedAt: number = now()): Promise<MaintenanceReport> => {
    const at = Math.floor(requestedAt);
    const report: MaintenanceReport = { reaped: 0, republished: 0, alerts: 0 };
    // A run that had a part fail on an ended client did not work: it says nothing is back.
    const maintenanceLog = maintenanceFailures.pass();
    for (const tenantId of await store.listTenants()) {
      try {
        const unpublished = await store.claimUnpublishedEnds(
          tenantId,
          at,
          settings.publishLeaseMs,
          500,
        );
        for (const { event, call } of unpublished) {
          await publishWithCall(event, call, maintenanceLog);
          report.republished += 1;
          // Its publish failed before, so its end's checks never ran.
          report.alerts += await runAlerts(() => alerts.afterEnded(call, at));
        }
        report.reaped += (await reapTenant(tenantId, at)).length;
        report.alerts += await alerts.checkLongCalls(tenantId, at, maintenanceLog);
      } catch (error) {
        maintenanceLog.error('Maintenance failed for a tenant; the next run tries again.', {
          tenantId,
          error,
        });
      }
    }
    maintenanceLog.end();
    return report;
  };

  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<unknown> | undefined;
  const tick = (): void => {
    if (running) return;
    running = runMaintenance()
      .catch((error: unknown) => maintenanceFailures.failed('Maintenance failed.', { error }))
      .finally(() => {
        running = undefined;
      });
  };

  return {
    ingest,
    publish: ingest,
    getCall: async (tenantId, callId) => {
      checkTenantId(tenantId);
      if (typeof callId !== 'string' || callId === '') {
        throw new InvalidArgumentError({ message: 'callId must be a non-empty string.' });
      }
      return store.getCall(tenantId, callId, now());
    },
    listActiveCalls,
    listRecentCalls,
    countActiveCalls: async (tenantId) => {
      checkTenantId(tenantId);
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

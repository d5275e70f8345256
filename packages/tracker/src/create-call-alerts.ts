import type { CallSnapshot } from '@calltrack/core';
import { type CallEvent, type CallStatus, InvalidArgumentError } from '@calltrack/core';
import { analyticsBucketMs, analyticsBucketStart } from './analytics-granularity';
import type { CallAlertOptions } from './call-alert-options';
import type { CallStore } from './call-store';
import { createAlertEvent } from './create-alert-event';
import type { MaskedTrackerLogger } from './tracker-logger';
import { walkLongRunningCalls } from './walk-long-running-calls';

/** The alert rules, bound to a store and a way to publish. */
export interface CallAlerts {
  /** After a call became active; `activeCount` is the tenant's count right after. */
  afterActivated(call: CallSnapshot, activeCount: number, at: number): Promise<number>;
  /** After a call ended (once per call). */
  afterEnded(call: CallSnapshot, at: number): Promise<number>;
  /**
   * Publishes `alert.long_call` for calls active longer than `longCallMs`. A failed publish is
   * logged on `log` (maintenance's, which says a Redis client that has ended once); default the
   * tracker's logger.
   */
  checkLongCalls(
    tenantId: string,
    at: number,
    log?: Pick<MaskedTrackerLogger, 'error'>,
  ): Promise<number>;
}

/** How an alert is held against repeats: taken before its publish, freed when that fails. */
interface AlertClaim {
  take(): Promise<boolean>;
  free(): Promise<void>;
}

/**
 * Creates the alert rules. Each alert is claimed in the store first: a tenant's rule per
 * cooldown (`claimAlert`, one winner across processes until the slot expires), a call's rule
 * once for the call's life (`claimCallAlert`, for `long_call`). Its id is deterministic (per
 * cooldown window, or per call), so even two processes racing past the claim (a store without
 * shared state) publish the same id, which the bus drops. A claim whose publish fails is
 * released, so the next check of the condition fires it.
 */
export function createCallAlerts(options: {
  rules: CallAlertOptions;
  store: CallStore;
  publish: (event: CallEvent) => Promise<unknown>;
  logger: MaskedTrackerLogger;
  minuteRetentionMs: number;
}): CallAlerts {
  const { rules, store, publish, logger } = options;
  const cooldownMs = rules.cooldownMs ?? 15 * 60_000;
  const failedRule = rules.failedCallRate;
  const failedWindowMs = failedRule?.windowMs ?? 15 * 60_000;
  const failedStatuses = new Set<CallStatus>(failedRule?.statuses ?? ['failed']);
  checkRules(rules, cooldownMs, failedWindowMs, options.minuteRetentionMs);

  /** Claims, then publishes; true when this process published. */
  const publishClaimed = async (
    tenantId: string,
    claim: AlertClaim,
    build: () => CallEvent,
    log: Pick<MaskedTrackerLogger, 'error'> = logger,
  ): Promise<boolean> => {
    if (!(await claim.take())) return false;
    const event = build();
    try {
      await publish(event);
    } catch (error) {
      log.error('Publishing an alert failed; the next check fires it again.', {
        tenantId,
        alert: event.type,
        error,
      });
      // Freed, or the condition would go unreported until the claim ends. Publishing the
      // deterministic id again is safe: the bus drops a copy.
      await claim.free().catch((releaseError: unknown) => {
        log.error('Freeing the alert claim failed too; it fires again once the claim ends.', {
          tenantId,
          alert: event.type,
          error: releaseError,
        });
      });
      return false;
    }
    logger.debug('Alert published.', { tenantId, alert: event.type, id: event.id });
    return true;
  };

  /** A tenant's alert, once per cooldown: its id is `<slot>:<window>`. */
  const fire = (
    tenantId: string,
    slot: string,
    ttlMs: number,
    build: (key: string) => CallEvent,
    at: number,
  ): Promise<boolean> =>
    publishClaimed(
      tenantId,
      {
        take: () => store.claimAlert(tenantId, slot, ttlMs, at),
        free: () => store.releaseAlert(tenantId, slot),
      },
      () => build(`${slot}:${Math.floor(at / cooldownMs)}`),
    );

  const limitOf = (tenantId: string): number | undefined =>
    typeof rules.maxConcurrentCalls === 'function'
      ? rules.maxConcurrentCalls(tenantId)
      : rules.maxConcurrentCalls;

  return {
    async afterActivated(call, activeCount, at) {
      let fired = 0;
      const limit = limitOf(call.tenantId);
      if (limit !== undefined && activeCount > limit) {
        const published = await fire(
          call.tenantId,
          'concurrency_exceeded',
          cooldownMs,
          (key) =>
            createAlertEvent({
              tenantId: call.tenantId,
              type: 'alert.concurrency_exceeded',
              key,
              at,
              message: `${activeCount} concurrent calls, more than the limit of ${limit}.`,
              value: activeCount,
              threshold: limit,
            }),
          at,
        );
        if (published) fired += 1;
      }
      if (rules.isAgentAvailable) {
        let available = true;
        try {
          available = await rules.isAgentAvailable({
            tenantId: call.tenantId,
            ...(call.branchId === undefined ? {} : { branchId: call.branchId }),
            call,
          });
        } catch (error) {
          logger.error('isAgentAvailable threw; assuming an agent is available.', {
            tenantId: call.tenantId,
            callId: call.callId,
            error,
          });
        }
        if (!available) {
          const published = await fire(
            call.tenantId,
            `no_agent_available:${call.branchId ?? '*'}`,
            cooldownMs,
            (key) =>
              createAlertEvent({
                tenantId: call.tenantId,
                type: 'alert.no_agent_available',
                key,
                at,
                message:
                  call.branchId === undefined
                    ? 'No agent is available for a new call.'
                    : `No agent of branch ${call.branchId} is available for a new call.`,
                value: 0,
                threshold: 1,
                callId: call.callId,
                ...(call.branchId === undefined ? {} : { branchId: call.branchId }),
              }),
            at,
          );
          if (published) fired += 1;
        }
      }
      return fired;
    },

    async afterEnded(call, at) {
      if (!failedRule) return 0;
      const from = analyticsBucketStart('minute', at - failedWindowMs + 1);
      const buckets = await store.readAnalytics(
        call.tenantId,
        'minute',
        from,
        at + analyticsBucketMs.minute,
      );
      let ended = 0;
      let failed = 0;
      for (const bucket of buckets) {
        ended += bucket.ended;
        for (const [status, count] of Object.entries(bucket.byStatus)) {
          if (failedStatuses.has(status as CallStatus)) failed += count ?? 0;
        }
      }
      const minCalls = failedRule.minCalls ?? 10;
      const rate = ended > 0 ? failed / ended : 0;
      if (ended < minCalls || rate <= failedRule.threshold) return 0;
      const published = await fire(
        call.tenantId,
        'failed_call_rate',
        cooldownMs,
        (key) =>
          createAlertEvent({
            tenantId: call.tenantId,
            type: 'alert.failed_call_rate',
            key,
            at,
            message: `${failed} of ${ended} calls failed in the last ${Math.round(failedWindowMs / 60_000)} minutes.`,
            value: rate,
            threshold: failedRule.threshold,
            data: { windowMs: failedWindowMs, failedCalls: failed, endedCalls: ended },
          }),
        at,
      );
      return published ? 1 : 0;
    },

    async checkLongCalls(tenantId, at, log) {
      const longCallMs = rules.longCallMs;
      if (longCallMs === undefined) return 0;
      let fired = 0;
      // Every page: alerted calls stay listed while they are active, so a single page of the
      // newest would hide the older ones for as long as those stay.
      for await (const calls of walkLongRunningCalls(store, tenantId, at - longCallMs, 500)) {
        for (const call of calls) {
          const { callId } = call;
          const activeMs = at - Date.parse(call.startedAt ?? call.createdAt);
          // Taken on the call, not for a time: events can keep a call active for longer than
          // any slot lives, and maintenance can stop for longer (decision 0059).
          const published = await publishClaimed(
            tenantId,
            {
              take: () => store.claimCallAlert(tenantId, callId, 'long_call'),
              free: () => store.releaseCallAlert(tenantId, callId, 'long_call'),
            },
            () =>
              createAlertEvent({
                tenantId,
                type: 'alert.long_call',
                key: `long_call:${callId}`,
                at,
                message: `Call active for ${Math.floor(activeMs / 60_000)} minutes, longer than ${Math.round(longCallMs / 60_000)}.`,
                value: activeMs,
                threshold: longCallMs,
                callId,
                ...(call.branchId === undefined ? {} : { branchId: call.branchId }),
                data: { call },
              }),
            log,
          );
          if (published) fired += 1;
        }
      }
      return fired;
    },
  };
}

function checkRules(
  rules: CallAlertOptions,
  cooldownMs: number,
  failedWindowMs: number,
  minuteRetentionMs: number,
): void {
  const positive = (value: number | undefined, name: string): void => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new InvalidArgumentError({ message: `alerts.${name} must be a positive number.` });
    }
  };
  positive(cooldownMs, 'cooldownMs');
  positive(rules.longCallMs, 'longCallMs');
  if (typeof rules.maxConcurrentCalls === 'number') {
    if (!Number.isInteger(rules.maxConcurrentCalls) || rules.maxConcurrentCalls < 0) {
      throw new InvalidArgumentError({
        message: 'alerts.maxConcurrentCalls must be a non-negative integer or a function.',
      });
    }
  }
  const failed = rules.failedCallRate;
  if (failed) {
    if (!(failed.threshold >= 0 && failed.threshold < 1)) {
      throw new InvalidArgumentError({
        message: 'alerts.failedCallRate.threshold must be a share from 0 up to (not including) 1.',
      });
    }
    positive(failedWindowMs, 'failedCallRate.windowMs');
    if (failedWindowMs > minuteRetentionMs) {
      throw new InvalidArgumentError({
        message: 'alerts.failedCallRate.windowMs cannot exceed analytics.minuteRetentionMs.',
      });
    }
    if (
      failed.minCalls !== undefined &&
      !(Number.isInteger(failed.minCalls) && failed.minCalls >= 1)
    ) {
      throw new InvalidArgumentError({
        message: 'alerts.failedCallRate.minCalls must be a positive integer.',
      });
    }
  }
}

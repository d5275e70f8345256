import { InvalidArgumentError } from '@calltrack/core';
import type { CallTrackerOptions } from './call-tracker';
import type { CallTransitionSettings } from './call-transition';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;

/** `CallTrackerOptions` with every default filled in and every value checked. */
export interface TrackerSettings {
  staleCallStatus: 'failed' | 'canceled';
  maintenanceIntervalMs: number;
  /** What the store needs to apply a transition. */
  transition: CallTransitionSettings;
  capacity: NonNullable<CallTrackerOptions['analytics']>['capacity'];
}

/**
 * Fills in the defaults of `createCallTracker`'s options (stale after 1 hour, an answered call
 * after 4 hours or `staleAfterMs` if that is longer, ended as `failed`, maintenance every minute, 30 s publish lease, ended calls kept a day, hour and day
 * buckets 30 days, minute buckets a day) and checks the values given. Throws
 * `InvalidArgumentError` naming the option.
 */
export function resolveTrackerSettings(options: CallTrackerOptions): TrackerSettings {
  const staleCallStatus = options.staleCallStatus ?? 'failed';
  if (staleCallStatus !== 'failed' && staleCallStatus !== 'canceled') {
    throw new InvalidArgumentError({ message: 'staleCallStatus must be "failed" or "canceled".' });
  }
  const retentionDays = positive(options.analytics?.retentionDays, 30, 'analytics.retentionDays');
  const staleAfterMs = positive(options.staleAfterMs, hour, 'staleAfterMs');
  const settings: TrackerSettings = {
    staleCallStatus,
    maintenanceIntervalMs: positive(options.maintenanceIntervalMs, minute, 'maintenanceIntervalMs'),
    transition: {
      publishLeaseMs: positive(options.publishLeaseMs, 30_000, 'publishLeaseMs'),
      endedCallRetentionMs: positive(options.endedCallRetentionMs, day, 'endedCallRetentionMs'),
      staleAfterMs,
      // Twilio's default call time limit is 4 hours; one who raised staleAfterMs past that
      // keeps answered calls at least as long.
      answeredStaleAfterMs: positive(
        options.answeredStaleAfterMs,
        Math.max(4 * hour, staleAfterMs),
        'answeredStaleAfterMs',
      ),
      analyticsRetentionMs: {
        minute: positive(options.analytics?.minuteRetentionMs, day, 'analytics.minuteRetentionMs'),
        hour: retentionDays * day,
        day: retentionDays * day,
      },
    },
    capacity: options.analytics?.capacity,
  };
  return settings;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new InvalidArgumentError({ message: `${name} must be a positive number.` });
  }
  return value;
}

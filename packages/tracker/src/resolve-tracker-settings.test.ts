import { createMemoryBus } from '@calltrack/bus';
import { InvalidArgumentError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { resolveTrackerSettings } from './resolve-tracker-settings';

const hour = 3_600_000;
const day = 24 * hour;
const bus = createMemoryBus();

describe('resolveTrackerSettings', () => {
  it('fills in the documented defaults', () => {
    expect(resolveTrackerSettings({ bus })).toEqual({
      staleCallStatus: 'failed',
      maintenanceIntervalMs: 60_000,
      transition: {
        publishLeaseMs: 30_000,
        endedCallRetentionMs: day,
        staleAfterMs: hour,
        answeredStaleAfterMs: 4 * hour,
        analyticsRetentionMs: { minute: day, hour: 30 * day, day: 30 * day },
      },
      capacity: undefined,
    });
  });

  it('keeps the values given', () => {
    const capacity = () => 5;
    const settings = resolveTrackerSettings({
      bus,
      staleAfterMs: 10,
      answeredStaleAfterMs: 15,
      staleCallStatus: 'canceled',
      maintenanceIntervalMs: 20,
      publishLeaseMs: 30,
      endedCallRetentionMs: 40,
      analytics: { retentionDays: 2, minuteRetentionMs: 50, capacity },
    });
    expect(settings).toEqual({
      staleCallStatus: 'canceled',
      maintenanceIntervalMs: 20,
      transition: {
        publishLeaseMs: 30,
        endedCallRetentionMs: 40,
        staleAfterMs: 10,
        answeredStaleAfterMs: 15,
        analyticsRetentionMs: { minute: 50, hour: 2 * day, day: 2 * day },
      },
      capacity,
    });
  });

  it('holds an answered call at least as long as an unanswered one unless told otherwise', () => {
    const longer = resolveTrackerSettings({ bus, staleAfterMs: 6 * hour }).transition;
    expect(longer).toMatchObject({ staleAfterMs: 6 * hour, answeredStaleAfterMs: 6 * hour });
    const shorter = resolveTrackerSettings({
      bus,
      staleAfterMs: 6 * hour,
      answeredStaleAfterMs: hour,
    }).transition;
    expect(shorter).toMatchObject({ staleAfterMs: 6 * hour, answeredStaleAfterMs: hour });
  });

  it('refuses a value it cannot use, naming the option', () => {
    for (const [options, name] of [
      [{ staleAfterMs: 0 }, 'staleAfterMs'],
      [{ answeredStaleAfterMs: -1 }, 'answeredStaleAfterMs'],
      [{ maintenanceIntervalMs: Number.POSITIVE_INFINITY }, 'maintenanceIntervalMs'],
      [{ publishLeaseMs: -1 }, 'publishLeaseMs'],
      [{ endedCallRetentionMs: '1' }, 'endedCallRetentionMs'],
      [{ analytics: { retentionDays: Number.NaN } }, 'analytics.retentionDays'],
      [{ analytics: { minuteRetentionMs: 0 } }, 'analytics.minuteRetentionMs'],
      [{ staleCallStatus: 'busy' }, 'staleCallStatus'],
    ] as const) {
      let caught: unknown;
      try {
        resolveTrackerSettings({ bus, ...(options as object) });
      } catch (error) {
        caught = error;
      }
      expect(InvalidArgumentError.isInstance(caught), name).toBe(true);
      expect((caught as Error).message.startsWith(name), name).toBe(true);
    }
  });
});

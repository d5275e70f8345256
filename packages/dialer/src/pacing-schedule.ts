import { InvalidArgumentError } from '@calltrack/core';

/**
 * How a rate is paced: windows of `windowMs`, numbered from the epoch, window `n` letting
 * `quota(n)` calls through.
 *
 * - Below 10 calls per second, one call per window of `1000 / rate` ms (1/s: one a second;
 *   0.3/s: one per 3,333.3 ms).
 * - From 10 per second up, windows of a tenth of a second whose quotas add up to the rate over
 *   every ten in a row: 50/s is 5 in each, 15/s is 1, 2, 1, 2…
 *
 * A second, wherever it starts, overlaps whole windows worth a second and one more: it holds at
 * most `⌈rate⌉ + ⌈rate / 10⌉` calls (55 at 50/s, 17 at 15/s, 2 at 1/s). Windows of one size
 * from 10/s up let more through when a second is not a whole number of them: 2 calls per
 * 133.3 ms at 15/s let 18 into a second (decision 0047, amended).
 */
export interface PacingSchedule {
  windowMs: number;
  /** The most calls any window lets through (`⌈rate / 10⌉`). */
  maxQuota: number;
  /** The calls window `window` lets through. */
  quota(window: number): number;
  /** Names the schedule in the counters' keys. */
  keyPrefix: string;
}

/** The {@link PacingSchedule} of `callsPerSecond`; a rate that is no positive number is a 400. */
export function pacingSchedule(callsPerSecond: number): PacingSchedule {
  if (
    !(typeof callsPerSecond === 'number' && callsPerSecond > 0 && Number.isFinite(callsPerSecond))
  ) {
    throw new InvalidArgumentError({
      message: `callsPerSecond must be a positive number, got ${String(callsPerSecond)}.`,
    });
  }
  if (callsPerSecond < 10) {
    const windowMs = 1000 / callsPerSecond;
    return {
      windowMs,
      maxQuota: 1,
      quota: () => 1,
      keyPrefix: `1/${Math.round(windowMs * 1000)}`,
    };
  }
  // In thousandths of a call per second, whole: the quotas are integer arithmetic, the same in
  // every process. `callsBefore(n)` is ⌊n · rate / 10⌋, split so no product leaves 2^53.
  const milli = Math.floor(callsPerSecond * 1000 + 1e-6);
  const callsBefore = (window: number): number => {
    const periods = Math.floor(window / 10_000);
    return periods * milli + Math.floor(((window - periods * 10_000) * milli) / 10_000);
  };
  const even = milli % 10_000 === 0;
  return {
    windowMs: 100,
    maxQuota: Math.ceil(milli / 10_000),
    quota: (window) => callsBefore(window + 1) - callsBefore(window),
    // An even rate keeps the keys of its windows as they were (5/100000 at 50/s).
    keyPrefix: even ? `${milli / 10_000}/100000` : `${milli / 1000}/s`,
  };
}

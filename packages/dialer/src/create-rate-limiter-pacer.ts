import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { CallPacer } from './call-pacer';
import type { DialerClock } from './dialer-clock';
import { type PacingSchedule, pacingSchedule } from './pacing-schedule';

/** What a {@link createRateLimiterPacer} asks of its limiter factory. */
export interface PacingLimiterOptions {
  points: number;
  /** Whole seconds a window's counter lives: longer than the window, then it expires. */
  duration: number;
  keyPrefix: string;
}

// How far ahead a call may ask for its window while the limiter answers slowly. A counter lives
// a second longer than its window, so it outlives a window asked for this far ahead.
const maxLookAheadMs = 1000;

/**
 * A {@link CallPacer} over rate-limiter-flexible. rate-limiter-flexible's windows are whole
 * seconds on Redis, so each window of the {@link pacingSchedule} gets a counter of its own: the
 * key names the account and the window's number on the pacer's clock, and the limiter counts
 * its calls atomically (across processes on Redis).
 *
 * A call starts only inside the window whose counter let it through, so no window starts more
 * than its quota, wherever the limiter's answers fall: one that comes back after its window
 * closed (a slow round trip, a stalled process) is not used, and the call asks again. Calls ask
 * for the window their answer is expected in (now plus how long the last answer took), so a
 * limiter slower than a window still lets calls through; one answered before its window opens
 * waits for it. A refused call asks again as the next window opens.
 */
export function createRateLimiterPacer(
  makeLimiter: (options: PacingLimiterOptions) => RateLimiterAbstract,
  clock: DialerClock,
): CallPacer {
  const paces = new Map<
    number,
    { schedule: PacingSchedule; limiters: Map<number, RateLimiterAbstract> }
  >();
  let answerMs = 0;

  const paceFor = (callsPerSecond: number) => {
    let pace = paces.get(callsPerSecond);
    if (pace === undefined) {
      pace = { schedule: pacingSchedule(callsPerSecond), limiters: new Map() };
      paces.set(callsPerSecond, pace);
    }
    return pace;
  };
  const limiterFor = (pace: ReturnType<typeof paceFor>, window: number): RateLimiterAbstract => {
    const points = pace.schedule.quota(window);
    let limiter = pace.limiters.get(points);
    if (limiter === undefined) {
      limiter = makeLimiter({
        points,
        duration: Math.ceil(pace.schedule.windowMs / 1000) + 1,
        keyPrefix: pace.schedule.keyPrefix,
      });
      pace.limiters.set(points, limiter);
    }
    return limiter;
  };

  return {
    async acquire(account, callsPerSecond, signal) {
      const pace = paceFor(callsPerSecond);
      const { windowMs } = pace.schedule;
      for (;;) {
        signal?.throwIfAborted();
        const asked = clock.now();
        const window = Math.floor((asked + answerMs) / windowMs);
        const opens = window * windowMs;
        const closes = (window + 1) * windowMs;
        let granted = true;
        try {
          await limiterFor(pace, window).consume(`${account}:${window}`, 1);
        } catch (refusal) {
          if (!(refusal instanceof RateLimiterRes)) throw refusal;
          granted = false;
        }
        const answered = clock.now();
        answerMs = Math.min(Math.max(0, answered - asked), maxLookAheadMs);
        if (!granted) {
          await clock.sleep(Math.max(1, closes - answerMs - answered), signal);
          continue;
        }
        if (answered < opens) await clock.sleep(opens - answered, signal);
        signal?.throwIfAborted();
        if (clock.now() < closes) return;
      }
    },
  };
}

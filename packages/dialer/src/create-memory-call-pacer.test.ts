import { RateLimiterMemory } from 'rate-limiter-flexible';
import { describe, expect, it } from 'vitest';
import { createMemoryCallPacer } from './create-memory-call-pacer';
import { createRateLimiterPacer } from './create-rate-limiter-pacer';
import { createTestClock } from './create-test-clock';

/** The most grants that fall in any one second (a half-open [t, t + 1000) ms). */
function mostInAnySecond(grants: readonly number[]): number {
  const sorted = [...grants].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < sorted.length; last += 1) {
    while (sorted[last]! - sorted[first]! >= 1000) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** Lets every caller ask and start waiting before time moves. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// The clocks start at 0, so the pacing windows (multiples of their length) start at round times.
describe('createMemoryCallPacer', () => {
  it('lets 50 per second through as 5 per tenth of a second, from the first call on', async () => {
    const clock = createTestClock(0);
    const pacer = createMemoryCallPacer({ clock });
    const grants: number[] = [];
    // 120 callers at once, as a run's start brings every user's first lead.
    const all = Promise.all(
      Array.from({ length: 120 }, () =>
        pacer.acquire('account', 50).then(() => grants.push(clock.now())),
      ),
    );
    await settle();
    await clock.advance(3000);
    await all;
    expect(grants).toEqual(Array.from({ length: 120 }, (_, index) => Math.floor(index / 5) * 100));
    expect(mostInAnySecond(grants)).toBe(50);
  });

  it('holds any one second to the rate and one window more, wherever callers come', async () => {
    // With one window of a whole second (decision 0024) these 10 + 90 callers got 50 calls in
    // the first second, 40 of them at 950 ms, then 50 more at 1,000 ms: 90 calls within 50 ms
    // (decision 0047).
    const clock = createTestClock(0);
    const pacer = createMemoryCallPacer({ clock });
    const grants: number[] = [];
    const callers = (count: number) =>
      Array.from({ length: count }, () =>
        pacer.acquire('account', 50).then(() => grants.push(clock.now())),
      );
    const early = Promise.all(callers(10));
    await settle();
    await clock.advance(950);
    await early;
    const late = Promise.all(callers(90));
    await settle();
    await clock.advance(3000);
    await late;
    expect(grants).toHaveLength(100);
    expect(grants.slice(0, 15)).toEqual([
      0, 0, 0, 0, 0, 100, 100, 100, 100, 100, 950, 950, 950, 950, 950,
    ]);
    expect(grants.at(-1)).toBe(2600);
    // 5 at 950 ms, then 5 in each of the next ten windows: 50 + 5.
    expect(mostInAnySecond(grants)).toBe(55);
  });

  it('holds any one second to the rate and one window more at any rate, wherever callers come', async () => {
    // A second is not a whole number of windows at 15/s (2 calls per 133.3 ms): callers from
    // 110 ms on got 2 calls in the window at 110 ms and 2 in each of the next eight windows,
    // 18 within a second against 15 + 2.
    const over: { rate: number; late: number; most: number; bound: number }[] = [];
    for (const rate of [0.3, 1, 2.5, 7, 10, 11, 15, 25, 50, 99]) {
      const bound = Math.ceil(rate) + Math.ceil(rate / 10);
      for (const late of [0, 1, 37, 110, 333, 901, 999]) {
        const clock = createTestClock(0);
        const pacer = createMemoryCallPacer({ clock });
        const grants: number[] = [];
        await clock.advance(late);
        const calls = Math.ceil(rate * 3) + 5;
        const all = Promise.all(
          Array.from({ length: calls }, () =>
            pacer.acquire('account', rate).then(() => grants.push(clock.now())),
          ),
        );
        await settle();
        await clock.advance(20_000);
        await all;
        const most = mostInAnySecond(grants);
        if (most > bound) over.push({ rate, late, most, bound });
        // Over many seconds, the rate asked for.
        const span = (grants.at(-1)! - grants[0]!) / 1000;
        expect(Math.abs((grants.length - 1) / span - rate) / rate).toBeLessThan(0.35);
      }
    }
    expect(over).toEqual([]);
  });

  it('starts a call only inside the window that counted it, however late the limiter answers', async () => {
    // The limiter's answer takes time (a Redis round trip, a stalled process): a window's calls
    // that came back after it ended started beside the next window's, 60 in one second at 50/s.
    const clock = createTestClock(0);
    let answerMs = 0;
    const pacer = createRateLimiterPacer(({ points, duration, keyPrefix }) => {
      const limiter = new RateLimiterMemory({ points, duration, keyPrefix });
      const consume = limiter.consume.bind(limiter);
      limiter.consume = async (key, taken) => {
        if (answerMs > 0) await clock.sleep(answerMs);
        return consume(key, taken);
      };
      return limiter;
    }, clock);
    const grants: number[] = [];
    const callers = (count: number) =>
      Array.from({ length: count }, () =>
        pacer.acquire('account', 50).then(() => grants.push(clock.now())),
      );
    const all: Promise<unknown>[] = [];
    // 5 callers at 95 ms, answered 10 ms later; 5 more at 199 ms and 50 at 200 ms, answered at once.
    for (let at = 0; at <= 2_000; at += 1) {
      if (at === 95) {
        answerMs = 10;
        all.push(...callers(5));
      }
      if (at === 106) answerMs = 0;
      if (at === 199) all.push(...callers(5));
      if (at === 200) all.push(...callers(50));
      await settle();
      await clock.advance(1);
    }
    await Promise.all(all);
    expect(grants).toHaveLength(60);
    expect(mostInAnySecond(grants)).toBeLessThanOrEqual(55);
  });

  it('keeps pacing when the limiter answers more slowly than a window lasts', async () => {
    const clock = createTestClock(0);
    const pacer = createRateLimiterPacer(({ points, duration, keyPrefix }) => {
      const limiter = new RateLimiterMemory({ points, duration, keyPrefix });
      const consume = limiter.consume.bind(limiter);
      limiter.consume = async (key, taken) => {
        await clock.sleep(150);
        return consume(key, taken);
      };
      return limiter;
    }, clock);
    const grants: number[] = [];
    const all = Promise.all(
      Array.from({ length: 20 }, () =>
        pacer.acquire('account', 50).then(() => grants.push(clock.now())),
      ),
    );
    for (let at = 0; at < 2_000 && grants.length < 20; at += 1) {
      await settle();
      await clock.advance(1);
    }
    expect(grants).toHaveLength(20);
    await all;
    expect(mostInAnySecond(grants)).toBeLessThanOrEqual(55);
    // Four windows' calls, once the pacer knows how long the limiter takes.
    expect(grants.at(-1)).toBeLessThan(1_000);
  });

  it('keeps rates below one call per second exact, and accounts apart', async () => {
    const clock = createTestClock(0);
    const pacer = createMemoryCallPacer({ clock });
    const grants: string[] = [];
    const all = Promise.all([
      ...Array.from({ length: 3 }, () =>
        pacer.acquire('slow', 0.3).then(() => grants.push(`slow@${Math.round(clock.now())}`)),
      ),
      pacer.acquire('other', 0.3).then(() => grants.push(`other@${Math.round(clock.now())}`)),
    ]);
    await settle();
    await clock.advance(10_000);
    await all;
    // 0.3 per second is one call per 3,333.3 ms (a window of whole seconds made it 3 s).
    expect(grants).toEqual(['slow@0', 'other@0', 'slow@3333', 'slow@6667']);
  });

  it('rejects when the signal aborts, before or while waiting, and on a rate that is no rate', async () => {
    const clock = createTestClock(0);
    const pacer = createMemoryCallPacer({ clock });
    await pacer.acquire('account', 1);
    const waiting = new AbortController();
    const acquired = pacer.acquire('account', 1, waiting.signal);
    await settle();
    expect(clock.sleepers).toBe(1);
    waiting.abort();
    await expect(acquired).rejects.toThrow();
    await expect(pacer.acquire('account', 1, waiting.signal)).rejects.toThrow();
    await expect(pacer.acquire('account', 0)).rejects.toMatchObject({ status: 400 });
    await expect(pacer.acquire('account', Number.NaN)).rejects.toMatchObject({ status: 400 });
  });
});

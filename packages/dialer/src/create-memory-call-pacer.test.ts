import { describe, expect, it } from 'vitest';
import { createMemoryCallPacer } from './create-memory-call-pacer';
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

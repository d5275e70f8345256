import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDeadlineQueue } from './create-deadline-queue';

describe('createDeadlineQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const failed = (error: unknown) =>
    new Error(error === undefined ? 'timed out' : `failed: ${error}`);

  it('settles like the work when it finishes in time', async () => {
    const deadlines = createDeadlineQueue(1000);
    await expect(deadlines.within(Promise.resolve(42), failed)).resolves.toBe(42);
    await expect(deadlines.within(Promise.reject('boom'), failed)).rejects.toThrowError(
      'failed: boom',
    );
  });

  it('rejects what is still pending at its deadline, in start order, with one timer', async () => {
    const deadlines = createDeadlineQueue(1000);
    const never = new Promise<never>(() => {});
    const outcomes: string[] = [];
    const first = deadlines
      .within(never, failed)
      .catch((error: Error) => outcomes.push(`first ${error.message}`));
    await vi.advanceTimersByTimeAsync(400);
    const second = deadlines
      .within(never, failed)
      .catch((error: Error) => outcomes.push(`second ${error.message}`));
    let finish!: (value: string) => void;
    const third = deadlines.within(new Promise<string>((resolve) => (finish = resolve)), failed);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(600);
    expect(outcomes).toEqual(['first timed out']);
    finish('done');
    await expect(third).resolves.toBe('done');
    await vi.advanceTimersByTimeAsync(400);
    await Promise.all([first, second]);
    expect(outcomes).toEqual(['first timed out', 'second timed out']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ignores a late answer after the deadline', async () => {
    const deadlines = createDeadlineQueue(100);
    let finish!: (value: number) => void;
    const result = deadlines.within(new Promise<number>((resolve) => (finish = resolve)), failed);
    const settled = result.catch((error: Error) => error.message);
    await vi.advanceTimersByTimeAsync(100);
    finish(1);
    await expect(settled).resolves.toBe('timed out');
  });

  it('keeps its time limit when the system clock is stepped back or forward meanwhile', async () => {
    const deadlines = createDeadlineQueue(1000);
    const never = new Promise<never>(() => {});
    const outcomes: string[] = [];
    void deadlines
      .within(never, failed)
      .catch((error: Error) => outcomes.push(`back ${error.message}`));
    // NTP steps the clock an hour back: the limit still ends 1,000 ms after the start.
    vi.setSystemTime(Date.now() - 60 * 60 * 1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(outcomes).toEqual(['back timed out']);

    const first = deadlines.within(never, failed).catch((error: Error) => error.message);
    await vi.advanceTimersByTimeAsync(900);
    let finish!: (value: string) => void;
    const second = deadlines.within(new Promise<string>((resolve) => (finish = resolve)), failed);
    // An hour forward: the first runs out at its time, the second 100 ms into its 1,000 does not.
    vi.setSystemTime(Date.now() + 60 * 60 * 1000);
    await vi.advanceTimersByTimeAsync(100);
    await expect(first).resolves.toBe('timed out');
    finish('in time');
    await expect(second).resolves.toBe('in time');
  });
});

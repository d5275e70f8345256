import { describe, expect, it } from 'vitest';
import { createPermits } from './create-permits';

describe('createPermits', () => {
  it('lets `limit` holders in at once and hands a released permit to the longest waiter', async () => {
    const permits = createPermits(2);
    expect(permits.acquire()).toBe(true);
    expect(permits.acquire()).toBe(true);
    const order: string[] = [];
    const first = permits.acquire();
    const second = permits.acquire();
    expect(first).toBeInstanceOf(Promise);
    void (first as Promise<void>).then(() => order.push('first'));
    void (second as Promise<void>).then(() => order.push('second'));
    permits.release();
    await Promise.resolve();
    expect(order).toEqual(['first']);
    permits.release();
    await Promise.resolve();
    expect(order).toEqual(['first', 'second']);
    permits.release();
    permits.release();
    expect(permits.acquire()).toBe(true);
    expect(permits.acquire()).toBe(true);
    expect(permits.acquire()).toBeInstanceOf(Promise);
  });

  it('tryAcquire takes a free permit only, without joining the waiters', () => {
    const permits = createPermits(1);
    expect(permits.tryAcquire()).toBe(true);
    expect(permits.tryAcquire()).toBe(false);
    permits.release();
    expect(permits.acquire()).toBe(true);
    expect(permits.tryAcquire()).toBe(false);
  });

  it('acquireBefore waits in line for a permit, and gives up its place at the deadline', async () => {
    const permits = createPermits(1);
    expect(permits.acquireBefore(performance.now() + 10)).toBe(true);
    const late = permits.acquireBefore(performance.now() + 5);
    const served = permits.acquireBefore(performance.now() + 60_000);
    expect(await late).toBe(false);
    permits.release(); // passes the waiter that gave up by
    expect(await served).toBe(true);
    expect(permits.tryAcquire()).toBe(false);
    permits.release();
    expect(permits.tryAcquire()).toBe(true);
  });

  it('acquireBefore: waiters of one deadline share a timer; served ones stay served', async () => {
    const permits = createPermits(1);
    expect(permits.acquireBefore(performance.now() + 60_000)).toBe(true);
    expect(permits.acquireBefore(performance.now() - 1)).toBe(false);
    const deadline = performance.now() + 30;
    const first = permits.acquireBefore(deadline);
    const second = permits.acquireBefore(deadline);
    const third = permits.acquireBefore(deadline);
    permits.release(); // to the first in line
    expect(await first).toBe(true);
    expect(await second).toBe(false);
    expect(await third).toBe(false);
    permits.release(); // passes both by: the permit is free again
    expect(permits.tryAcquire()).toBe(true);
    expect(permits.tryAcquire()).toBe(false);
  });

  it('acquireBefore: a deadline whose waiters were all served leaves no timer running', async () => {
    const timers = () =>
      process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const permits = createPermits(1);
    expect(permits.tryAcquire()).toBe(true);
    const before = timers();
    const served = permits.acquireBefore(performance.now() + 60_000);
    expect(timers()).toBe(before + 1);
    permits.release();
    expect(await served).toBe(true);
    expect(timers()).toBe(before);
  });
});

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

  it('acquireWithin waits in line for a permit, and gives up its place after the time', async () => {
    const permits = createPermits(1);
    expect(permits.acquireWithin(10)).toBe(true);
    const late = permits.acquireWithin(5);
    const served = permits.acquireWithin(60_000);
    expect(await late).toBe(false);
    permits.release(); // passes the waiter that gave up by
    expect(await served).toBe(true);
    expect(permits.tryAcquire()).toBe(false);
    permits.release();
    expect(permits.tryAcquire()).toBe(true);
  });
});

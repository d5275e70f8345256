import { describe, expect, it } from 'vitest';
import { createSlotWaiters } from './create-slot-waiters';

describe('createSlotWaiters', () => {
  it("wakes a delivery's deferred waiters at its release, and an endpoint's one at a time, oldest first", () => {
    const waiters = createSlotWaiters();
    const woken: string[] = [];
    for (const [jobId, key] of [
      ['a', 'delivery'],
      ['b', 'delivery'],
      ['c', 'slots'],
      ['d', 'slots'],
    ] as const) {
      waiters.started(jobId);
      waiters.waiting(jobId, key);
      expect(waiters.deferred(jobId, () => woken.push(jobId))).toBe(true);
    }
    waiters.release('other', 'all');
    expect(woken).toEqual([]);
    waiters.release('delivery', 'all');
    expect(woken).toEqual(['a', 'b']);
    waiters.release('slots', 'one');
    expect(woken).toEqual(['a', 'b', 'c']);
    waiters.release('slots', 'one');
    waiters.release('slots', 'one');
    waiters.release('delivery', 'all');
    // Each is woken once: a woken job waits again only if the store answers it another wait.
    expect(woken).toEqual(['a', 'b', 'c', 'd']);
  });

  it('has a job released while it ran run again at once, instead of deferring', () => {
    const waiters = createSlotWaiters();
    waiters.started('job');
    waiters.waiting('job', 'delivery');
    waiters.release('delivery', 'all');
    const woken: string[] = [];
    expect(waiters.deferred('job', () => woken.push('job'))).toBe(false);
    // Its next run was answered no wait: nothing is left to wake.
    waiters.ended('job');
    waiters.release('delivery', 'all');
    expect(woken).toEqual([]);
  });

  it('passes a slot a woken job did not use to the next waiter', () => {
    const waiters = createSlotWaiters();
    const woken: string[] = [];
    waiters.started('first');
    waiters.waiting('first', 'slots');
    waiters.started('second');
    waiters.waiting('second', 'slots');
    expect(waiters.deferred('second', () => woken.push('second'))).toBe(true);
    waiters.release('slots', 'one');
    expect(woken).toEqual([]);
    // The first ends without deferring (it found nothing to send): the slot goes on.
    waiters.ended('first');
    expect(woken).toEqual(['second']);
  });

  it('ignores jobs it did not see start, and deferrals for anything else', () => {
    const waiters = createSlotWaiters();
    const woken: string[] = [];
    // A direct first attempt or a test send: not a job of this queue.
    waiters.waiting('direct', 'slots');
    expect(waiters.deferred('direct', () => woken.push('direct'))).toBe(true);
    // Deferred for a rate limit: answered no wait.
    waiters.started('limited');
    expect(waiters.deferred('limited', () => woken.push('limited'))).toBe(true);
    waiters.release('slots', 'all');
    expect(woken).toEqual([]);
    // Started again, a job's earlier wait is forgotten.
    waiters.started('again');
    waiters.waiting('again', 'slots');
    expect(waiters.deferred('again', () => woken.push('again'))).toBe(true);
    waiters.started('again');
    waiters.release('slots', 'all');
    expect(woken).toEqual([]);
  });
});

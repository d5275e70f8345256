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

  it('has a deferred job woken for a slot pass it on when its next run does not take it', () => {
    const waiters = createSlotWaiters();
    const woken: string[] = [];
    for (const jobId of ['a', 'b', 'c', 'd']) {
      waiters.started(jobId);
      waiters.waiting(jobId, 'slots');
      waiters.deferred(jobId, () => woken.push(jobId));
    }
    waiters.release('slots', 'one');
    expect(woken).toEqual(['a']);
    // Run again, it finds nothing to send (its delivery done, its endpoint disabled).
    waiters.started('a');
    waiters.ended('a');
    expect(woken).toEqual(['a', 'b']);
    // Run again, it waits for its delivery (another attempt of it in flight) instead.
    waiters.started('b');
    waiters.waiting('b', 'delivery');
    expect(woken).toEqual(['a', 'b', 'c']);
    expect(waiters.deferred('b', () => woken.push('b'))).toBe(true);
    // Run again, it is deferred for something else (a failing store).
    waiters.started('c');
    expect(waiters.deferred('c', () => woken.push('c'))).toBe(true);
    expect(woken).toEqual(['a', 'b', 'c', 'd']);
    // The last waiter passes it on to nobody; b still waits for its delivery.
    waiters.started('d');
    waiters.ended('d');
    waiters.release('delivery', 'all');
    expect(woken).toEqual(['a', 'b', 'c', 'd', 'b']);
  });

  it('keeps the wake with a woken job that takes the slot, or finds it taken by another', () => {
    const waiters = createSlotWaiters();
    const woken: string[] = [];
    for (const jobId of ['a', 'b', 'c']) {
      waiters.started(jobId);
      waiters.waiting(jobId, 'slots');
      waiters.deferred(jobId, () => woken.push(jobId));
    }
    waiters.release('slots', 'one');
    // It took the slot (the store answered no wait): its release passes the slot on, not its end.
    waiters.started('a');
    waiters.release('slots', 'one', 'a');
    expect(woken).toEqual(['a', 'b']);
    waiters.ended('a');
    expect(woken).toEqual(['a', 'b']);
    // Another took the slot first: b waits again, and that one's release wakes the next.
    waiters.started('b');
    waiters.waiting('b', 'slots');
    expect(waiters.deferred('b', () => woken.push('b'))).toBe(true);
    expect(woken).toEqual(['a', 'b']);
    waiters.release('slots', 'one', 'another');
    waiters.release('slots', 'one', 'another');
    expect(woken).toEqual(['a', 'b', 'c', 'b']);
  });

  it('has a job woken for a slot while it ran carry the wake into its run again', () => {
    const waiters = createSlotWaiters();
    const woken: string[] = [];
    waiters.started('first');
    waiters.waiting('first', 'slots');
    waiters.started('second');
    waiters.waiting('second', 'slots');
    expect(waiters.deferred('second', () => woken.push('second'))).toBe(true);
    waiters.release('slots', 'one');
    expect(waiters.deferred('first', () => woken.push('first'))).toBe(false);
    // Its run again finds nothing to send: the slot goes on.
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

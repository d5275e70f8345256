import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type CallEvent, callEventSchema, sealCallEvent } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { take } from './collect-bus-messages';
import { createMemoryBus } from './create-memory-bus';
import { describeEventBus } from './testing';

/** The garbage collector, to see what the bus let go of. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Publishes `count` sealed events of `tenantId`; returns weak references to them. */
async function publishWatched(
  bus: ReturnType<typeof createMemoryBus>,
  tenantId: string,
  count: number,
): Promise<WeakRef<CallEvent>[]> {
  const watched: WeakRef<CallEvent>[] = [];
  for (let index = 0; index < count; index += 1) {
    // Sealed: the bus keeps this very object in its history, so the reference shows it.
    const event = sealCallEvent(makeCallEvent({ tenantId }));
    watched.push(new WeakRef(event));
    await bus.publish(event);
  }
  return watched;
}

/** How many of `watched` are still held by somebody, after a full collection. */
async function stillHeld(watched: WeakRef<CallEvent>[]): Promise<number> {
  // A WeakRef target stays alive until the end of the turn it was last dereferenced in.
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  return watched.filter((ref) => ref.deref() !== undefined).length;
}

describeEventBus(
  { describe, it, afterEach },
  { name: 'memory', createBus: async (options) => createMemoryBus(options) },
);

describe('createMemoryBus', () => {
  it('ages events out by its clock', async () => {
    let now = 1_000_000;
    const bus = createMemoryBus({ history: { maxAgeMs: 1000 }, clock: { now: () => now } });
    const { cursor } = await bus.publish(makeCallEvent());
    now += 1001;
    const subscription = bus.subscribe({ tenantId: 'tenant-a', after: cursor });
    await bus.publish(makeCallEvent());
    const [first] = await take(subscription, 1);
    expect(first).toMatchObject({ type: 'event' });
    now += 1001;
    const late = bus.subscribe({ tenantId: 'tenant-a', after: cursor });
    expect(await take(late, 1)).toEqual([
      { type: 'reset', recovered: false, reason: 'history-gap' },
    ]);
  });

  it('answers a cursor of another tenant with stream-reset, then the events from now on', async () => {
    const bus = createMemoryBus();
    const { cursor: cursorOfA } = await bus.publish(makeCallEvent({ tenantId: 'tenant-a' }));
    for (let index = 0; index < 3; index += 1) {
      await bus.publish(makeCallEvent({ tenantId: 'tenant-b' }));
    }
    const subscription = bus.subscribe({ tenantId: 'tenant-b', after: cursorOfA });
    const live = makeCallEvent({ tenantId: 'tenant-b' });
    await bus.publish(live);
    expect(await take(subscription, 2)).toEqual([
      { type: 'reset', recovered: false, reason: 'stream-reset' },
      expect.objectContaining({ type: 'event', event: live }),
    ]);
  });

  it('keeps memory bounded: history never holds more than maxEvents per tenant', async () => {
    const bus = createMemoryBus({ history: { maxEvents: 50 } });
    const cursors: string[] = [];
    for (let index = 0; index < 5000; index += 1)
      cursors.push((await bus.publish(makeCallEvent())).cursor);
    const all = bus.subscribe({ tenantId: 'tenant-a', after: cursors[4949] });
    expect((await take(all, 50)).every((message) => message.type === 'event')).toBe(true);
    const tooOld = bus.subscribe({ tenantId: 'tenant-a', after: cursors[4948] });
    expect(await take(tooOld, 1)).toEqual([
      { type: 'reset', recovered: false, reason: 'history-gap' },
    ]);
  });

  it('publishes a sealed event as it is, without validating it again; a plain one is validated', async () => {
    const bus = createMemoryBus();
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    const sealed = sealCallEvent(makeCallEvent());
    const validations = vi.spyOn(callEventSchema, 'safeParse');
    try {
      await bus.publish(sealed);
      expect(validations).not.toHaveBeenCalled();
    } finally {
      validations.mockRestore();
    }
    const plain = makeCallEvent();
    await bus.publish(plain);
    await expect(bus.publish({ ...makeCallEvent(), occurredAt: 'yesterday' })).rejects.toThrow(
      /occurredAt/,
    );
    const [first, second] = await take(subscription, 2);
    // The sealed event is delivered as it is; the plain one as the validated copy.
    expect(first?.type === 'event' && first.event).toBe(sealed);
    expect(second?.type === 'event' && second.event).not.toBe(plain);
    expect(second?.type === 'event' && second.event).toEqual(plain);
    await bus.close();
  });

  it('lets go of the events it evicted for the count limit', async () => {
    const bus = createMemoryBus({ history: { maxEvents: 10 } });
    const first = await publishWatched(bus, 'tenant-a', 20);
    expect(await stillHeld(first.slice(0, 10))).toBe(0);
    expect(await stillHeld(first.slice(10))).toBe(10);
    await bus.close();
  });

  it("lets go of a quiet tenant's events once they are older than maxAgeMs, on a sweep by its clock", async () => {
    let now = 1_000_000;
    const bus = createMemoryBus({ history: { maxAgeMs: 1000 }, clock: { now: () => now } });
    const quiet = await publishWatched(bus, 'quiet', 5);
    now += 500;
    expect(await stillHeld(quiet)).toBe(5);
    // The quiet tenant never publishes or reads again; the bus is used for another tenant.
    now += 60_001;
    await bus.publish(makeCallEvent({ tenantId: 'busy' }));
    expect(await stillHeld(quiet)).toBe(0);
    await bus.close();
  });

  it("lets go of a quiet tenant's events by age after its clock was set back", async () => {
    let now = 1_000_000_000;
    const bus = createMemoryBus({ history: { maxAgeMs: 1000 }, clock: { now: () => now } });
    await bus.publish(makeCallEvent({ tenantId: 'busy' }));
    // The clock is set back a day (NTP, a resumed VM): what is published from then on ages by it.
    now -= 24 * 60 * 60 * 1000;
    const quiet = await publishWatched(bus, 'quiet', 5);
    now += 60_001;
    await bus.publish(makeCallEvent({ tenantId: 'busy' }));
    expect(await stillHeld(quiet)).toBe(0);
    await bus.close();
  });

  it("lets go of an idle bus's old events on its own, on an unref'd timer", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let now = 1_000_000;
      const bus = createMemoryBus({ history: { maxAgeMs: 1000 }, clock: { now: () => now } });
      const idle = await publishWatched(bus, 'idle', 3);
      now += 1001;
      vi.advanceTimersByTime(1000);
      vi.useRealTimers();
      expect(await stillHeld(idle)).toBe(0);
      await bus.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps no stream for a tenant nobody subscribes to and nothing was published for', async () => {
    const bus = createMemoryBus();
    // Warm up, so what is measured is what stays, not code and caches made on first use.
    for (let index = 0; index < 1000; index += 1) {
      await bus.subscribe({ tenantId: `warm-${index}` }).close();
    }
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    for (let index = 0; index < 50_000; index += 1) {
      await bus.subscribe({ tenantId: `tenant-${index}` }).close();
      if (index % 10 === 0) await bus.position!(`position-${index}`);
    }
    collectGarbage();
    // Kept, the 55,000 streams took about 25 MB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(5_000_000);
    await bus.close();
  });

  it('keeps about a number per tenant whose history aged out, not its whole stream', async () => {
    let now = 1_000_000;
    const bus = createMemoryBus({ history: { maxAgeMs: 1000 }, clock: { now: () => now } });
    const publishOne = (tenantId: string) =>
      bus.publish({
        id: `${tenantId}:1`,
        type: 'call.ringing',
        tenantId,
        provider: 'twilio',
        callId: 'CA1',
        status: 'ringing',
        occurredAt: '2026-11-21T10:00:00.000Z',
        receivedAt: '2026-11-21T10:00:00.100Z',
        data: {},
      });
    // Warm up, so what is measured is what stays, not code and caches made on first use.
    for (let index = 0; index < 1000; index += 1) await publishOne(`warm-${index}`);
    now += 120_000;
    await bus.position!('sweep');
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    for (let index = 0; index < 50_000; index += 1) await publishOne(`tenant-${index}`);
    now += 120_000;
    await bus.position!('sweep'); // a sweep: every history aged out
    collectGarbage();
    // Kept whole, the 50,000 streams took about 29 MB (580 bytes each).
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(10_000_000);
    await bus.close();
  });

  it('reads cursors of a tenant whose history aged out as before: gap, position, next seq, reset', async () => {
    let now = 1_000_000;
    const bus = createMemoryBus({ history: { maxAgeMs: 1000 }, clock: { now: () => now } });
    const first = await bus.publish(makeCallEvent({ tenantId: 'quiet' }));
    const second = await bus.publish(makeCallEvent({ tenantId: 'quiet' }));
    now += 120_000;
    await bus.publish(makeCallEvent({ tenantId: 'busy' })); // a sweep
    expect(await bus.position!('quiet')).toBe(second.cursor);
    const behind = bus.subscribe({ tenantId: 'quiet', after: first.cursor });
    expect(await take(behind, 1)).toEqual([
      { type: 'reset', recovered: false, reason: 'history-gap' },
    ]);
    await behind.close();
    const ahead = `${second.cursor.slice(0, second.cursor.lastIndexOf(':'))}:3`;
    const future = bus.subscribe({ tenantId: 'quiet', after: ahead });
    expect(await take(future, 1)).toEqual([
      { type: 'reset', recovered: false, reason: 'stream-reset' },
    ]);
    await future.close();
    // At the top: nothing to replay, no reset; then the next event, numbered on.
    const current = bus.subscribe({ tenantId: 'quiet', after: second.cursor });
    now += 120_000;
    await bus.publish(makeCallEvent({ tenantId: 'busy' })); // a sweep while it follows
    const next = makeCallEvent({ tenantId: 'quiet' });
    const { cursor } = await bus.publish(next);
    expect(cursor.endsWith(':3')).toBe(true);
    expect(await take(current, 1)).toEqual([
      { type: 'event', cursor, event: expect.objectContaining({ id: next.id }) },
    ]);
    await bus.close();
  });

  it('gives the same position for a tenant without events before and after its subscribers left', async () => {
    const bus = createMemoryBus();
    const position = await bus.position!('tenant-a');
    await bus.subscribe({ tenantId: 'tenant-a' }).close();
    expect(await bus.position!('tenant-a')).toBe(position);
    // Resuming from it loses nothing published since.
    const event = makeCallEvent({ tenantId: 'tenant-a' });
    await bus.publish(event);
    const subscription = bus.subscribe({ tenantId: 'tenant-a', after: position });
    expect(await take(subscription, 1)).toEqual([
      {
        type: 'event',
        cursor: expect.any(String),
        event: expect.objectContaining({ id: event.id }),
      },
    ]);
    await bus.close();
  });

  it('rejects limits that cannot work', () => {
    expect(() => createMemoryBus({ history: { maxEvents: 0 } })).toThrowError(/maxEvents/);
    expect(() => createMemoryBus({ maxBufferedMessages: 1.5 })).toThrowError(/maxBufferedMessages/);
  });
});

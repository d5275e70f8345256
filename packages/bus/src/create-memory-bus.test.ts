import { callEventSchema, sealCallEvent } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { take } from './collect-bus-messages';
import { createMemoryBus } from './create-memory-bus';
import { describeEventBus } from './testing';

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

  it('rejects limits that cannot work', () => {
    expect(() => createMemoryBus({ history: { maxEvents: 0 } })).toThrowError(/maxEvents/);
    expect(() => createMemoryBus({ maxBufferedMessages: 1.5 })).toThrowError(/maxBufferedMessages/);
  });
});

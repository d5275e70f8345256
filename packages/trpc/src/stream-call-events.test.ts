import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { InvalidArgumentError } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { isTrackedEnvelope, TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { observeSubscriptions } from './__tests__/observe-subscriptions';
import { callStreamStartId } from './call-stream-message';
import { streamCallEvents } from './stream-call-events';

describe('streamCallEvents', () => {
  const buses: EventBus[] = [];
  const bus = (options?: Parameters<typeof createMemoryBus>[0]) => {
    const made = createMemoryBus(options);
    buses.push(made);
    return made;
  };
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  it('yields tracked(cursor, { type: "event", event }) in order', async () => {
    const b = bus();
    const stream = streamCallEvents({ bus: b, tenantId: 'tenant-a' });
    const ready = (await stream.next()).value;
    expect(ready?.slice(0, 2)).toEqual([callStreamStartId, { type: 'ready' }]);
    const pending = stream.next();
    const event = makeCallEvent();
    const { cursor } = await b.publish(event);
    const { value } = await pending;
    expect(isTrackedEnvelope(value)).toBe(true);
    expect(value?.slice(0, 2)).toEqual([cursor, { type: 'event', event }]);
    await stream.return();
  });

  it('a reset carries the last position the client held', async () => {
    const b = bus({ history: { maxEvents: 2 } });
    const first = await b.publish(makeCallEvent());
    for (let i = 0; i < 3; i += 1) await b.publish(makeCallEvent());
    const gap = streamCallEvents({ bus: b, tenantId: 'tenant-a', lastEventId: first.cursor });
    expect((await gap.next()).value?.slice(0, 2)).toEqual([
      first.cursor,
      { type: 'reset', reason: 'history-gap' },
    ]);
    await gap.return();
    const garbage = streamCallEvents({ bus: b, tenantId: 'tenant-a', lastEventId: 'nonsense' });
    expect((await garbage.next()).value?.slice(0, 2)).toEqual([
      'nonsense',
      { type: 'reset', reason: 'stream-reset' },
    ]);
    await garbage.return();
  });

  it('coming back with the ready id (no cursor held) gets a reset, then live events', async () => {
    const b = bus();
    await b.publish(makeCallEvent()); // published while the client was away: unknowable
    const stream = streamCallEvents({
      bus: b,
      tenantId: 'tenant-a',
      lastEventId: callStreamStartId,
    });
    expect((await stream.next()).value?.slice(0, 2)).toEqual([
      callStreamStartId,
      { type: 'reset', reason: 'reconnected' },
    ]);
    const pending = stream.next();
    const live = makeCallEvent();
    const { cursor } = await b.publish(live);
    expect((await pending).value?.slice(0, 2)).toEqual([cursor, { type: 'event', event: live }]);
    await stream.return();
  });

  it('throws SERVICE_UNAVAILABLE (retried by the link) when the subscriber lagged', async () => {
    const observed = observeSubscriptions(bus({ maxBufferedMessages: 2 }));
    const stream = streamCallEvents({ bus: observed.bus, tenantId: 'tenant-a' });
    await stream.next(); // ready
    const events = Array.from({ length: 6 }, () => makeCallEvent());
    await Promise.all(events.map((event) => observed.bus.publish(event)));
    const received = [(await stream.next()).value, (await stream.next()).value];
    expect(received.map((value) => (value?.[1].type === 'event' ? value[1].event.id : ''))).toEqual(
      events.slice(0, 2).map((e) => e.id),
    );
    const error = await stream.next().catch((cause: unknown) => cause);
    expect(error).toBeInstanceOf(TRPCError);
    expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await (observed.subscriptions[0] as { closed: Promise<void> }).closed;
  });

  it('throws SERVICE_UNAVAILABLE when the bus closes, so clients reconnect elsewhere', async () => {
    const b = createMemoryBus();
    const stream = streamCallEvents({ bus: b, tenantId: 'tenant-a' });
    await stream.next(); // ready
    const next = stream.next();
    await b.close();
    await expect(next).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('ends quietly, closing the bus subscription, when its signal aborts', async () => {
    const observed = observeSubscriptions(bus());
    const controller = new AbortController();
    const stream = streamCallEvents({
      bus: observed.bus,
      tenantId: 'tenant-a',
      signal: controller.signal,
    });
    await stream.next(); // ready
    const next = stream.next();
    const subscription = await observed.nth(1);
    controller.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    await subscription.closed;
    expect(await subscription.subscription.next()).toEqual({ done: true, value: undefined });
  });

  it('return() while waiting closes the bus subscription', async () => {
    const observed = observeSubscriptions(bus());
    const stream = streamCallEvents({ bus: observed.bus, tenantId: 'tenant-a' });
    await stream.next(); // ready
    const pending = stream.next();
    await observed.bus.publish(makeCallEvent());
    await pending;
    await stream.return();
    await (await observed.nth(1)).closed;
  });

  it('maps the bus refusing the subscription to a TRPCError', async () => {
    const refusing: EventBus = {
      ...bus(),
      subscribe() {
        throw new InvalidArgumentError({ message: 'nope' });
      },
    };
    const stream = streamCallEvents({ bus: refusing, tenantId: 'tenant-a' });
    await expect(stream.next()).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'nope' });
  });
});

import { type BusSubscription, createMemoryBus, type EventBus } from '@calltrack/bus';
import { InvalidArgumentError, type Principal } from '@calltrack/core';
import { makeCallEvent } from '@calltrack/test-utils';
import { isTrackedEnvelope, TRPCError } from '@trpc/server';
import { afterEach, describe, expect, it } from 'vitest';
import { observeSubscriptions } from './__tests__/observe-subscriptions';
import { callStreamStartId } from './call-stream-message';
import { streamCallEvents } from './stream-call-events';

const tenantA: Principal = { tenantId: 'tenant-a' };

/** A subscription that delegates to `subscription`, with some members replaced. */
function wrap(subscription: BusSubscription, overrides: Partial<BusSubscription>): BusSubscription {
  return {
    ready: overrides.ready ?? subscription.ready,
    next: overrides.next ?? (() => subscription.next()),
    return: () => subscription.return?.() ?? Promise.resolve({ done: true, value: undefined }),
    close: () => subscription.close(),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

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

  /** The same bus without `position()`, as a bus of your own may be. */
  const withoutPosition = (b: EventBus): EventBus => ({
    publish: (event) => b.publish(event),
    subscribe: (options) => b.subscribe(options),
    close: () => b.close(),
  });

  it('yields tracked(cursor, { type: "event", event }) in order', async () => {
    const b = bus();
    const start = await b.position?.(tenantA.tenantId);
    const stream = await streamCallEvents({ bus: b, principal: tenantA });
    const ready = (await stream.next()).value;
    expect(ready?.slice(0, 2)).toEqual([start, { type: 'ready' }]);
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
    const gap = await streamCallEvents({ bus: b, principal: tenantA, lastEventId: first.cursor });
    // A resume starts with `resumed` (attached), tracked with the id it resumed after.
    expect((await gap.next()).value?.slice(0, 2)).toEqual([first.cursor, { type: 'resumed' }]);
    expect((await gap.next()).value?.slice(0, 2)).toEqual([
      first.cursor,
      { type: 'reset', reason: 'history-gap' },
    ]);
    await gap.return();
    const garbage = await streamCallEvents({ bus: b, principal: tenantA, lastEventId: 'nonsense' });
    expect((await garbage.next()).value?.slice(0, 2)).toEqual(['nonsense', { type: 'resumed' }]);
    expect((await garbage.next()).value?.slice(0, 2)).toEqual([
      'nonsense',
      { type: 'reset', reason: 'stream-reset' },
    ]);
    await garbage.return();
  });

  it('starts after the position it hands out: ready carries it, an event in between follows', async () => {
    const b = bus();
    const before = await b.publish(makeCallEvent());
    const between = makeCallEvent();
    const observed = observeSubscriptions(b, { withPosition: true });
    // Published once the position is read and before the subscription attaches.
    const racing: EventBus = {
      ...observed.bus,
      async position(tenantId) {
        const position = await observed.bus.position?.(tenantId);
        await b.publish(between);
        return position as string;
      },
    };
    const stream = await streamCallEvents({ bus: racing, principal: tenantA });
    expect((await observed.nth(1)).options.after).toBe(before.cursor);
    expect((await stream.next()).value?.slice(0, 2)).toEqual([before.cursor, { type: 'ready' }]);
    const next = (await stream.next()).value;
    expect(next?.[1]).toEqual({ type: 'event', event: between });
    expect(next?.[0]).not.toBe(before.cursor);
    await stream.return();
  });

  it('without position() (a bus of your own), ready carries callStreamStartId', async () => {
    const b = bus();
    await b.publish(makeCallEvent());
    const observed = observeSubscriptions(withoutPosition(b));
    const stream = await streamCallEvents({ bus: observed.bus, principal: tenantA });
    expect((await observed.nth(1)).options.after).toBeUndefined();
    expect((await stream.next()).value?.slice(0, 2)).toEqual([
      callStreamStartId,
      { type: 'ready' },
    ]);
    await stream.return();
  });

  it('coming back with callStreamStartId reloads; with position(), from a real cursor', async () => {
    const b = bus();
    await b.publish(makeCallEvent()); // published while the client was away: unknowable
    const start = await b.position?.(tenantA.tenantId);
    const observed = observeSubscriptions(b, { withPosition: true });
    const stream = await streamCallEvents({
      bus: observed.bus,
      principal: tenantA,
      lastEventId: callStreamStartId,
    });
    expect((await observed.nth(1)).options.after).toBe(start);
    // The reset's id is that position: a client dropping before the next event replays.
    expect((await stream.next()).value?.slice(0, 2)).toEqual([
      start,
      { type: 'reset', reason: 'reconnected' },
    ]);
    const pending = stream.next();
    const live = makeCallEvent();
    const { cursor } = await b.publish(live);
    expect((await pending).value?.slice(0, 2)).toEqual([cursor, { type: 'event', event: live }]);
    await stream.return();
  });

  it('coming back with the ready id (no cursor held) gets a reset, then live events', async () => {
    const b = withoutPosition(bus());
    await b.publish(makeCallEvent()); // published while the client was away: unknowable
    const stream = await streamCallEvents({
      bus: b,
      principal: tenantA,
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
    const stream = await streamCallEvents({ bus: observed.bus, principal: tenantA });
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
    const stream = await streamCallEvents({ bus: b, principal: tenantA });
    await stream.next(); // ready
    const next = stream.next();
    await b.close();
    await expect(next).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('ends quietly, closing the bus subscription, when its signal aborts', async () => {
    const observed = observeSubscriptions(bus());
    const controller = new AbortController();
    const stream = await streamCallEvents({
      bus: observed.bus,
      principal: tenantA,
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
    const stream = await streamCallEvents({ bus: observed.bus, principal: tenantA });
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
    await expect(streamCallEvents({ bus: refusing, principal: tenantA })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'nope',
    });
  });

  it('an all-tenants principal reads every tenant; coming back with any id, it reloads', async () => {
    const observed = observeSubscriptions(bus());
    const admin: Principal = { tenantId: 'tenant-a', allTenants: true };
    const stream = await streamCallEvents({ bus: observed.bus, principal: admin });
    expect((await observed.nth(1)).options).toMatchObject({ allTenants: true });
    expect((await observed.nth(1)).options.tenantId).toBeUndefined();
    expect((await stream.next()).value?.[1]).toEqual({ type: 'ready' });
    const other = makeCallEvent({ tenantId: 'tenant-b' });
    const pending = stream.next();
    await observed.bus.publish(other);
    expect((await pending).value?.[1]).toEqual({ type: 'event', event: other });
    await stream.return();

    const back = await streamCallEvents({
      bus: observed.bus,
      principal: admin,
      lastEventId: 'x:4',
    });
    expect((await observed.nth(2)).options.after).toBeUndefined();
    expect((await back.next()).value?.slice(0, 2)).toEqual([
      'x:4',
      { type: 'reset', reason: 'reconnected' },
    ]);
    await back.return();
  });

  it('skips an event it cannot serialize: a reset with its cursor, reported, then on', async () => {
    const b = bus();
    const reports: unknown[][] = [];
    const poison = makeCallEvent();
    const good = makeCallEvent();
    const poisoning: EventBus = {
      ...b,
      subscribe(options) {
        const subscription = b.subscribe(options);
        return wrap(subscription, {
          async next() {
            const result = await subscription.next();
            if (
              result.done ||
              result.value.type !== 'event' ||
              result.value.event.id !== poison.id
            ) {
              return result;
            }
            const data = {
              toJSON: () => {
                throw new Error('poisoned');
              },
            };
            return {
              done: false,
              value: { ...result.value, event: { ...result.value.event, data } },
            };
          },
        });
      },
    };
    const stream = await streamCallEvents({
      bus: poisoning,
      principal: tenantA,
      onError: (...args) => reports.push(args),
    });
    await stream.next(); // ready
    const first = stream.next();
    const { cursor } = await b.publish(poison);
    const { cursor: goodCursor } = await b.publish(good);
    expect((await first).value?.slice(0, 2)).toEqual([
      cursor,
      { type: 'reset', reason: 'event-skipped' },
    ]);
    expect((await stream.next()).value?.slice(0, 2)).toEqual([
      goodCursor,
      { type: 'event', event: good },
    ]);
    expect(reports).toEqual([
      [
        expect.objectContaining({ message: 'poisoned' }),
        {
          principal: tenantA,
          skipped: { cursor, eventId: poison.id, type: 'call.ringing', tenantId: 'tenant-a' },
        },
      ],
    ]);
    await stream.return();
  });

  it('tells an all-tenants stream taking presence.* again after a reset its bus sends (a presence that cannot list every tenant)', async () => {
    const b = bus();
    const trigger = makeCallEvent();
    // As a Redis all-tenants subscriber does when its connection came back: a reset mid-stream.
    const resetting: EventBus = {
      ...b,
      subscribe(options) {
        const subscription = b.subscribe(options);
        return wrap(subscription, {
          async next() {
            const result = await subscription.next();
            if (
              result.done ||
              result.value.type !== 'event' ||
              result.value.event.id !== trigger.id
            )
              return result;
            return {
              done: false,
              value: { type: 'reset', recovered: false, reason: 'reconnected' },
            };
          },
        });
      },
    };
    const presence = {
      listMembers: async () => [],
      connect: async () => ({ heartbeat: async () => {}, disconnect: async () => {} }),
    };
    const stream = await streamCallEvents({
      bus: resetting,
      principal: { ...tenantA, userId: 'admin', allTenants: true },
      presence,
    });
    const unavailable = { type: 'presence-unavailable', reason: 'all-tenants' };
    expect((await stream.next()).value?.[1]).toEqual({ type: 'ready' });
    expect((await stream.next()).value?.[1]).toEqual(unavailable);
    const reset = stream.next();
    await b.publish(trigger);
    expect((await reset).value?.[1]).toEqual({ type: 'reset', reason: 'reconnected' });
    expect((await stream.next()).value?.[1]).toEqual(unavailable);
    await stream.return();
  });

  it('resolves only once live delivery is attached', async () => {
    let attach!: () => void;
    const attached = new Promise<void>((resolve) => {
      attach = resolve;
    });
    const b = bus();
    const slow: EventBus = {
      ...b,
      subscribe(options) {
        const subscription = b.subscribe(options);
        return wrap(subscription, { ready: subscription.ready.then(() => attached) });
      },
    };
    let resolved = false;
    const opening = streamCallEvents({ bus: slow, principal: tenantA }).then((stream) => {
      resolved = true;
      return stream;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolved).toBe(false);
    attach();
    const stream = await opening;
    expect((await stream.next()).value?.[1]).toEqual({ type: 'ready' });
    await stream.return();
  });
});

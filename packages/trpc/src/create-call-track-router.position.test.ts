import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { makeCallEvent } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { type Collector, collectSubscription } from './__tests__/collect-subscription';
import { observeSubscriptions } from './__tests__/observe-subscriptions';
import { createTestClient, startTestServer, t } from './__tests__/start-test-server';
import { type CallStreamMessage, callStreamStartId } from './call-stream-message';
import { createCallTrackRouter } from './create-call-track-router';

type Received = { id: string; data: CallStreamMessage };

const makeAppRouter = (bus: EventBus) =>
  t.router({
    calltrack: createCallTrackRouter({ t, bus, authenticate: (ctx) => ctx.principal }),
  });
type AppRouter = ReturnType<typeof makeAppRouter>;

const eventIds = (collector: Collector<Received>): string[] =>
  collector.data.flatMap((m) => (m.data.type === 'event' ? [m.data.event.id] : []));

describe('ready on a bus with position(): a real cursor, resumed with a replay', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const setup = async () => {
    const memory = createMemoryBus();
    const observed = observeSubscriptions(memory, { withPosition: true });
    const server = await startTestServer(makeAppRouter(observed.bus));
    cleanups.push(
      () => observed.bus.close(),
      () => server.close(),
    );
    const subscribe = (token: string, input?: { lastEventId?: string; callId?: string }) => {
      const collector = collectSubscription<Received>();
      const subscription = createTestClient<AppRouter>(
        server.url,
        token,
      ).calltrack.onCallEvent.subscribe(input, collector.callbacks);
      cleanups.push(() => subscription.unsubscribe());
      return collector;
    };
    return { ...observed, memory, server, subscribe };
  };

  it('a client that drops before its first event gets exactly the missed events, no reset', async () => {
    const { bus, memory, server, subscriptions, positionReads, subscribe } = await setup();
    const earlier = await bus.publish(makeCallEvent());
    const collector = subscribe('token-a');
    await collector.until(() => collector.data.length === 1);
    // The tenant's newest cursor, not a made-up id.
    expect(collector.data[0]).toEqual({ id: earlier.cursor, data: { type: 'ready' } });
    expect(await memory.position?.('tenant-a')).toBe(earlier.cursor);

    server.server.closeAllConnections();
    await Promise.all(subscriptions.map((subscription) => subscription.closed));
    const missed = Array.from({ length: 5 }, () => makeCallEvent());
    for (const event of missed) await bus.publish(event);

    // The EventSource reconnects by itself, with `ready`'s id as its last id.
    await collector.until(() => eventIds(collector).length === 5);
    expect(server.subscriptionRequests[1]?.headers['last-event-id']).toBe(earlier.cursor);
    expect(subscriptions[1]?.options.after).toBe(earlier.cursor);
    const live = makeCallEvent();
    await bus.publish(live);
    await collector.until(() => eventIds(collector).length === 6);
    expect(eventIds(collector)).toEqual([...missed, live].map((event) => event.id));
    // The resume says it is attached (`resumed`, tracked with the id it resumed after), then replays.
    expect(collector.data.map((m) => m.data.type)).toEqual([
      'ready',
      'resumed',
      ...Array(6).fill('event'),
    ]);
    expect(collector.data[1]?.id).toBe(earlier.cursor);
    const ids = collector.data.filter((m) => m.data.type !== 'resumed').map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    // One read of the position, for the fresh subscription; the resume and the events add none.
    expect(positionReads).toEqual(['tenant-a']);
  });

  it('names the start of a tenant stream with no events yet; a filtered client resumes too', async () => {
    const { bus, server, subscriptions, subscribe } = await setup();
    const collector = subscribe('token-a', { callId: 'CA-watched' });
    await collector.until(() => collector.data.length === 1);
    const readyId = collector.data[0]?.id as string;
    expect(readyId).not.toBe(callStreamStartId);

    server.server.closeAllConnections();
    await Promise.all(subscriptions.map((subscription) => subscription.closed));
    const watched = makeCallEvent({ callId: 'CA-watched' });
    await bus.publish(makeCallEvent({ callId: 'CA-other' }));
    await bus.publish(watched);
    await collector.until(() => eventIds(collector).length === 1);
    expect(subscriptions[1]?.options).toMatchObject({ after: readyId, callId: 'CA-watched' });
    expect(eventIds(collector)).toEqual([watched.id]);
    expect(collector.data.map((m) => m.data.type)).toEqual(['ready', 'resumed', 'event']);
  });

  it('open means live: an event published at onStarted reaches the client once', async () => {
    const { bus, server } = await setup();
    const collector = collectSubscription<Received>();
    const first = makeCallEvent();
    const { onStarted } = collector.callbacks;
    const published = new Promise<string>((resolve, reject) => {
      collector.callbacks.onStarted = () => {
        onStarted();
        bus.publish(first).then(({ cursor }) => resolve(cursor), reject);
      };
    });
    const subscription = createTestClient<AppRouter>(
      server.url,
      'token-a',
    ).calltrack.onCallEvent.subscribe(undefined, collector.callbacks);
    cleanups.push(() => subscription.unsubscribe());
    const cursor = await published;
    await collector.until(() => eventIds(collector).length === 1);
    expect(collector.data).toEqual([
      { id: expect.not.stringMatching(/^calltrack:start$/), data: { type: 'ready' } },
      { id: cursor, data: { type: 'event', event: first } },
    ]);
  });

  it('a client of an earlier version, back with calltrack:start, reloads once, then resumes', async () => {
    const { bus, server, subscriptions, subscribe } = await setup();
    await bus.publish(makeCallEvent()); // published while it was away: unknowable
    const collector = subscribe('token-a', { lastEventId: callStreamStartId });
    await collector.until(() => collector.data.length === 1);
    const [reset] = collector.data;
    expect(reset?.data).toEqual({ type: 'reset', reason: 'reconnected' });
    // Tracked with the position the new stream starts after, so the next drop replays.
    expect(reset?.id).not.toBe(callStreamStartId);
    expect(subscriptions[0]?.options.after).toBe(reset?.id);

    server.server.closeAllConnections();
    await Promise.all(subscriptions.map((subscription) => subscription.closed));
    const missed = makeCallEvent();
    await bus.publish(missed);
    await collector.until(() => eventIds(collector).length === 1);
    expect(subscriptions[1]?.options.after).toBe(reset?.id);
    expect(collector.data.map((m) => m.data.type)).toEqual(['reset', 'resumed', 'event']);
    expect(eventIds(collector)).toEqual([missed.id]);
  });
});

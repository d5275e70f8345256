import type { EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import {
  connectTestRedis,
  deleteKeys,
  makeCallEvent,
  testEventClock,
  testRedisUrl,
  uniquePrefix,
} from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Collector, collectSubscription } from './__tests__/collect-subscription';
import { observeSubscriptions } from './__tests__/observe-subscriptions';
import {
  createTestClient,
  startTestServer,
  type TestServer,
  t,
} from './__tests__/start-test-server';
import type { CallStreamMessage } from './call-stream-message';
import { createCallTrackRouter } from './create-call-track-router';

const redis = await connectTestRedis();
const prefix = uniquePrefix('trpc');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

type Received = { id: string; data: CallStreamMessage };
const makeAppRouter = (bus: EventBus) =>
  t.router({
    calltrack: createCallTrackRouter({
      t,
      bus,
      tracker: createCallTracker({ bus, clock: testEventClock() }),
      authenticate: (ctx) => ctx.principal,
    }),
  });
type AppRouter = ReturnType<typeof makeAppRouter>;

const eventIds = (collector: Collector<Received>): string[] =>
  collector.data.flatMap((m) => (m.data.type === 'event' ? [m.data.event.id] : []));

describe.skipIf(!redis)('createCallTrackRouter on a Redis bus, two nodes', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  let counter = 0;

  const startNodes = async (options: { withPosition?: boolean } = {}) => {
    counter += 1;
    const nodes: Array<ReturnType<typeof observeSubscriptions> & { server: TestServer }> = [];
    for (let i = 0; i < 2; i += 1) {
      const observed = observeSubscriptions(
        createRedisBus({ redis: redis as Redis, prefix: `${prefix}:${counter}` }),
        options,
      );
      const server = await startTestServer(makeAppRouter(observed.bus));
      cleanups.push(
        () => observed.bus.close(),
        () => server.close(),
      );
      nodes.push({ ...observed, server });
    }
    const subscribe = (
      node: (typeof nodes)[number],
      token: string,
      input?: { lastEventId?: string },
    ) => {
      const collector = collectSubscription<Received>();
      const subscription = createTestClient<AppRouter>(
        node.server.url,
        token,
      ).calltrack.onCallEvent.subscribe(input, collector.callbacks);
      cleanups.push(() => subscription.unsubscribe());
      return collector;
    };
    return { nodes: nodes as [(typeof nodes)[0], (typeof nodes)[0]], subscribe };
  };

  it('resumes exactly the 50 events another node published while the client was away', async () => {
    const { nodes, subscribe } = await startNodes();
    const [one, two] = nodes;
    const collector = subscribe(one, 'token-a');
    const other = subscribe(one, 'token-b');
    await collector.until(() => collector.data.length === 1); // ready
    await other.until(() => other.data.length === 1);

    const before = Array.from({ length: 3 }, () => makeCallEvent());
    for (const event of before) await two.bus.publish(event);
    await collector.until(() => eventIds(collector).length === 3);

    one.server.server.closeAllConnections();
    await Promise.all(one.subscriptions.map((subscription) => subscription.closed));
    // 50 events of tenant A, with 5 of tenant B in between.
    const missed = Array.from({ length: 55 }, (_, i) =>
      makeCallEvent({ tenantId: i % 11 === 5 ? 'tenant-b' : 'tenant-a' }),
    );
    for (const event of missed) await two.bus.publish(event);
    const missedOfA = missed.filter((e) => e.tenantId === 'tenant-a');
    expect(missedOfA).toHaveLength(50);

    await collector.until(() => eventIds(collector).length === 3 + 50);
    // B had no cursor when it dropped (without position(), `ready`'s id is made up): it is
    // told to reload, then gets live events.
    await other.until(() => other.data.length === 2);
    const live = makeCallEvent();
    const liveOfB = makeCallEvent({ tenantId: 'tenant-b' });
    await two.bus.publish(live);
    await two.bus.publish(liveOfB);
    await collector.until(() => eventIds(collector).length >= 54);
    await other.until(() => other.data.length >= 3);
    expect(eventIds(collector)).toEqual([...before, ...missedOfA, live].map((e) => e.id));
    expect(collector.data).toHaveLength(56); // ready + 3 events + resumed + 51 events, no duplicate
    expect(collector.data.filter((m) => m.data.type === 'resumed')).toHaveLength(1);
    expect(other.data.map((m) => m.data)).toEqual([
      { type: 'ready' },
      { type: 'reset', reason: 'reconnected' },
      { type: 'event', event: liveOfB },
    ]);
  });

  it('with position(), a client that drops before its first event replays on either node', async () => {
    const { nodes, subscribe } = await startNodes({ withPosition: true });
    const [one, two] = nodes;
    const earlier = await two.bus.publish(makeCallEvent());
    // Two clients on node one receive `ready` and nothing else before they go.
    const staying = subscribe(one, 'token-a');
    const leaving = collectSubscription<Received>();
    const left = createTestClient<AppRouter>(
      one.server.url,
      'token-a',
    ).calltrack.onCallEvent.subscribe(undefined, leaving.callbacks);
    cleanups.push(() => left.unsubscribe());
    await staying.until(() => staying.data.length === 1);
    await leaving.until(() => leaving.data.length === 1);
    for (const collector of [staying, leaving]) {
      expect(collector.data[0]).toEqual({ id: earlier.cursor, data: { type: 'ready' } });
    }
    const readyId = earlier.cursor;
    // One leaves (to come back on node two with its id); the other's connection drops.
    left.unsubscribe();
    one.server.server.closeAllConnections();
    await Promise.all(one.subscriptions.map((subscription) => subscription.closed));
    const missed = Array.from({ length: 7 }, (_, i) =>
      makeCallEvent({ tenantId: i === 3 ? 'tenant-b' : 'tenant-a' }),
    );
    for (const event of missed) await one.bus.publish(event);
    const missedOfA = missed.filter((event) => event.tenantId === 'tenant-a');

    const moved = subscribe(two, 'token-a', { lastEventId: readyId });
    await moved.until(() => eventIds(moved).length === missedOfA.length);
    await staying.until(() => eventIds(staying).length === missedOfA.length);
    expect(two.subscriptions[0]?.options.after).toBe(readyId);
    const live = makeCallEvent();
    await one.bus.publish(live);
    for (const collector of [moved, staying]) {
      await collector.until(() => eventIds(collector).length === missedOfA.length + 1);
      expect(eventIds(collector)).toEqual([...missedOfA, live].map((event) => event.id));
      expect(collector.data.some((m) => m.data.type === 'reset')).toBe(false);
      // `resumed` carries the id it resumed after; every other message has an id of its own.
      const ids = collector.data.filter((m) => m.data.type !== 'resumed').map((m) => m.id);
      expect(new Set(ids).size).toBe(ids.length);
    }
    // Resuming reads no position: only the two fresh subscriptions on node one did.
    expect(one.positionReads).toEqual(['tenant-a', 'tenant-a']);
    expect(two.positionReads).toEqual([]);
  });

  it('a cursor from one node resumes on the other', async () => {
    const { nodes, subscribe } = await startNodes();
    const [one, two] = nodes;
    const events = Array.from({ length: 12 }, () => makeCallEvent());
    const cursors: string[] = [];
    for (const event of events) cursors.push((await one.bus.publish(event)).cursor);
    const collector = subscribe(two, 'token-a', { lastEventId: cursors[1] });
    await collector.until(() => collector.data.length === 11);
    // No ready when resuming: `resumed`, tracked with the cursor it resumed after.
    expect(collector.data[0]).toEqual({ id: cursors[1], data: { type: 'resumed' } });
    expect(collector.data.slice(1).map((m) => m.id)).toEqual(cursors.slice(2));
    expect(eventIds(collector)).toEqual(events.slice(2).map((e) => e.id));
  });

  it('open means live: an event published at onStarted reaches all 200 subscribers', async () => {
    // A client of its own, connected up front as apps do (the shared test client connects
    // lazily, and so would the bus's duplicate of it).
    const client = new Redis(testRedisUrl);
    counter += 1;
    const key = `${prefix}:${counter}`;
    const subscriberBus = createRedisBus({ redis: client, prefix: key });
    const publisherBus = createRedisBus({ redis: client, prefix: key });
    const server = await startTestServer(makeAppRouter(subscriberBus));
    cleanups.push(
      () => server.close(),
      () => subscriberBus.close(),
      () => publisherBus.close(),
      () => client.disconnect(),
    );
    // Cold: the bus's subscriber connection is opened by the first subscription, while the rest
    // of the burst arrives.
    // One tenant per subscriber: every subscription attaches to Redis on its own.
    const subscribers = Array.from({ length: 200 }, (_, index) => {
      const tenantId = `live-${index}`;
      const collector = collectSubscription<Received>();
      const sent = new Promise<string>((resolve, reject) => {
        const { onStarted } = collector.callbacks;
        collector.callbacks.onStarted = () => {
          onStarted();
          if (collector.started > 1) return;
          const event = makeCallEvent({ tenantId });
          publisherBus.publish(event).then(() => resolve(event.id), reject);
        };
      });
      const subscription = createTestClient<AppRouter>(
        server.url,
        `tenant:${tenantId}`,
      ).calltrack.onCallEvent.subscribe(undefined, collector.callbacks);
      cleanups.push(() => subscription.unsubscribe());
      return { tenantId, collector, sent };
    });
    const ids = await Promise.all(subscribers.map(({ sent }) => sent));
    // A later event per tenant, once every subscription is surely attached: when it has
    // arrived, the first one has arrived too, or never will.
    const sentinels = await Promise.all(
      subscribers.map(async ({ tenantId }) => {
        const event = makeCallEvent({ tenantId });
        await publisherBus.publish(event);
        return event.id;
      }),
    );
    await Promise.all(
      subscribers.map(({ collector }, index) =>
        collector.until(() => eventIds(collector).includes(sentinels[index] as string)),
      ),
    );
    const missed = subscribers.filter(
      ({ collector }, index) => !eventIds(collector).includes(ids[index] as string),
    );
    expect(missed).toHaveLength(0);
    for (const { collector } of subscribers) expect(eventIds(collector)).toHaveLength(2);
  }, 30_000);
});

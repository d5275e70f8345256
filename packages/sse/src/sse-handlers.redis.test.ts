import { createRedisBus } from '@calltrack/bus/redis';
import { toNodeHandler } from '@calltrack/core/node';
import { createPresence } from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import {
  callEvents,
  connectTestRedis,
  deleteKeys,
  makeCallEvent,
  openEventSource,
  stopTestServers,
  testEventClock,
  testRedisUrl,
  uniquePrefix,
} from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { createRedisCallStore } from '@calltrack/tracker/redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openRaw, startSse } from './__tests__/describe-sse-handler';
import { createSseHandler } from './create-sse-handler';
import { createSseNodeHandler } from './create-sse-node-handler';
import type { SseHandlerOptions } from './sse-handler-options';

const redis = await connectTestRedis();
const prefix = uniquePrefix('sse');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('SSE over the Redis bus, two nodes', () => {
  afterEach(stopTestServers);

  const twoNodes = async (name: string) => {
    const client = redis as Redis;
    const busOne = createRedisBus({ redis: client, prefix: `${prefix}:${name}` });
    const busTwo = createRedisBus({ redis: client, prefix: `${prefix}:${name}` });
    const one = await startSse((options) => createSseNodeHandler(options), { realBus: busOne });
    const two = await startSse((options) => toNodeHandler(createSseHandler(options)), {
      realBus: busTwo,
    });
    return { one, two, close: () => Promise.all([busOne.close(), busTwo.close()]) };
  };

  it('delivers an event published on one node to the clients of another, tenant-scoped', async () => {
    const { one, two, close } = await twoNodes('fanout');
    const a = openEventSource(two.url, 'tenant-a:u1');
    const b = openEventSource(one.url, 'tenant-b:u2');
    await two.untilOpened(1);
    await one.untilOpened(1);
    const published = { a: [] as string[], b: [] as string[] };
    for (let index = 0; index < 10; index += 1) {
      const tenant = index % 2 === 0 ? 'a' : 'b';
      const event = makeCallEvent({ tenantId: `tenant-${tenant}` });
      await (index % 3 === 0 ? one : two).bus.publish(event);
      published[tenant].push(event.id);
    }
    await a.until((events) => events.length === 5);
    await b.until((events) => events.length === 5);
    expect(callEvents(a.received).map((event) => event.data.id)).toEqual(published.a);
    expect(callEvents(b.received).map((event) => event.data.id)).toEqual(published.b);
    a.close();
    b.close();
    await close();
  });

  it('resumes on another node with exactly the 50 missed events', async () => {
    const { one, two, close } = await twoNodes('resume');
    const first = await openRaw(two.url, 'tenant-a:u1');
    await two.untilOpened(1);
    for (let index = 0; index < 3; index += 1) await one.bus.publish(makeCallEvent());
    const seen = await first.reader.events(3);
    await first.close();
    await two.untilClosed(1);

    const missed: string[] = [];
    for (let index = 0; index < 50; index += 1) {
      const event = makeCallEvent();
      await two.bus.publish(event);
      await two.bus.publish(makeCallEvent({ tenantId: 'tenant-b' }));
      missed.push(event.id);
    }
    const resumed = await openRaw(one.url, 'tenant-a:u1', { 'last-event-id': seen[2]!.id! });
    await one.untilOpened(1);
    const sentinel = makeCallEvent();
    await two.bus.publish(sentinel);
    const frames = await resumed.reader.events(51);
    expect(frames.map((frame) => JSON.parse(frame.data!).id)).toEqual([...missed, sentinel.id]);
    await resumed.close();
    await close();
  });

  it('tells a client with a cursor from nowhere to reload', async () => {
    const { one, close } = await twoNodes('reset');
    const client = await openRaw(`${one.url}?lastEventId=bogus:42`, 'tenant-a:u1');
    const [reset] = await client.reader.events(1);
    expect(reset).toMatchObject({ event: 'reset', data: '{"reason":"stream-reset"}' });
    await client.close();
    await close();
  });

  it.each([
    ['createSseNodeHandler', (options: SseHandlerOptions) => createSseNodeHandler(options)],
    ['createSseHandler', (options: SseHandlerOptions) => toNodeHandler(createSseHandler(options))],
  ] as const)(
    '%s: open means live — an event published right after open reaches all 200 clients',
    async (name, makeListener) => {
      // A client of its own, connected up front as apps do (the shared test client connects
      // lazily, and so would the bus's duplicate of it).
      const client = new Redis(testRedisUrl);
      const key = `${prefix}:live-${name}`;
      const subscriberBus = createRedisBus({ redis: client, prefix: key });
      const publisherBus = createRedisBus({ redis: client, prefix: key });
      const sse = await startSse(makeListener, { realBus: subscriberBus });
      // Cold: the bus's subscriber connection is opened by the first stream, while the rest of
      // the burst arrives.
      // One tenant per client: every stream attaches a subscription of its own to Redis.
      const clients = Array.from({ length: 200 }, (_, index) => {
        const tenant = `live-${index}`;
        const source = openEventSource(sse.url, `${tenant}:u${index}`);
        const sent = new Promise<string>((resolve, reject) => {
          source.source.addEventListener('open', () => {
            const event = makeCallEvent({ tenantId: tenant });
            publisherBus.publish(event).then(() => resolve(event.id), reject);
          });
        });
        return { source, sent };
      });
      const ids = await Promise.all(clients.map(({ sent }) => sent));
      // A later event per tenant, once every stream is surely attached: when it has arrived, the
      // first one has arrived too, or never will.
      const sentinels = await Promise.all(
        clients.map(async (_, index) => {
          const event = makeCallEvent({ tenantId: `live-${index}` });
          await publisherBus.publish(event);
          return event.id;
        }),
      );
      await Promise.all(
        clients.map(({ source }, index) =>
          source.until((events) => events.some((event) => event.data.id === sentinels[index])),
        ),
      );
      const missed = clients.filter(
        ({ source }, index) => !source.received.some((event) => event.data.id === ids[index]),
      );
      expect(missed).toHaveLength(0);
      for (const { source } of clients) {
        expect(callEvents(source.received)).toHaveLength(2);
        source.close();
      }
      await Promise.all([subscriberBus.close(), publisherBus.close()]);
      client.disconnect();
    },
    30_000,
  );

  it('a stream that follows calls reads them from a Redis tracker: exact past snapshotLimit', async () => {
    const client = redis as Redis;
    const bus = createRedisBus({ redis: client, prefix: `${prefix}:followed:bus` });
    const store = createRedisCallStore({ redis: client, prefix: `${prefix}:followed:store` });
    const tracker = createCallTracker({ bus, store, clock: testEventClock(), logger: {} });
    const sse = await startSse((options) => createSseNodeHandler(options), {
      realBus: bus,
      tracker,
      snapshotLimit: 2,
    });
    // Four active calls: the tenant's newest two are CA-5 and CA-4, so a list leaves CA-1 out.
    for (const callId of ['CA-1', 'CA-2', 'CA-3', 'CA-4', 'CA-5']) {
      await tracker.ingest(makeCallEvent({ callId }));
    }
    await tracker.ingest(
      makeCallEvent({ callId: 'CA-2', type: 'call.ended', status: 'completed' }),
    );

    const stream = await openRaw(`${sse.url}?callId=CA-1&callId=CA-2&callId=CA-9`, 'tenant-a:u1');
    const [snapshot] = await stream.reader.events(1);
    expect(snapshot?.event).toBe('snapshot');
    const data = JSON.parse(snapshot!.data!) as { calls: { callId: string }[]; complete: boolean };
    expect({ callIds: data.calls.map((call) => call.callId), complete: data.complete }).toEqual({
      callIds: ['CA-1'],
      complete: true,
    });
    expect(sse.errors).toEqual([]);
    await stream.close();
    await bus.close();
  });

  it('gives an all-tenants principal the events of every tenant, from another node', async () => {
    const { one, two, close } = await twoNodes('all-tenants');
    const admin = openEventSource(one.url, '*:root');
    const tenant = openEventSource(one.url, 'tenant-b:u1');
    await one.untilOpened(2);
    const events = ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-a', 'tenant-b', 'tenant-c'].map(
      (tenantId) => makeCallEvent({ tenantId }),
    );
    for (const event of events) await two.bus.publish(event);
    await admin.until((received) => received.length === 6);
    await tenant.until((received) => received.length === 2);
    // The bus keeps order per tenant only: across tenants the admin's stream may interleave.
    const idsOf = (list: { id: string; tenantId: string }[], tenantId: string) =>
      list.filter((event) => event.tenantId === tenantId).map((event) => event.id);
    const adminEvents = admin.received.map((event) => event.data);
    for (const tenantId of ['tenant-a', 'tenant-b', 'tenant-c']) {
      expect(idsOf(adminEvents, tenantId)).toEqual(idsOf(events, tenantId));
    }
    expect(adminEvents).toHaveLength(events.length);
    expect(tenant.received.map((event) => event.data.id)).toEqual(idsOf(events, 'tenant-b'));
    admin.close();
    tenant.close();
    await close();
  });

  it('gives an all-tenants stream the members of every tenant, from every node, on a Redis presence store', async () => {
    const client = redis as Redis;
    const name = `${prefix}:presence`;
    const busOne = createRedisBus({ redis: client, prefix: name });
    const busTwo = createRedisBus({ redis: client, prefix: name });
    // Two nodes, each with its own presence engine on one Redis store.
    const presenceOf = (bus: typeof busOne) =>
      createPresence({
        bus,
        store: createRedisPresenceStore({ redis: client, prefix: `${name}:store` }),
        autoHeartbeat: false,
        logger: {},
      });
    const presenceOne = presenceOf(busOne);
    const presenceTwo = presenceOf(busTwo);
    const one = await startSse((options) => createSseNodeHandler(options), {
      realBus: busOne,
      presence: presenceOne,
      keepAliveMs: 0,
    });
    const two = await startSse((options) => createSseNodeHandler(options), {
      realBus: busTwo,
      presence: presenceTwo,
      keepAliveMs: 0,
    });
    const agents = [
      openEventSource(two.url, 'tenant-a:u1'),
      openEventSource(two.url, 'tenant-b:u1'),
      openEventSource(one.url, 'tenant-c:u7'),
    ];
    await two.untilOpened(2);
    await one.untilOpened(1);
    const admin = openEventSource(`${one.url}?types=presence.*`, '*:root');
    const [members] = (
      await admin.until((received) => received.some((event) => event.type === 'presence'))
    ).filter((event) => event.type === 'presence');
    expect(members!.data.complete).toBe(true);
    expect(
      (members!.data.members as { tenantId: string; userId: string }[])
        .map((member) => `${member.tenantId}/${member.userId}`)
        .sort(),
    ).toEqual(['tenant-a/root', 'tenant-a/u1', 'tenant-b/u1', 'tenant-c/u7']);
    // Then every tenant's presence.* events, whichever node decided them.
    const late = openEventSource(two.url, 'tenant-d:u3');
    await admin.until((received) =>
      callEvents(received).some(
        (event) => event.data.type === 'presence.online' && event.data.tenantId === 'tenant-d',
      ),
    );
    for (const source of [...agents, admin, late]) source.close();
    await Promise.all([presenceOne.stop(), presenceTwo.stop()]);
    await Promise.all([busOne.close(), busTwo.close()]);
  });
});

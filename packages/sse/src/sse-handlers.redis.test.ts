import { createRedisBus } from '@calltrack/bus/redis';
import { toNodeHandler } from '@calltrack/core/node';
import {
  callEvents,
  connectTestRedis,
  deleteKeys,
  makeCallEvent,
  openEventSource,
  stopTestServers,
  uniquePrefix,
} from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openRaw, startSse } from './__tests__/describe-sse-handler';
import { createSseHandler } from './create-sse-handler';
import { createSseNodeHandler } from './create-sse-node-handler';

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
});

import { connectTestRedis, deleteKeys, makeCallEvent, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { eventIds, take } from './__tests__/collect';
import { describeEventBus } from './__tests__/describe-event-bus';
import { createRedisBus } from './create-redis-bus';

const redis = await connectTestRedis();
const prefix = uniquePrefix('bus');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('createRedisBus', () => {
  const client = redis as Redis;
  let counter = 0;
  // Each bus gets its own prefix, so tests never see each other's history.
  describeEventBus('redis', async (options) => {
    counter += 1;
    return createRedisBus({ redis: client, prefix: `${prefix}:${counter}`, ...options });
  });

  it('keeps every key of a tenant under its {tenant} hash tag', async () => {
    const own = `${prefix}:tags`;
    const bus = createRedisBus({ redis: client, prefix: own });
    await bus.publish(makeCallEvent({ tenantId: 'tenant-x' }));
    const keys = await client.keys(`${own}*`);
    expect(keys.length).toBe(3);
    for (const key of keys) expect(key.startsWith(`${own}:{tenant-x}:`)).toBe(true);
    await bus.close();
  });

  it('never closes the client it was given', async () => {
    const bus = createRedisBus({ redis: client, prefix: `${prefix}:owned` });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;
    await bus.close();
    expect(client.status).toBe('ready');
    await expect(client.ping()).resolves.toBe('PONG');
  });

  it('resumes from a new connection and a new bus instance', async () => {
    const own = `${prefix}:resume`;
    const first = createRedisBus({ redis: client, prefix: own });
    const events = Array.from({ length: 20 }, () => makeCallEvent());
    const cursors: string[] = [];
    for (const event of events) cursors.push((await first.publish(event)).cursor);
    await first.close();

    const other = (await connectTestRedis()) as Redis;
    const second = createRedisBus({ redis: other, prefix: own });
    const subscription = second.subscribe({ tenantId: 'tenant-a', after: cursors[9] });
    expect(eventIds(await take(subscription, 10))).toEqual(
      events.slice(10).map((event) => event.id),
    );
    await second.close();
    other.disconnect();
  });

  it('de-duplicates atomically when two buses publish the same events at once', async () => {
    const own = `${prefix}:race`;
    const other = (await connectTestRedis()) as Redis;
    const left = createRedisBus({ redis: client, prefix: own });
    const right = createRedisBus({ redis: other, prefix: own });
    const events = Array.from({ length: 100 }, () => makeCallEvent());
    const results = await Promise.all(
      events.flatMap((event) => [left.publish(event), right.publish(event)]),
    );
    expect(results.filter((result) => !result.duplicate)).toHaveLength(100);
    for (let index = 0; index < results.length; index += 2) {
      expect(results[index]?.cursor).toBe(results[index + 1]?.cursor);
    }
    await left.close();
    await right.close();
    other.disconnect();
  });

  it('pages through a replay longer than one history read', async () => {
    const bus = createRedisBus({ redis: client, prefix: `${prefix}:pages`, replayBatchSize: 7 });
    const first = await bus.publish(makeCallEvent());
    const events = Array.from({ length: 30 }, () => makeCallEvent());
    for (const event of events) await bus.publish(event);
    const subscription = bus.subscribe({ tenantId: 'tenant-a', after: first.cursor });
    expect(eventIds(await take(subscription, 30))).toEqual(events.map((event) => event.id));
    await bus.close();
  });
});

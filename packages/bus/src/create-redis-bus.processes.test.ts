import { fileURLToPath } from 'node:url';
import {
  connectTestRedis,
  deleteKeys,
  spawnTypeScript,
  testRedisUrl,
  uniquePrefix,
  waitForExit,
} from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { take } from './__tests__/collect';
import { createRedisBus } from './create-redis-bus';

const redis = await connectTestRedis();
const prefix = uniquePrefix('bus-processes');
const publisher = fileURLToPath(new URL('./__tests__/redis-publisher-process.ts', import.meta.url));

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('Redis bus across processes', () => {
  it('delivers every event a publisher in another process publishes, in order, with its cursors', async () => {
    const bus = createRedisBus({ redis: redis as Redis, prefix });
    const subscription = bus.subscribe({ tenantId: 'tenant-p' });
    const other = bus.subscribe({ tenantId: 'tenant-q' });
    await Promise.all([subscription.ready, other.ready]);

    const cursors: string[] = [];
    const child = spawnTypeScript(publisher, {
      args: [testRedisUrl, prefix, 'tenant-p', '500'],
      onLine: (line) => {
        if (line !== 'done') cursors.push(line);
      },
    });
    const received = await take(subscription, 500);
    expect(await waitForExit(child)).toBe(0);

    expect(
      received.map((message) => (message.type === 'event' ? message.event.id : message.type)),
    ).toEqual(Array.from({ length: 500 }, (_, index) => `child:${index}`));
    expect(received.map((message) => (message.type === 'event' ? message.cursor : ''))).toEqual(
      cursors,
    );

    // The other tenant saw nothing: the next thing it receives is its own event.
    const template = received[0];
    if (template?.type !== 'event') throw new Error('expected an event');
    await bus.publish({ ...template.event, id: 'q-1', tenantId: 'tenant-q' });
    expect(await take(other, 1)).toMatchObject([
      { type: 'event', event: { id: 'q-1', tenantId: 'tenant-q' } },
    ]);
    await bus.close();
  });
});

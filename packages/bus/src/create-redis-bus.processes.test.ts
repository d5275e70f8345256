import { fileURLToPath } from 'node:url';
import {
  connectTestRedis,
  deleteKeys,
  makeCallEvent,
  spawnTypeScript,
  testRedisUrl,
  uniquePrefix,
  waitForExit,
} from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBusCursor } from './bus-cursor';
import { eventIds, take } from './collect-bus-messages';
import { createRedisBus } from './create-redis-bus';

const redis = await connectTestRedis();
const prefix = uniquePrefix('bus-processes');
const publisher = fileURLToPath(new URL('./__tests__/redis-publisher-process.ts', import.meta.url));

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

// Every test spawns Node processes (tsx alone takes seconds to boot on a loaded machine):
// vitest's 5 s default is far too short for that.
describe.skipIf(!redis)('Redis bus across processes', { timeout: 60_000 }, () => {
  it('delivers every event a publisher in another process publishes, in order, with its cursors', async () => {
    const bus = createRedisBus({ redis: redis as Redis, prefix });
    const subscription = bus.subscribe({ tenantId: 'tenant-p' });
    const other = bus.subscribe({ tenantId: 'tenant-q' });
    await Promise.all([subscription.ready, other.ready]);

    const cursors: string[] = [];
    const child = spawnTypeScript(publisher, {
      args: [testRedisUrl, prefix, 'tenant-p', '500'],
      onLine: (line) => {
        if (line !== 'done') cursors.push(line.split(' ')[0] as string);
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

  it('delivers every event exactly once when a publisher is killed with kill -9 mid-stream and another publishes the same events again', async () => {
    const own = `${prefix}:kill`;
    // Read at the end: the buffer holds all of it.
    const bus = createRedisBus({ redis: redis as Redis, prefix: own, maxBufferedMessages: 5000 });
    const subscription = bus.subscribe({ tenantId: 'tenant-k' });
    await subscription.ready;

    let confirmed = 0;
    const crashing = spawnTypeScript(publisher, {
      args: [testRedisUrl, own, 'tenant-k', '2000'],
      onLine: () => {
        confirmed += 1;
        if (confirmed === 300) crashing.kill('SIGKILL');
      },
    });
    await waitForExit(crashing);
    // A provider retries what it got no answer for: here, every event, from another process.
    const retried: string[] = [];
    const retrying = spawnTypeScript(publisher, {
      args: [testRedisUrl, own, 'tenant-k', '2000'],
      onLine: (line) => {
        if (line !== 'done') retried.push(line);
      },
    });
    expect(await waitForExit(retrying)).toBe(0);

    const received = await take(subscription, 2000);
    expect(eventIds(received)).toEqual(
      Array.from({ length: 2000 }, (_, index) => `child:${index}`),
    );
    expect(
      received.map((message) =>
        message.type === 'event' ? parseBusCursor(message.cursor)?.seq : 0,
      ),
    ).toEqual(Array.from({ length: 2000 }, (_, index) => index + 1));
    // What the killed process got into Redis before dying came back as duplicates, counted.
    const repeated = retried.filter((line) => line.endsWith(' dup')).length;
    expect(repeated).toBeGreaterThanOrEqual(300);
    expect(repeated).toBeLessThan(2000);
    // Nothing else is on the way: the next message is a new event.
    const marker = makeCallEvent({ tenantId: 'tenant-k' });
    await bus.publish(marker);
    expect(eventIds(await take(subscription, 1))).toEqual([marker.id]);
    await bus.close();
  });
});

// The internal contract a tracker on the same Redis uses to publish inside its own apply script
// (decision 0030): the bus's publish functions, composed into another script, publish exactly as
// `bus.publish` does.
import { redisBusIngestKey, redisBusIngestOf } from '@calltrack/redis-script';
import { connectTestRedis, deleteKeys, makeCallEvent, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBusCursor } from './bus-cursor';
import { take } from './collect-bus-messages';
import { createMemoryBus } from './create-memory-bus';
import { createRedisBus } from './create-redis-bus';
import { redisBusKeys, redisBusTenantRegistry } from './redis-bus-keys';

const redis = await connectTestRedis();
const prefix = uniquePrefix('bus-ingest');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

/**
 * A script of another package's making around the bus's functions: one event, one step. Its own
 * key first (`KEYS[1]`, unused here), then the bus's keys.
 */
const composed = (functions: string) => `${functions}
local stream = calltrack_open(KEYS, 2)
local seq, duplicate, register = calltrack_publish(stream, ARGV[1], ARGV[2])
calltrack_close(stream)
return { stream.epoch, seq, duplicate, register }
`;

describe.skipIf(!redis)('the Redis bus, lent to a script on the same Redis', () => {
  it('is lent under a symbol, outside the EventBus type and its enumerable properties', () => {
    const bus = createRedisBus({ redis: redis!, prefix: `${prefix}:lent` });
    expect(Object.keys(bus).sort()).toEqual(['close', 'position', 'publish', 'subscribe']);
    expect(redisBusIngestOf(bus)).toBe((bus as never)[redisBusIngestKey]);
    expect(redisBusIngestOf(bus)?.redis).toBe(redis);
    expect(redisBusIngestOf(createMemoryBus())).toBeUndefined();
    expect(redisBusIngestOf({ publish: async () => ({ duplicate: false }) })).toBeUndefined();
  });

  it('publishes from another script as bus.publish does: cursor, dedupe, live delivery', async () => {
    const busPrefix = `${prefix}:compose`;
    const bus = createRedisBus({ redis: redis!, prefix: busPrefix });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;
    const ingest = redisBusIngestOf(bus)!;
    const functions = await ingest.publishFunctions();
    expect(functions).toContain("redis.call('PUBLISH'");
    expect(await ingest.publishFunctions()).toBe(functions);
    const first = makeCallEvent();
    const keys = ingest.keys('tenant-a');
    expect(keys).toEqual(redisBusKeys(busPrefix, 'tenant-a').script);
    const [epoch, seq, duplicate, register] = (await redis!.eval(
      composed(functions),
      1 + keys.length,
      `${prefix}:{tenant-a}:own`,
      ...keys,
      JSON.stringify(first),
      first.id,
    )) as [string, number, number, number];
    expect([seq, duplicate, register]).toEqual([1, 0, 0]);
    // The same id through bus.publish is a duplicate of it; a new one comes next.
    const again = await bus.publish(first);
    expect(again.duplicate).toBe(true);
    expect(parseBusCursor(again.cursor)).toMatchObject({ epoch, seq: 1 });
    const second = makeCallEvent();
    const next = await bus.publish(second);
    expect(next.duplicate).toBe(false);
    expect(parseBusCursor(next.cursor)).toMatchObject({ epoch, seq: 2 });
    const messages = await take(subscription, 2);
    // Live, each carries the cursor bus.publish gave it (verifier included).
    expect(messages.map((message) => message.type === 'event' && message.event.id)).toEqual([
      first.id,
      second.id,
    ]);
    expect(messages.map((message) => message.type === 'event' && message.cursor)).toEqual([
      again.cursor,
      next.cursor,
    ]);
    await bus.close();
  });

  it('under sharded pub/sub, asks for a new tenant to be registered, and registers it', async () => {
    const busPrefix = `${prefix}:sharded`;
    const bus = createRedisBus({ redis: redis!, prefix: busPrefix, pubsub: 'sharded' });
    const ingest = redisBusIngestOf(bus)!;
    const functions = await ingest.publishFunctions();
    expect(functions).toContain("redis.call('SPUBLISH'");
    const event = makeCallEvent({ tenantId: 'tenant-new' });
    const reply = (await redis!.eval(
      composed(functions),
      1 + ingest.keys('tenant-new').length,
      `${prefix}:{tenant-new}:own`,
      ...ingest.keys('tenant-new'),
      JSON.stringify(event),
      event.id,
    )) as number[];
    expect(reply[3]).toBe(1);
    await ingest.registerTenant('tenant-new');
    expect(await redis!.smembers(redisBusTenantRegistry(busPrefix).key)).toEqual(['tenant-new']);
    const next = makeCallEvent({ tenantId: 'tenant-new' });
    const again = (await redis!.eval(
      composed(functions),
      1 + ingest.keys('tenant-new').length,
      `${prefix}:{tenant-new}:own`,
      ...ingest.keys('tenant-new'),
      JSON.stringify(next),
      next.id,
    )) as number[];
    expect(again[3]).toBe(0);
    await bus.close();
  });
});

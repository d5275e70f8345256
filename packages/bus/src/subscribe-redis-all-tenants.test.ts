import { connectTestRedis, deleteKeys, makeCallEvent, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { eventIds, take } from './collect-bus-messages';
import { createRedisBus } from './create-redis-bus';
import { createRedisChannelHub, type RedisChannelHub } from './create-redis-channel-hub';
import type { SubscriptionQueue } from './create-subscription-queue';
import { createHistoryReadFailures } from './history-read-failures';
import { subscribeRedisAllTenants } from './subscribe-redis-all-tenants';

const redis = await connectTestRedis();
const prefix = uniquePrefix('bus-all-tenants');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('subscribeRedisAllTenants (classic)', () => {
  it('drops a tenant idle for five minutes and follows it again from its next message, each event once', async () => {
    const client = redis as Redis;
    const errors: Error[] = [];
    const report = (error: Error): void => {
      errors.push(error);
    };
    const hub = createRedisChannelHub({
      redis: client,
      prefix,
      mode: async () => 'classic',
      batchSize: 500,
      maxAgeMs: 60 * 60 * 1000,
      maxEvents: 1000,
      topologyCheckIntervalMs: 5000,
      report,
    });
    // Each tenant a subscription follows gets its history reader once, when it joins.
    const joined: string[] = [];
    const counted: RedisChannelHub = {
      ...hub,
      historyOf: (tenantId) => {
        joined.push(tenantId);
        return hub.historyOf(tenantId);
      },
    };
    let time = 1_000_000;
    const active = new Set<SubscriptionQueue>();
    const everyone = subscribeRedisAllTenants(
      {
        hub: counted,
        maxBufferedMessages: 100,
        batchSize: 500,
        report,
        readFailures: createHistoryReadFailures(report),
        active,
        redis: client,
        prefix,
        now: () => time,
      },
      { allTenants: true },
    );
    await everyone.ready;
    const bus = createRedisBus({ redis: client, prefix, pubsub: 'classic', onError: report });
    const first = makeCallEvent({ tenantId: 'tenant-a' });
    await bus.publish(first);
    expect(eventIds(await take(everyone, 1))).toEqual([first.id]);
    time += 4 * 60 * 1000;
    const forB = makeCallEvent({ tenantId: 'tenant-b' });
    await bus.publish(forB);
    expect(eventIds(await take(everyone, 1))).toEqual([forB.id]);
    expect(joined).toEqual(['tenant-a', 'tenant-b']);
    // Five minutes after tenant-a's last message (and tenant-b's a minute later), it is dropped.
    time += 2 * 60 * 1000;
    const laterB = makeCallEvent({ tenantId: 'tenant-b' });
    await bus.publish(laterB);
    expect(eventIds(await take(everyone, 1))).toEqual([laterB.id]);
    const again = makeCallEvent({ tenantId: 'tenant-a' });
    const after = makeCallEvent({ tenantId: 'tenant-a' });
    await bus.publish(again);
    await bus.publish(after);
    expect(eventIds(await take(everyone, 2))).toEqual([again.id, after.id]);
    expect(joined).toEqual(['tenant-a', 'tenant-b', 'tenant-a']);
    await bus.close();
    for (const queue of active) queue.end();
    hub.close();
    // Nothing more up to the end: each event once.
    expect(await take(everyone, 10)).toEqual([]);
    expect(errors).toEqual([]);
  });
});

import { connectTestRedis, deleteKeys, makeCallEvent, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { eventIds, take } from './collect-bus-messages';
import { createRedisBus } from './create-redis-bus';
import {
  type AllTenantsListener,
  createRedisChannelHub,
  type RedisChannelHub,
} from './create-redis-channel-hub';
import type { RedisPubSubMode } from './create-redis-pubsub';
import type { SubscriptionQueue } from './create-subscription-queue';
import { createHistoryReadFailures } from './history-read-failures';
import { redisBusKeys } from './redis-bus-keys';
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

describe.skipIf(!redis)('subscribeRedisAllTenants (sharded)', () => {
  it('follows only tenants whose stream is alive, drops one whose meta expired, prunes the registry, and follows it again when it publishes', async () => {
    const client = redis as Redis;
    const own = `${prefix}:expired`;
    const errors: Error[] = [];
    const report = (error: Error): void => {
      errors.push(error);
    };
    const hub = createRedisChannelHub({
      redis: client,
      prefix: own,
      mode: async () => 'sharded',
      batchSize: 500,
      maxAgeMs: 60 * 60 * 1000,
      maxEvents: 1000,
      topologyCheckIntervalMs: 5000,
      report,
    });
    const joined: string[] = [];
    const counted: RedisChannelHub = {
      ...hub,
      historyOf: (tenantId) => {
        joined.push(tenantId);
        return hub.historyOf(tenantId);
      },
    };
    const registry = `${own}:tenants`;
    const expire = (tenantId: string) =>
      client.del(redisBusKeys(own, tenantId).meta, redisBusKeys(own, tenantId).stream);
    const bus = createRedisBus({ redis: client, prefix: own, pubsub: 'sharded', onError: report });
    await bus.publish(makeCallEvent({ tenantId: 'tenant-live' }));
    await bus.publish(makeCallEvent({ tenantId: 'tenant-gone' }));
    // No publish for metaTtlMs: its keys expired. And one registered long ago, gone as well.
    await expire('tenant-gone');
    await client.sadd(registry, 'tenant-ancient');
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
        prefix: own,
        now: () => time,
      },
      { allTenants: true },
    );
    await everyone.ready;
    expect(joined).toEqual(['tenant-live']);
    expect(await client.smembers(registry)).toEqual(['tenant-live']);

    // tenant-live's meta expires too; five minutes later a message makes the subscription look.
    await expire('tenant-live');
    time += 5 * 60 * 1000;
    const other = makeCallEvent({ tenantId: 'tenant-other' });
    await bus.publish(other);
    expect(eventIds(await take(everyone, 1))).toEqual([other.id]);
    while (await client.sismember(registry, 'tenant-live')) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Its next publish starts a new stream, announced: followed from its first event, once.
    const back = makeCallEvent({ tenantId: 'tenant-live' });
    await bus.publish(back);
    expect(await take(everyone, 1)).toEqual([
      expect.objectContaining({ type: 'event', event: back }),
    ]);
    expect(joined).toEqual(['tenant-live', 'tenant-other', 'tenant-live']);
    await bus.close();
    for (const queue of active) queue.end();
    hub.close();
    expect(await take(everyone, 10)).toEqual([]);
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!redis)('subscribeRedisAllTenants (sharded), ended early', () => {
  it('reads nothing of the registry for a subscription that ended before the registry was attached', async () => {
    const own = `${prefix}:ended-early`;
    // A client of its own, to count the commands the bus sends on it.
    const client = (await connectTestRedis()) as Redis;
    const sent: string[] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = (command, stream) => {
      sent.push(command.name);
      return send(command, stream);
    };
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis: client,
      prefix: own,
      pubsub: 'sharded',
      onError: (error) => errors.push(error),
    });
    await bus.publish(makeCallEvent({ tenantId: 'tenant-a' }));
    const early = bus.subscribe({ allTenants: true });
    // It has asked for the registry's channel (a new connection: no answer within one turn).
    await new Promise((resolve) => setImmediate(resolve));
    await early.close();
    sent.length = 0;
    // A later subscription reads the registry once attached; the ended one's read would come first.
    const later = bus.subscribe({ allTenants: true });
    await later.ready;
    expect(sent.filter((name) => name === 'smembers' || name === 'exists')).toEqual([
      'smembers',
      'exists',
    ]);
    await bus.close();
    await deleteKeys(client, own);
    await client.quit();
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!redis)('subscribeRedisAllTenants and the history-read incident', () => {
  /**
   * An all-tenants subscription whose history reads all fail (they retry every 250 ms), once
   * tenant-a published and its member's first read failed.
   */
  const startFailingReads = async (mode: RedisPubSubMode, testPrefix: string) => {
    const client = redis as Redis;
    const reported: string[] = [];
    let firstFailure: () => void = () => {};
    const failed = new Promise<void>((resolve) => {
      firstFailure = resolve;
    });
    const report = (error: Error): void => {
      reported.push(error.message);
      firstFailure();
    };
    const hub = createRedisChannelHub({
      redis: client,
      prefix: testPrefix,
      mode: async () => mode,
      batchSize: 500,
      maxAgeMs: 60 * 60 * 1000,
      maxEvents: 1000,
      topologyCheckIntervalMs: 5000,
      report,
    });
    const listeners: AllTenantsListener[] = [];
    const unreachable: RedisChannelHub = {
      ...hub,
      historyOf: (tenantId) => async () => {
        throw new Error(`Connection is closed. (${tenantId})`);
      },
      attachAllTenants: (listener) => {
        listeners.push(listener);
        return hub.attachAllTenants(listener);
      },
    };
    const readFailures = createHistoryReadFailures(report);
    const stop = new AbortController();
    const everyone = subscribeRedisAllTenants(
      {
        hub: unreachable,
        maxBufferedMessages: 100,
        batchSize: 500,
        report,
        readFailures,
        active: new Set(),
        redis: client,
        prefix: testPrefix,
      },
      { allTenants: true, signal: stop.signal },
    );
    await everyone.ready;
    const bus = createRedisBus({
      redis: client,
      prefix: testPrefix,
      pubsub: mode,
      onError: report,
    });
    await bus.publish(makeCallEvent({ tenantId: 'tenant-a' }));
    await failed;
    expect(reported).toEqual(['Connection is closed. (tenant-a)']);
    const close = async () => {
      stop.abort();
      await bus.close();
      hub.close();
      await deleteKeys(client, testPrefix);
    };
    return { reported, readFailures, stop, listeners, close };
  };

  it.each<RedisPubSubMode>(['classic', 'sharded'])(
    '%s: an ended subscription tells the incident at once, not at its next retry',
    async (mode) => {
      const { reported, readFailures, stop, close } = await startFailingReads(
        mode,
        `${prefix}:ended-${mode}`,
      );
      stop.abort();
      // Another subscription's read works: with the ended one no longer failing, that is the end.
      readFailures.succeeded({}, 'tenant-a');
      expect(reported).toEqual([
        'Connection is closed. (tenant-a)',
        expect.stringMatching(
          /^The Redis bus's history reads work again after [\d.]+ s and \d+ failed reads/,
        ),
      ]);
      await close();
    },
  );

  it('classic: members dropped at a reconnect tell the incident at once', async () => {
    const { reported, readFailures, listeners, close } = await startFailingReads(
      'classic',
      `${prefix}:reconnect`,
    );
    // The pattern subscription came back: tenant-a's member is dropped, to join again on its
    // next message.
    for (const listener of listeners) listener.reconnected();
    readFailures.succeeded({}, 'tenant-a');
    expect(reported).toEqual([
      'Connection is closed. (tenant-a)',
      expect.stringMatching(/^The Redis bus's history reads work again after/),
    ]);
    await close();
  });
});

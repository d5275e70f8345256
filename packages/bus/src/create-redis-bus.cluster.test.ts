import { BusUnavailableError } from '@calltrack/core';
import {
  connectTestRedis,
  makeCallEvent,
  type RedisClusterProcess,
  startRedisCluster,
} from '@calltrack/test-utils';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventIds, take } from './collect-bus-messages';
import { createRedisBus } from './create-redis-bus';
import { detectRedisPubSubMode } from './detect-redis-pubsub-mode';
import type { BusMessage } from './event-bus';
import { redisBusKeys } from './redis-bus-keys';
import { redisClusterSlot } from './redis-cluster-slot';
import { describeEventBus } from './testing';

// These tests start their own three-master Redis Cluster (redis-server ≥ 7 is installed on the
// machine and in CI). The probe decides skip-or-fail like every Redis suite.
const probe = await connectTestRedis();
probe?.disconnect();
const available = probe !== undefined;

/** Tenants whose slots fall on the first, second and third master (equal slot ranges). */
const tenantOnNode = ['tenant-2', 'tenant-0', 'tenant-1'] as const;

describe.skipIf(!available)('Redis bus on a Redis Cluster', () => {
  let cluster: RedisClusterProcess;
  const clients: Cluster[] = [];
  const connect = (): Cluster => {
    const client = new Cluster(cluster.startupNodes, {
      clusterRetryStrategy: () => 100,
      redisOptions: { maxRetriesPerRequest: 1 },
    });
    client.on('error', () => {});
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await cluster?.stop();
  });

  let counter = 0;
  describeEventBus(
    { describe, it, afterEach },
    {
      name: 'redis cluster, sharded pub/sub',
      createBus: async (options) => {
        counter += 1;
        return createRedisBus({ redis: connect(), prefix: `sharded-${counter}`, ...options });
      },
    },
  );
  describeEventBus(
    { describe, it, afterEach },
    {
      name: 'redis cluster, classic pub/sub',
      createBus: async (options) => {
        counter += 1;
        return createRedisBus({
          redis: connect(),
          prefix: `classic-${counter}`,
          pubsub: 'classic',
          ...options,
        });
      },
    },
  );

  it('picks sharded pub/sub on a cluster of Redis 7 masters', async () => {
    await expect(detectRedisPubSubMode(connect())).resolves.toBe('sharded');
  });

  it('computes the slots Redis computes', async () => {
    const client = connect();
    const names = ['foo', '{a}', '{user1000}.following', 'a{}{b}', 'x{tenant-ü}:events', '{}', ''];
    for (const name of names) {
      expect(redisClusterSlot(name)).toBe(await client.cluster('KEYSLOT', name));
    }
  });

  it("keeps each tenant's keys in one slot, and tenants on every node", async () => {
    const client = connect();
    const bus = createRedisBus({ redis: client, prefix: 'layout' });
    const owners = new Set<number>();
    for (const tenantId of tenantOnNode) {
      await bus.publish(makeCallEvent({ tenantId }));
      const keys = redisBusKeys('layout', tenantId);
      const slot = redisClusterSlot(keys.meta);
      expect(redisClusterSlot(keys.stream)).toBe(slot);
      expect(redisClusterSlot(keys.channel)).toBe(slot);
      expect(await client.exists(keys.meta, keys.stream)).toBe(2);
      owners.add(await cluster.ownerOf(slot));
    }
    expect(owners).toEqual(new Set([0, 1, 2]));
    await bus.close();
  });

  it('delivers live events of tenants on every node through one subscriber connection per node', async () => {
    const publisher = createRedisBus({ redis: connect(), prefix: 'spread' });
    const subscriberBus = createRedisBus({ redis: connect(), prefix: 'spread' });
    const subscriptions = tenantOnNode.map((tenantId) => subscriberBus.subscribe({ tenantId }));
    const everyone = subscriberBus.subscribe({ allTenants: true });
    await Promise.all([...subscriptions, everyone].map((subscription) => subscription.ready));
    const events = tenantOnNode.map((tenantId) => makeCallEvent({ tenantId }));
    for (const event of events) await publisher.publish(event);
    for (const [index, subscription] of subscriptions.entries()) {
      expect(eventIds(await take(subscription, 1))).toEqual([events[index]?.id]);
    }
    expect(new Set(eventIds(await take(everyone, 3)))).toEqual(new Set(events.map((e) => e.id)));
    await publisher.close();
    await subscriberBus.close();
  });

  it("replays a new tenant's first events to an all-tenants subscription that started before it existed", async () => {
    const bus = createRedisBus({ redis: connect(), prefix: 'newcomer' });
    const everyone = bus.subscribe({ allTenants: true });
    await everyone.ready;
    const first = [
      makeCallEvent({ tenantId: 'tenant-new' }),
      makeCallEvent({ tenantId: 'tenant-new' }),
    ];
    // Published by another process at once: the announcement races with the events.
    const other = createRedisBus({ redis: connect(), prefix: 'newcomer' });
    await Promise.all(first.map((event) => other.publish(event)));
    const later = makeCallEvent({ tenantId: 'tenant-new' });
    await other.publish(later);
    expect(eventIds(await take(everyone, 3)).sort()).toEqual(
      [...first, later].map((event) => event.id).sort(),
    );
    await bus.close();
    await other.close();
  });

  it('loses nothing while the slot of a tenant moves to another node mid-stream', async () => {
    const tenantId = 'tenant-moving';
    const slot = redisClusterSlot(`{${tenantId}}`);
    const publisher = createRedisBus({ redis: connect(), prefix: 'moving' });
    const subscriberBus = createRedisBus({
      redis: connect(),
      prefix: 'moving',
      clusterTopologyCheckMs: 200,
    });
    const subscription = subscriberBus.subscribe({ tenantId });
    await subscription.ready;
    const events = Array.from({ length: 200 }, () => makeCallEvent({ tenantId }));
    const from = await cluster.ownerOf(slot);
    for (const [index, event] of events.entries()) {
      if (index === 100) await cluster.migrateSlot(slot, (from + 1) % 3);
      await publisher.publish(event);
    }
    const received = await take(subscription, 200);
    expect(received.map((message) => message.type)).toEqual(Array(200).fill('event'));
    expect(eventIds(received)).toEqual(events.map((event) => event.id));
    expect(await cluster.ownerOf(slot)).toBe((from + 1) % 3);
    await publisher.close();
    await subscriberBus.close();
  });

  it('skips nothing a restarted master still has: one reset, then every event published after it', async () => {
    const tenantId = 'tenant-restart';
    const node = await cluster.ownerOf(redisClusterSlot(`{${tenantId}}`));
    const publisherClient = connect();
    const publisher = createRedisBus({
      redis: publisherClient,
      prefix: 'crash',
      publishTimeoutMs: 500,
    });
    const subscriberBus = createRedisBus({
      redis: connect(),
      prefix: 'crash',
      clusterTopologyCheckMs: 200,
    });
    const subscription = subscriberBus.subscribe({ tenantId });
    await subscription.ready;
    const accepted: { id: string; cursor: string }[] = [];
    let unavailable = 0;
    const publishUntilAccepted = async (event = makeCallEvent({ tenantId })): Promise<void> => {
      for (;;) {
        try {
          const { cursor } = await publisher.publish(event);
          accepted.push({ id: event.id, cursor });
          return;
        } catch (error) {
          expect(BusUnavailableError.isInstance(error)).toBe(true);
          unavailable += 1;
        }
      }
    };
    for (let index = 0; index < 60; index += 1) {
      if (index === 30) {
        await cluster.killNode(node);
        const whileDown = await publisher.publish(makeCallEvent({ tenantId })).catch((e) => e);
        expect(BusUnavailableError.isInstance(whileDown)).toBe(true);
        await cluster.restartNode(node);
      }
      await publishUntilAccepted();
    }
    const sentinel = makeCallEvent({ tenantId });
    await publishUntilAccepted(sentinel);

    const received: BusMessage[] = [];
    for await (const message of subscription) {
      received.push(message);
      if (message.type === 'event' && message.event.id === sentinel.id) break;
    }
    const epochOf = (cursor: string) => cursor.slice(0, cursor.lastIndexOf(':'));
    const newEpoch = epochOf(accepted.at(-1)?.cursor ?? '');
    const afterRestart = accepted.filter((entry) => epochOf(entry.cursor) === newEpoch);
    const resetAt = received.findIndex((message) => message.type === 'reset');
    expect(received.filter((message) => message.type === 'reset')).toEqual([
      { type: 'reset', recovered: false, reason: 'stream-reset' },
    ]);
    expect(eventIds(received.slice(resetAt + 1))).toEqual(afterRestart.map((entry) => entry.id));
    // Before the crash: delivered in order; only what the crash took before delivery may miss.
    const before = accepted
      .slice(0, accepted.length - afterRestart.length)
      .map((entry) => entry.id);
    const deliveredBefore = eventIds(received.slice(0, resetAt));
    expect(deliveredBefore).toEqual(before.slice(0, deliveredBefore.length));
    expect(before.length - deliveredBefore.length).toBeLessThanOrEqual(unavailable + 1);
    await publisher.close();
    await subscriberBus.close();
  }, 60_000);
});

import { type CallEvent, InvalidEventError, publishEvents } from '@calltrack/core';
import { defineRedisScript, redisBusIngestOf, runRedisScript } from '@calltrack/redis-script';
import {
  connectTestRedis,
  deleteKeys,
  makeCallEvent,
  testRedisUrl,
  uniquePrefix,
} from '@calltrack/test-utils';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseBusCursor } from './bus-cursor';
import { BusDeliveryError } from './bus-delivery-error';
import { eventIds, take } from './collect-bus-messages';
import { createRedisBus } from './create-redis-bus';
import type { BusSubscription } from './event-bus';
import { redisBusKeys } from './redis-bus-keys';
import { describeEventBus } from './testing';

const redis = await connectTestRedis();

/** A client that hands every connection it duplicates to `onDuplicate`, once it connects. */
class BurstRedis extends Redis {
  readonly connected: Promise<void>;
  readonly #onDuplicate: (connection: Redis) => void;
  #connected: () => void = () => {};

  constructor(url: string, onDuplicate: (connection: Redis) => void) {
    super(url);
    this.#onDuplicate = onDuplicate;
    this.connected = new Promise((resolve) => {
      this.#connected = resolve;
    });
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const connection = super.duplicate(override);
    this.#onDuplicate(connection);
    connection.once('connect', () => this.#connected());
    return connection;
  }
}
const prefix = uniquePrefix('bus');

const ids = (events: readonly CallEvent[]): string[] => events.map((event) => event.id);

/** Resolves once Redis' own clock (TIME, in ms) is past `ms`: it ages entries, not ours. */
async function untilRedisTimeIsAfter(client: Redis, ms: number): Promise<void> {
  for (;;) {
    const [seconds, micros] = await client.time();
    if (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) > ms) return;
  }
}

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('createRedisBus', () => {
  const client = redis as Redis;
  let counter = 0;
  // Each bus gets its own prefix, so tests never see each other's history.
  describeEventBus(
    { describe, it, afterEach },
    {
      name: 'redis',
      createBus: async (options) => {
        counter += 1;
        return createRedisBus({ redis: client, prefix: `${prefix}:${counter}`, ...options });
      },
    },
  );
  // Sharded pub/sub works on a single Redis 7 too (SSUBSCRIBE without a cluster): the same
  // contract, with all-tenants subscriptions following the tenant registry.
  describeEventBus(
    { describe, it, afterEach },
    {
      name: 'redis, sharded pub/sub',
      createBus: async (options) => {
        counter += 1;
        return createRedisBus({
          redis: client,
          prefix: `${prefix}:${counter}`,
          pubsub: 'sharded',
          ...options,
        });
      },
    },
  );

  it.each(['classic', 'sharded'] as const)(
    'a cold bus (%s): every subscription of a burst of 200 is live once ready',
    async (pubsub) => {
      // The bus opens its subscriber connection on the first subscription; the rest of the
      // burst arrives while that connection does its handshake (as requests of a burst do on a
      // server). A SUBSCRIBE sent before its ready check made the check fail, and the
      // connection then dropped subscriptions it had already confirmed: ready, but deaf.
      const own = `${prefix}:burst-${pubsub}`;
      const tenants = Array.from({ length: 200 }, (_, index) => `burst-${index}`);
      const errors: Error[] = [];
      let failed: (error: Error) => void = () => {};
      const failure = new Promise<never>((_, reject) => {
        failed = reject;
      });
      const subscriptions: BusSubscription[] = [];
      const burstClient = new BurstRedis(testRedisUrl, (connection) => {
        connection.once('connect', () => {
          for (const tenantId of tenants.slice(1)) subscriptions.push(bus.subscribe({ tenantId }));
        });
      });
      const bus = createRedisBus({
        redis: burstClient,
        prefix: own,
        pubsub,
        onError: (error) => {
          errors.push(error);
          failed(error);
        },
      });
      subscriptions.push(bus.subscribe({ tenantId: tenants[0] as string }));
      await Promise.race([burstClient.connected, failure]);
      expect(subscriptions).toHaveLength(200);
      await Promise.race([Promise.all(subscriptions.map(({ ready }) => ready)), failure]);
      const events = tenants.map((tenantId) => makeCallEvent({ tenantId }));
      await Promise.all(events.map((event) => bus.publish(event)));
      // A deaf subscription never gets its event; the connection's failure says why at once.
      const received = await Promise.race([
        Promise.all(subscriptions.map((subscription) => take(subscription, 1))),
        failure,
      ]);
      expect(received.map(eventIds)).toEqual(events.map((event) => [event.id]));
      expect(errors).toEqual([]);
      await bus.close();
      burstClient.disconnect();
    },
    20_000,
  );

  it('keeps every key of a tenant under its {tenant} hash tag', async () => {
    const own = `${prefix}:tags`;
    const bus = createRedisBus({ redis: client, prefix: own });
    await bus.publish(makeCallEvent({ tenantId: 'tenant-x' }));
    const keys = await client.keys(`${own}*`);
    // Both id generations from the first publish on (see the Cluster migration tests).
    expect(keys.sort()).toEqual([...redisBusKeys(own, 'tenant-x').script].sort());
    for (const key of keys) expect(key.startsWith(`${own}:{tenant-x}:`)).toBe(true);
    await bus.close();
  });

  it('never closes the client it was given, and closing reports nothing', async () => {
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis: client,
      prefix: `${prefix}:owned`,
      onError: (error) => errors.push(error),
    });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    const everyone = bus.subscribe({ allTenants: true });
    await Promise.all([subscription.ready, everyone.ready]);
    await bus.close();
    expect(client.status).toBe('ready');
    await expect(client.ping()).resolves.toBe('PONG');
    await expect(subscription.next()).resolves.toMatchObject({ done: true });
    expect(errors).toEqual([]);
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

  it('skips garbage published on a tenant channel, reports it, and keeps every subscription delivering', async () => {
    const own = `${prefix}:garbage`;
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis: client,
      prefix: own,
      onError: (error) => errors.push(error),
    });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    const other = bus.subscribe({ tenantId: 'tenant-b' });
    const everyone = bus.subscribe({ allTenants: true });
    await Promise.all([subscription.ready, other.ready, everyone.ready]);
    const first = makeCallEvent();
    const { cursor } = await bus.publish(first);
    const epoch = cursor.slice(0, cursor.lastIndexOf(':'));
    const { channel } = redisBusKeys(own, 'tenant-a');
    // Fault injection: what a stray client or a bug could write on the channel.
    const garbage = [
      'not a message',
      `${epoch}:2\n{not json`,
      `${epoch}:2\n[1,2,3]`,
      `${epoch}:2\n${JSON.stringify(makeCallEvent({ tenantId: 'tenant-b' }))}`,
      `${epoch}:999999\n${JSON.stringify(makeCallEvent())}`,
      `other-epoch:1\n${JSON.stringify(makeCallEvent())}`,
    ];
    for (const raw of garbage) await client.publish(channel, raw);
    const rest = [makeCallEvent(), makeCallEvent(), makeCallEvent()];
    for (const event of rest) await bus.publish(event);
    const forB = makeCallEvent({ tenantId: 'tenant-b' });
    await bus.publish(forB);

    const received = await take(subscription, 4);
    expect(received.map((message) => message.type)).toEqual(['event', 'event', 'event', 'event']);
    expect(eventIds(received)).toEqual([first, ...rest].map((event) => event.id));
    expect(eventIds(await take(other, 1))).toEqual([forB.id]);
    // An all-tenants (pattern) subscription follows each tenant's position too, so the two
    // well-formed forgeries (a far seq, another epoch) are told from real events by history.
    const all = await take(everyone, 5);
    expect(all.map((message) => message.type)).toEqual([
      'event',
      'event',
      'event',
      'event',
      'event',
    ]);
    // Order holds per tenant (a catch-up may hold tenant-a's events back behind tenant-b's).
    expect(eventIds(all).filter((id) => id !== forB.id)).toEqual(
      [first, ...rest].map((event) => event.id),
    );
    expect(eventIds(all)).toContain(forB.id);
    const unreadable = errors.filter(
      (error) => BusDeliveryError.isInstance(error) && error.reason === 'unreadable',
    );
    expect(unreadable.length).toBeGreaterThanOrEqual(garbage.length - 1);
    await bus.close();
  });

  it('reads history at once after a live message it cannot read at all (a later version’s format), so a tenant subscription misses nothing', async () => {
    const own = `${prefix}:later-format`;
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis: client,
      prefix: own,
      onError: (error) => errors.push(error),
    });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;
    const first = makeCallEvent();
    await bus.publish(first);
    expect(eventIds(await take(subscription, 1))).toEqual([first.id]);
    // A publisher of a later version: the same stream entry, a live message in a format this
    // version cannot read (not even its cursor). Nothing else is published after it.
    const keys = redisBusKeys(own, 'tenant-a');
    const later = makeCallEvent();
    const seq = await client.hincrby(keys.meta, 'seq', 1);
    await client.xadd(
      keys.stream,
      `${seq}-${Date.now()}`,
      'e',
      JSON.stringify(later),
      'i',
      later.id,
    );
    await client.publish(keys.channel, `v2\n${JSON.stringify(later)}`);
    expect(eventIds(await take(subscription, 1))).toEqual([later.id]);
    expect(errors).toEqual([expect.objectContaining({ reason: 'unreadable' })]);
    await bus.close();
  });

  it('an all-tenants subscription (classic) reads a tenant’s history after a live message of it that it cannot read at all, so it misses nothing and gets nothing twice', async () => {
    const own = `${prefix}:later-format-all`;
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis: client,
      prefix: own,
      pubsub: 'classic',
      onError: (error) => errors.push(error),
    });
    const everyone = bus.subscribe({ allTenants: true });
    await everyone.ready;
    const first = makeCallEvent();
    await bus.publish(first);
    expect(eventIds(await take(everyone, 1))).toEqual([first.id]);
    // A publisher of a later version: the stream entry, and a live message this version cannot
    // read (not even a cursor). Nothing else is published after it.
    const keys = redisBusKeys(own, 'tenant-a');
    const later = makeCallEvent();
    const seq = await client.hincrby(keys.meta, 'seq', 1);
    await client.xadd(
      keys.stream,
      `${seq}-${Date.now()}`,
      'e',
      JSON.stringify(later),
      'i',
      later.id,
    );
    await client.publish(keys.channel, `v2\n${JSON.stringify(later)}`);
    expect(eventIds(await take(everyone, 1))).toEqual([later.id]);
    const next = makeCallEvent();
    const forB = makeCallEvent({ tenantId: 'tenant-b' });
    await bus.publish(next);
    await bus.publish(forB);
    expect(eventIds(await take(everyone, 2)).sort()).toEqual([next.id, forB.id].sort());
    await bus.close();
    // Nothing more up to the end: each event once.
    expect(await take(everyone, 10)).toEqual([]);
    expect(errors).toEqual([expect.objectContaining({ reason: 'unreadable' })]);
  });

  it('an all-tenants subscription (classic) reads history from the position a header names when nothing after it can be read, for a tenant it had not heard of', async () => {
    const own = `${prefix}:broken-body-all`;
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis: client,
      prefix: own,
      pubsub: 'classic',
      onError: (error) => errors.push(error),
    });
    await bus.publish(makeCallEvent());
    const everyone = bus.subscribe({ allTenants: true });
    await everyone.ready;
    const { epoch } = parseBusCursor(await bus.position!('tenant-a')) ?? { epoch: '' };
    // A stream entry, and a live message with a good header but a body nothing can read.
    const keys = redisBusKeys(own, 'tenant-a');
    const lost = makeCallEvent();
    const seq = await client.hincrby(keys.meta, 'seq', 1);
    await client.xadd(keys.stream, `${seq}-${Date.now()}`, 'e', JSON.stringify(lost), 'i', lost.id);
    await client.publish(keys.channel, `v1 ${epoch} ${seq}\nnot-a-cursor-line\n{"x":1}`);
    expect(eventIds(await take(everyone, 1))).toEqual([lost.id]);
    const next = makeCallEvent();
    await bus.publish(next);
    expect(eventIds(await take(everyone, 1))).toEqual([next.id]);
    await bus.close();
    expect(await take(everyone, 10)).toEqual([]);
    expect(errors).toEqual([expect.objectContaining({ reason: 'unreadable' })]);
  });

  it.each(['classic', 'sharded'] as const)(
    'mixes live formats on one Redis (%s): this version, the one before headers and a later one; every subscriber gets each event once',
    async (pubsub) => {
      const own = `${prefix}:mixed-${pubsub}`;
      const errors: Error[] = [];
      const bus = createRedisBus({
        redis: client,
        prefix: own,
        pubsub,
        onError: (error) => errors.push(error),
      });
      // Two other processes on the same Redis and prefix: the same Lua writes the same stream
      // entries, but one sends the live message of the format before headers, the other one of
      // a later version (a v2 header, a body this version cannot read).
      const ingest = redisBusIngestOf(createRedisBus({ redis: client, prefix: own, pubsub }))!;
      const functions = await ingest.publishFunctions();
      const command = pubsub === 'sharded' ? 'SPUBLISH' : 'PUBLISH';
      const writer = (format: 'headerless' | 'v2') =>
        defineRedisScript(`${functions}
local t = calltrack_open(KEYS, 1)
local first = t.top + 1
for index = 1, #ARGV, 2 do calltrack_publish(t, ARGV[index], ARGV[index + 1]) end
${format === 'headerless' ? 'table.remove(t.messages, 1)' : 't.messages = {}'}
calltrack_close(t)
${format === 'v2' ? `redis.call('${command}', t.base .. 'events', 'v2 ' .. t.epoch .. ' ' .. first .. ' packed\\n' .. string.rep('\\0', 8))` : ''}
return t.top
`);
      const scripts = { headerless: writer('headerless'), v2: writer('v2') };
      const write = async (format: 'headerless' | 'v2', events: CallEvent[]) => {
        await runRedisScript(
          client,
          scripts[format],
          ingest.keys(events[0]!.tenantId),
          events.flatMap((event) => [JSON.stringify(event), event.id]),
        );
        if (pubsub === 'sharded') await ingest.registerTenant(events[0]!.tenantId);
      };
      const forA = bus.subscribe({ tenantId: 'tenant-a' });
      const forC = bus.subscribe({ tenantId: 'tenant-c' });
      const everyone = bus.subscribe({ allTenants: true });
      await Promise.all([forA.ready, forC.ready, everyone.ready]);
      const a = Array.from({ length: 6 }, () => makeCallEvent());
      const c = Array.from({ length: 3 }, () => makeCallEvent({ tenantId: 'tenant-c' }));
      await bus.publish(a[0]!);
      await write('headerless', [a[1]!, a[2]!]);
      await write('v2', [a[3]!, a[4]!]);
      // Nothing follows the later version's batch for now: it is read from history at once.
      expect(eventIds(await take(forA, 5))).toEqual(ids(a.slice(0, 5)));
      expect(eventIds(await take(everyone, 5))).toEqual(ids(a.slice(0, 5)));
      await bus.publish(a[5]!);
      // A tenant no subscriber has heard of, first in the later format.
      await write('v2', [c[0]!]);
      await write('headerless', [c[1]!]);
      await bus.publish(c[2]!);
      expect(eventIds(await take(forA, 1))).toEqual([a[5]!.id]);
      expect(eventIds(await take(forC, 3))).toEqual(ids(c));
      const rest = eventIds(await take(everyone, 4));
      // In order per tenant (not across tenants).
      expect(rest.filter((id) => !ids(c).includes(id))).toEqual([a[5]!.id]);
      expect(rest.filter((id) => ids(c).includes(id))).toEqual(ids(c));
      await bus.close();
      // Nothing more up to the end: each event once.
      for (const subscription of [forA, forC, everyone]) {
        expect(await take(subscription, 10)).toEqual([]);
      }
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) expect(error).toMatchObject({ reason: 'unreadable' });
    },
  );

  it('skips an unreadable event in history while resuming, reports it, and delivers the rest', async () => {
    const own = `${prefix}:bad-history`;
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis: client,
      prefix: own,
      onError: (error) => errors.push(error),
    });
    const start = await bus.publish(makeCallEvent());
    // Fault injection: an entry in the stream that is not an event, at the next position.
    const keys = redisBusKeys(own, 'tenant-a');
    const seq = await client.hincrby(keys.meta, 'seq', 1);
    await client.xadd(keys.stream, `${seq}-${Date.now()}`, 'e', '{broken', 'i', 'broken-id');
    const after = [makeCallEvent(), makeCallEvent()];
    for (const event of after) await bus.publish(event);
    const subscription = bus.subscribe({ tenantId: 'tenant-a', after: start.cursor });
    expect(eventIds(await take(subscription, 2))).toEqual(after.map((event) => event.id));
    expect(errors).toEqual([
      expect.objectContaining({ reason: 'unreadable', tenantId: 'tenant-a' }),
    ]);
    await bus.close();
  });

  it('answers 400, never 500, for an event whose JSON throws only when the bus writes it', async () => {
    const bus = createRedisBus({ redis: client, prefix: `${prefix}:getter` });
    let reads = 0;
    const event = makeCallEvent({
      raw: {
        get value() {
          reads += 1;
          if (reads > 1) throw new Error('read twice');
          return 1;
        },
      },
    });
    // Published as it is, the event is validated (one read) and then written (a second read).
    const error = await bus.publish(event).catch((caught: unknown) => caught);
    expect(InvalidEventError.isInstance(error)).toBe(true);
    expect((error as InvalidEventError).status).toBe(400);
    expect(await client.exists(redisBusKeys(`${prefix}:getter`, 'tenant-a').meta)).toBe(0);
    // Through a provider's publishEvents it is sealed first: the getter is read once, into a copy.
    reads = 0;
    await expect(publishEvents(bus, [event])).resolves.toEqual({ published: 1, duplicates: 0 });
    expect(reads).toBe(1);
    await bus.close();
  });

  it('starts a new stream over one an earlier version wrote, resetting its old cursors', async () => {
    const own = `${prefix}:legacy`;
    const keys = redisBusKeys(own, 'tenant-a');
    // The layout before id generations: meta epoch/seq, stream entries 0-<seq>, one ids hash.
    await client.hset(keys.meta, 'epoch', 'oldepoch', 'seq', 2);
    await client.xadd(keys.stream, '0-1', 'e', JSON.stringify(makeCallEvent()), 'i', 'x1', 't', 1);
    await client.xadd(keys.stream, '0-2', 'e', JSON.stringify(makeCallEvent()), 'i', 'x2', 't', 1);
    await client.hset(`${own}:{tenant-a}:ids`, 'x1', 1, 'x2', 2);
    const bus = createRedisBus({ redis: client, prefix: own });
    const fresh = makeCallEvent();
    const { cursor, duplicate } = await bus.publish(fresh);
    expect(duplicate).toBe(false);
    expect(parseBusCursor(cursor)?.seq).toBe(1);
    expect(cursor.startsWith('oldepoch:')).toBe(false);
    const resumed = bus.subscribe({ tenantId: 'tenant-a', after: 'oldepoch:2' });
    const [reset, replayed] = await take(resumed, 2);
    expect(reset).toEqual({ type: 'reset', recovered: false, reason: 'stream-reset' });
    expect(replayed).toMatchObject({ type: 'event', event: { id: fresh.id } });
    await bus.close();
  });

  it('holds at most history.maxBytes of event JSON in Redis, trimmed as each publish passes it', async () => {
    const own = `${prefix}:max-bytes`;
    const keys = redisBusKeys(own, 'tenant-a');
    const bus = createRedisBus({ redis: client, prefix: own, history: { maxBytes: 100_000 } });
    const sizes: number[] = [];
    for (let index = 0; index < 40; index += 1) {
      // 5 to 15 KB each, with multi-byte characters: counted in UTF-8 bytes, as Redis does.
      const event = makeCallEvent({
        data: { note: 'é'.repeat(2_500 + ((index * 7) % 5) * 1_250) },
      });
      sizes.push(Buffer.byteLength(JSON.stringify(event)));
      await bus.publish(event);
      const entries = await client.xrange(keys.stream, '-', '+');
      const held = entries.reduce(
        (sum, [, fields]) => sum + Buffer.byteLength(fields[fields.indexOf('e') + 1] as string),
        0,
      );
      // Exactly the newest events that fit.
      let expected = 0;
      let count = 0;
      for (const size of sizes.toReversed()) {
        if (count > 0 && expected + size > 100_000) break;
        expected += size;
        count += 1;
      }
      expect([entries.length, held]).toEqual([count, expected]);
    }
    await bus.close();
  });

  it('refuses a prefix with braces and an unknown pub/sub kind', () => {
    expect(() => createRedisBus({ redis: client, prefix: 'a{b}' })).toThrowError(/prefix/);
    expect(() => createRedisBus({ redis: client, pubsub: 'fast' as never })).toThrowError(/pubsub/);
    expect(() => createRedisBus({} as never)).toThrowError(/ioredis client/);
  });

  it("refuses a client with ioredis' keyPrefix, which live delivery would never reach", () => {
    // Scripts and subscriptions would name the channels differently: publish and history work,
    // and subscribers hear nothing live. Told at once instead.
    const prefixed = new Redis(testRedisUrl, { lazyConnect: true, keyPrefix: 'app:' });
    expect(() => createRedisBus({ redis: prefixed })).toThrowError(/keyPrefix/);
    prefixed.disconnect();
    const url = new URL(testRedisUrl);
    const node = { host: url.hostname, port: Number(url.port || 6379) };
    for (const cluster of [
      new Cluster([node], { lazyConnect: true, keyPrefix: 'app:' }),
      new Cluster([node], { lazyConnect: true, redisOptions: { keyPrefix: 'app:' } }),
    ]) {
      expect(() => createRedisBus({ redis: cluster })).toThrowError(/keyPrefix/);
      cluster.disconnect();
    }
  });

  it('publishes concurrent events of a tenant in batches, in call order, a repeat in a batch being a duplicate', async () => {
    const bus = createRedisBus({ redis: client, prefix: `${prefix}:batch` });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;
    const events = Array.from({ length: 150 }, () => makeCallEvent());
    const sent = [...events.slice(0, 100), events[50] as CallEvent, ...events.slice(100)];
    const results = await Promise.all(sent.map((event) => bus.publish(event)));
    expect(results.filter((result) => result.duplicate)).toEqual([
      { cursor: results[50]?.cursor, duplicate: true },
    ]);
    expect(results[100]?.duplicate).toBe(true);
    const seqs = results
      .filter((result) => !result.duplicate)
      .map((result) => parseBusCursor(result.cursor)?.seq);
    expect(seqs).toEqual(Array.from({ length: 150 }, (_, index) => index + 1));
    expect(eventIds(await take(subscription, 150))).toEqual(events.map((event) => event.id));
    await bus.close();
  });

  it("answers a cursor of another tenant like one of a lost stream: stream-reset, then the tenant's stream from its first event", async () => {
    // Redis cannot tell a cursor of another epoch from one that a restart emptied (README, Reset).
    const bus = createRedisBus({ redis: client, prefix: `${prefix}:foreign` });
    const { cursor: cursorOfA } = await bus.publish(makeCallEvent({ tenantId: 'tenant-a' }));
    const earlier = Array.from({ length: 3 }, () => makeCallEvent({ tenantId: 'tenant-b' }));
    for (const event of earlier) await bus.publish(event);
    const subscription = bus.subscribe({ tenantId: 'tenant-b', after: cursorOfA });
    await subscription.ready;
    const live = makeCallEvent({ tenantId: 'tenant-b' });
    await bus.publish(live);
    const [reset, ...rest] = await take(subscription, 5);
    expect(reset).toEqual({ type: 'reset', recovered: false, reason: 'stream-reset' });
    expect(eventIds(rest)).toEqual([...earlier, live].map((event) => event.id));
    await bus.close();
  });

  it('keeps the entry just before the window when it trims, so a cursor at it still resumes', async () => {
    const bus = createRedisBus({
      redis: client,
      prefix: `${prefix}:trim`,
      history: { maxEvents: 5 },
    });
    const events = Array.from({ length: 64 }, () => makeCallEvent());
    const cursors: string[] = [];
    // Trimmed at seq 32 and 64: the window is 60 to 64, and a cursor at 59 names its entry.
    for (const event of events) cursors.push((await bus.publish(event)).cursor);
    const atEdge = bus.subscribe({ tenantId: 'tenant-a', after: cursors[58] });
    expect(eventIds(await take(atEdge, 5))).toEqual(events.slice(59).map((event) => event.id));
    const beyond = bus.subscribe({ tenantId: 'tenant-a', after: cursors[57] });
    expect(await take(beyond, 1)).toEqual([
      { type: 'reset', recovered: false, reason: 'history-gap' },
    ]);
    await bus.close();
  });

  it('keeps the newest entry that left the window by age too, so a cursor at it still resumes', async () => {
    // Redis' clock cannot be injected, so the test moves the window instead of the clock: two
    // buses on one stream, one with an hour of history that publishes and reads, and one whose
    // window is 1 ms that publishes seq 32, where trimming runs. Only Redis' clock passing the
    // 31st event's publish time by more than 1 ms is waited for; no read depends on how long the
    // machine took, which a window of 100 ms read back in real time did under load.
    const own = `${prefix}:trim-age`;
    const bus = createRedisBus({ redis: client, prefix: own });
    const trimmer = createRedisBus({ redis: client, prefix: own, history: { maxAgeMs: 1 } });
    const cursors: string[] = [];
    for (let index = 0; index < 31; index += 1) {
      cursors.push((await bus.publish(makeCallEvent())).cursor);
    }
    const publishedAt = Number.parseInt(parseBusCursor(cursors[30] as string)?.verifier ?? '', 36);
    expect(Number.isSafeInteger(publishedAt)).toBe(true);
    await untilRedisTimeIsAfter(client, publishedAt + 1);
    const next = makeCallEvent();
    await trimmer.publish(next); // seq 32: all 31 before it left the 1 ms window
    const atEdge = bus.subscribe({ tenantId: 'tenant-a', after: cursors[30] });
    expect(await take(atEdge, 1)).toEqual([expect.objectContaining({ event: next })]);
    const beyond = bus.subscribe({ tenantId: 'tenant-a', after: cursors[29] });
    expect(await take(beyond, 1)).toEqual([
      { type: 'reset', recovered: false, reason: 'history-gap' },
    ]);
    await trimmer.close();
    await bus.close();
  });

  it('resumes from a cursor of the earlier form (no verifier) as before', async () => {
    const bus = createRedisBus({ redis: client, prefix: `${prefix}:earlier-form` });
    const events = Array.from({ length: 4 }, () => makeCallEvent());
    const cursors: string[] = [];
    for (const event of events) cursors.push((await bus.publish(event)).cursor);
    const { epoch, seq } = parseBusCursor(cursors[1] as string)!;
    const subscription = bus.subscribe({ tenantId: 'tenant-a', after: `${epoch}:${seq}` });
    expect(eventIds(await take(subscription, 2))).toEqual(events.slice(2).map((e) => e.id));
    await bus.close();
  });

  it('checks a cursor at the top against the meta key once the stream itself has expired', async () => {
    const own = `${prefix}:expired`;
    const bus = createRedisBus({ redis: client, prefix: own });
    const { cursor } = await bus.publish(makeCallEvent());
    // An idle tenant: its stream expires long before its meta key (metaTtlMs).
    await client.del(redisBusKeys(own, 'tenant-a').stream);
    const other = cursor.replace(/\.[0-9a-z]+$/, '.1');
    const resumed = bus.subscribe({ tenantId: 'tenant-a', after: cursor });
    const forged = bus.subscribe({ tenantId: 'tenant-a', after: other });
    await Promise.all([resumed.ready, forged.ready]);
    const live = makeCallEvent();
    await bus.publish(live);
    expect(await take(resumed, 1)).toEqual([
      expect.objectContaining({ type: 'event', event: live }),
    ]);
    expect(await take(forged, 2)).toEqual([
      { type: 'reset', recovered: false, reason: 'stream-reset' },
      expect.objectContaining({ type: 'event', event: live }),
    ]);
    await bus.close();
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

  it('registers a tenant again when its keys are refreshed, so an all-tenants subscription started after the registry lost it follows it', async () => {
    const own = `${prefix}:registry-lost`;
    const tenantId = 'tenant-forgotten';
    const bus = createRedisBus({ redis: client, prefix: own, pubsub: 'sharded' });
    await bus.publish(makeCallEvent({ tenantId }));
    const before = bus.subscribe({ allTenants: true });
    await before.ready;
    // The registry's node restarted empty (or a failover lost the write); the tenant's meta,
    // on another node, still says it is registered.
    await client.del(`${own}:tenants`);
    const after = bus.subscribe({ allTenants: true });
    await after.ready;
    // About once per history age the publish script refreshes the tenant's TTLs: let it be due.
    await client.hset(redisBusKeys(own, tenantId).meta, 'exp', 1);
    const [renewing, later] = [makeCallEvent({ tenantId }), makeCallEvent({ tenantId })];
    await bus.publish(renewing);
    await bus.publish(later);
    expect(await client.sismember(`${own}:tenants`, tenantId)).toBe(1);
    // Followed all along: every event, no reset.
    expect(await take(before, 2)).toEqual([
      expect.objectContaining({ type: 'event', event: renewing }),
      expect.objectContaining({ type: 'event', event: later }),
    ]);
    // Followed from its registration on, after a reset naming the tenant: what came before it
    // (the events it missed while the registry lacked the tenant) is not in its stream.
    expect(await take(after, 2)).toEqual([
      { type: 'reset', recovered: false, reason: 'history-gap', tenantId },
      expect.objectContaining({ type: 'event', event: later }),
    ]);
    await bus.close();
  });

  it('keeps de-duplicating every event in history after history.maxEvents was raised', async () => {
    const own = `${prefix}:raised`;
    const small = createRedisBus({ redis: client, prefix: own, history: { maxEvents: 10 } });
    const early = Array.from({ length: 15 }, () => makeCallEvent());
    const earlyCursors: string[] = [];
    for (const event of early) earlyCursors.push((await small.publish(event)).cursor);
    await small.close();
    // Redeployed with a larger history: every event published so far is still in it.
    const large = createRedisBus({ redis: client, prefix: own, history: { maxEvents: 1000 } });
    const later = Array.from({ length: 40 }, () => makeCallEvent());
    const laterCursors: string[] = [];
    for (const event of later) laterCursors.push((await large.publish(event)).cursor);
    expect(await large.publish(early[0] as CallEvent)).toEqual({
      cursor: earlyCursors[0],
      duplicate: true,
    });
    expect(await large.publish(later[0] as CallEvent)).toEqual({
      cursor: laterCursors[0],
      duplicate: true,
    });
    const next = await large.publish(makeCallEvent());
    expect(parseBusCursor(next.cursor)?.seq).toBe(56);
    await large.close();
  });

  it('keeps the newer seq of an id found in both id keys when a raised maxEvents merges them', async () => {
    // A rolling change: processes with maxEvents 3 and 5 share a prefix.
    const own = `${prefix}:raise-merge`;
    const small = createRedisBus({ redis: client, prefix: own, history: { maxEvents: 3 } });
    const large = createRedisBus({ redis: client, prefix: own, history: { maxEvents: 5 } });
    const [e1, e2, e3, e4, e6] = Array.from({ length: 5 }, () => makeCallEvent()) as [
      CallEvent,
      CallEvent,
      CallEvent,
      CallEvent,
      CallEvent,
    ];
    for (const event of [e1, e2, e3, e4]) await small.publish(event);
    // e1 (seq 1) left the window of 3: published again as seq 5, so its id is in both keys.
    const again = await small.publish(e1);
    expect(parseBusCursor(again.cursor)?.seq).toBe(5);
    // The larger setting raises the generations, merging the id keys.
    expect(parseBusCursor((await large.publish(e6)).cursor)?.seq).toBe(6);
    // Seq 5 is in both windows: a retry of e1 is its duplicate, not a third copy.
    expect(await small.publish(e1)).toEqual({ ...again, duplicate: true });
    expect(await large.publish(e1)).toEqual({ ...again, duplicate: true });
    await Promise.all([small.close(), large.close()]);
  });

  it('keeps the seq whose entry is the event when a raised maxEvents merges the id keys, not a larger stale one', async () => {
    const own = `${prefix}:raise-stale`;
    const keys = redisBusKeys(own, 'tenant-a');
    const small = createRedisBus({ redis: client, prefix: own, history: { maxEvents: 3 } });
    const events = Array.from({ length: 4 }, () => makeCallEvent());
    const cursors: string[] = [];
    for (const event of events) cursors.push((await small.publish(event)).cursor);
    // Seqs 1, 2 in ids:0, 3, 4 in ids:1. Next to its real seq 1, ids:1 holds a stale, larger one
    // for the first event (what another epoch left): seq 4 is another event here.
    await client.hset(keys.ids[1], events[0]!.id, 4);
    // Raised to 5 with the top at 4: seq 5 starts generation 1 (ids:1), so the ids merge into
    // ids:0 and seq 1 is still in the window.
    const large = createRedisBus({ redis: client, prefix: own, history: { maxEvents: 5 } });
    expect(await large.publish(events[0]!)).toEqual({ cursor: cursors[0], duplicate: true });
    await Promise.all([small.close(), large.close()]);
  });

  it('merges id keys larger than one Lua unpack when maxEvents is raised', async () => {
    const own = `${prefix}:raise-large`;
    const keys = redisBusKeys(own, 'tenant-a');
    const small = createRedisBus({ redis: client, prefix: own, history: { maxEvents: 3 } });
    const first = makeCallEvent();
    const published = await small.publish(first);
    // Ids left in the other key (what a large generation held): more than unpack returns at once.
    const fields = Array.from({ length: 20_000 }, (_, index) => [`old-${index}`, '1']).flat();
    await client.hset(keys.ids[1], ...fields);
    const large = createRedisBus({ redis: client, prefix: own, history: { maxEvents: 5 } });
    expect(await large.publish(first)).toEqual({ ...published, duplicate: true });
    expect(await client.hlen(keys.ids[0])).toBeGreaterThan(20_000);
    await Promise.all([small.close(), large.close()]);
  });

  it('de-duplicates across id generations kept in two fixed keys, and keeps no other', async () => {
    const own = `${prefix}:generations`;
    const keys = redisBusKeys(own, 'tenant-a');
    const bus = createRedisBus({ redis: client, prefix: own, history: { maxEvents: 3 } });
    const events = Array.from({ length: 20 }, () => makeCallEvent());
    const cursors: string[] = [];
    for (const event of events) cursors.push((await bus.publish(event)).cursor);
    // The window is 18 to 20 (generations 5 and 6, in ids:1 and ids:0).
    for (const index of [17, 18, 19]) {
      expect(await bus.publish(events[index] as CallEvent)).toEqual({
        cursor: cursors[index],
        duplicate: true,
      });
    }
    const left = await bus.publish(events[16] as CallEvent);
    expect(left.duplicate).toBe(false);
    expect(parseBusCursor(left.cursor)?.seq).toBe(21);
    expect((await client.keys(`${own}:*`)).sort()).toEqual(
      [keys.meta, keys.stream, ...keys.ids].sort(),
    );
    // Generation 7 (seq 21) emptied ids:1 of generation 5 when it started.
    expect(Object.keys(await client.hgetall(keys.ids[1])).filter(Boolean)).toEqual([
      events[16]!.id,
    ]);
    await bus.close();
  });

  it('takes an id for a duplicate only when the entry at its seq is that event', async () => {
    const own = `${prefix}:stale-ids`;
    const keys = redisBusKeys(own, 'tenant-a');
    const bus = createRedisBus({ redis: client, prefix: own });
    const [first, second] = [makeCallEvent(), makeCallEvent()];
    await bus.publish(first!);
    // An id key holding what another epoch (or an older version of the script) left there:
    // second's id mapped to seq 1, which is first's entry in this stream.
    await client.hset(keys.ids[0], second!.id, 1);
    const published = await bus.publish(second!);
    expect(published.duplicate).toBe(false);
    expect(parseBusCursor(published.cursor)?.seq).toBe(2);
    expect(await bus.publish(second!)).toEqual({ ...published, duplicate: true });
    await bus.close();
  });

  it('goes on with a stream the layout with ids per epoch wrote, in its epoch', async () => {
    const own = `${prefix}:ids-per-epoch`;
    const keys = redisBusKeys(own, 'tenant-a');
    // The layout before fixed id keys: generations named after the epoch.
    const now = Date.now();
    const earlier = [makeCallEvent(), makeCallEvent()];
    await client.hset(
      keys.meta,
      'epoch',
      'e0',
      'seq',
      2,
      'gen',
      1000,
      'at',
      now,
      'exp',
      now + 60_000,
    );
    for (const [index, event] of earlier.entries()) {
      await client.xadd(
        keys.stream,
        `${index + 1}-${now}`,
        'e',
        JSON.stringify(event),
        'i',
        event.id,
      );
    }
    await client.hset(`${own}:{tenant-a}:ids:e0:0`, earlier[0]!.id, 1, earlier[1]!.id, 2);
    const bus = createRedisBus({ redis: client, prefix: own });
    const resumed = bus.subscribe({ tenantId: 'tenant-a', after: 'e0:1' });
    await resumed.ready;
    const fresh = makeCallEvent();
    const published = await bus.publish(fresh);
    expect(published.duplicate).toBe(false);
    expect(parseBusCursor(published.cursor)).toMatchObject({ epoch: 'e0', seq: 3 });
    expect(eventIds(await take(resumed, 2))).toEqual([earlier[1]!.id, fresh.id]);
    await bus.close();
  });
});

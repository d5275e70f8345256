import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BusUnavailableError, sealCallEvent } from '@calltrack/core';
import {
  connectTestRedis,
  makeCallEvent,
  type RedisServerProcess,
  startPersistentRedisServer,
  startRedisServer,
} from '@calltrack/test-utils';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { formatBusCursor, parseBusCursor } from './bus-cursor';
import { eventIds, take } from './collect-bus-messages';
import { createRedisBus } from './create-redis-bus';
import type { BusMessage } from './event-bus';

/** The garbage collector, to see what a test let go of. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * Resolves on the next `name` event. Unlike `events.once`, an `error` event does not reject it:
 * ioredis emits one for every refused reconnection attempt while the server is down.
 */
function nextEvent(emitter: Redis, name: string): Promise<void> {
  return new Promise((resolve) => emitter.once(name, () => resolve()));
}

// These tests start their own redis-server (they kill it); they need the binary, which the
// machine and CI install. The probe decides skip-or-fail like every Redis suite.
const probe = await connectTestRedis();
probe?.disconnect();
const available = probe !== undefined;

/** Resolves after `count` refused reconnection attempts of `redis` (its `error` events). */
function reconnectAttempts(redis: Redis, count: number): Promise<void> {
  let attempts = 0;
  return new Promise((resolve) => {
    const counted = () => {
      attempts += 1;
      if (attempts < count) return;
      redis.off('error', counted);
      resolve();
    };
    redis.on('error', counted);
  });
}

describe.skipIf(!available)('Redis bus through outages', () => {
  let server: RedisServerProcess | undefined;
  const clients: Redis[] = [];
  const client = (url: string, retryMs = 50): Redis => {
    const made = new Redis(url, { retryStrategy: () => retryMs, maxRetriesPerRequest: 1 });
    made.on('error', () => {});
    clients.push(made);
    return made;
  };
  afterEach(async () => {
    for (const made of clients.splice(0)) made.disconnect();
    await server?.stop();
  });

  it('catches up from history after its subscriber connection is killed, with no reset', async () => {
    server = await startRedisServer();
    const publisherClient = client(server.url);
    const bus = createRedisBus({ redis: publisherClient, prefix: 'outage' });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;
    const before = makeCallEvent();
    await bus.publish(before);
    expect(eventIds(await take(subscription, 1))).toEqual([before.id]);

    const admin = client(server.url);
    await admin.client('KILL', 'TYPE', 'pubsub');
    const during = Array.from({ length: 20 }, () => makeCallEvent());
    for (const event of during) await bus.publish(event);

    const received = await take(subscription, 20);
    expect(received.map((message) => message.type)).toEqual(Array(20).fill('event'));
    expect(eventIds(received)).toEqual(during.map((event) => event.id));
    await bus.close();
  });

  it('skips nothing a restarted Redis still has: one reset, then every event published after the restart', async () => {
    server = await startRedisServer();
    const publisherRedis = client(server.url);
    // The subscriber's side reconnects later than the publisher's, so events are published in
    // the new stream before it looks: those are exactly what a reset to the top would skip.
    const subscriberRedis = client(server.url, 300);
    const publisher = createRedisBus({
      redis: publisherRedis,
      prefix: 'r400',
      publishTimeoutMs: 1000,
    });
    const subscriberBus = createRedisBus({ redis: subscriberRedis, prefix: 'r400' });
    const subscription = subscriberBus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;

    const accepted: { id: string; cursor: string }[] = [];
    let failures = 0;
    const publishUntilAccepted = async (event = makeCallEvent()): Promise<void> => {
      for (;;) {
        try {
          const { cursor } = await publisher.publish(event);
          accepted.push({ id: event.id, cursor });
          return;
        } catch {
          failures += 1;
          if (publisherRedis.status !== 'ready') await nextEvent(publisherRedis, 'ready');
        }
      }
    };
    for (let index = 0; index < 400; index += 1) {
      if (index === 150) {
        const closed = nextEvent(publisherRedis, 'close');
        await server.kill();
        await closed;
        await server.restart();
      }
      await publishUntilAccepted();
    }
    const sentinel = makeCallEvent();
    await publishUntilAccepted(sentinel);

    const received: BusMessage[] = [];
    for await (const message of subscription) {
      received.push(message);
      if (message.type === 'event' && message.event.id === sentinel.id) break;
    }
    const epochOf = (cursor: string) => cursor.slice(0, cursor.lastIndexOf(':'));
    const newEpoch = epochOf(accepted.at(-1)?.cursor ?? '');
    const afterRestart = accepted.filter((entry) => epochOf(entry.cursor) === newEpoch);
    const resets = received.filter((message) => message.type === 'reset');
    const cursors = received.flatMap((message) =>
      message.type === 'event' ? [message.cursor] : [],
    );
    const deliveredAfter = received
      .slice(received.findIndex((message) => message.type === 'reset') + 1)
      .flatMap((message) => (message.type === 'event' ? [message.event.id] : []));

    expect(resets).toEqual([{ type: 'reset', recovered: false, reason: 'stream-reset' }]);
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(deliveredAfter).toEqual(afterRestart.map((entry) => entry.id));
    expect(afterRestart.length).toBeGreaterThanOrEqual(251);
    // Before the restart, only what Redis lost with the kill may be missing.
    const beforeRestart = accepted.length - afterRestart.length;
    const lostWithTheKill = beforeRestart - (received.length - 1 - deliveredAfter.length);
    expect(lostWithTheKill).toBeGreaterThanOrEqual(0);
    expect(lostWithTheKill).toBeLessThanOrEqual(failures + 1);
    await publisher.close();
    await subscriberBus.close();
  });

  it('resets a client whose cursor a Redis restored from an older snapshot gave to another event, and only such a client', async () => {
    server = await startPersistentRedisServer({ keeps: 'last-save' });
    const redis = client(server.url);
    const bus = createRedisBus({ redis, prefix: 'rdb' });
    const published = Array.from({ length: 10 }, () => makeCallEvent());
    const cursors: string[] = [];
    for (const event of published.slice(0, 5)) cursors.push((await bus.publish(event)).cursor);
    await redis.save(); // what `save <seconds> <changes>` writes now and then
    for (const event of published.slice(5)) cursors.push((await bus.publish(event)).cursor);
    // Where a reader that saw everything would save its position (the webhook dispatcher does).
    const position = await bus.position!('tenant-a');
    expect(position).toBe(cursors[9]);

    // Redis crashes and comes back from its snapshot: the stream is back at seq 5, same epoch.
    const closed = nextEvent(redis, 'close');
    await server.kill();
    await closed;
    const ready = nextEvent(redis, 'ready');
    await server.restart();
    await ready;
    const fresh = Array.from({ length: 8 }, () => makeCallEvent());
    const freshCursors: string[] = [];
    for (const event of fresh) freshCursors.push((await bus.publish(event)).cursor);
    // Seqs 6 to 10 again: positions the clients below already had, now holding other events.
    const seen = parseBusCursor(cursors[9] as string);
    expect(parseBusCursor(freshCursors[4] as string)).toMatchObject({
      epoch: seen?.epoch,
      seq: 10,
    });

    // A client that saw up to seq 10 before the crash, one that resumes from the saved position,
    // one with a cursor of the earlier form (no verifier: it cannot tell, as before), and one
    // that saw up to seq 3, which the snapshot kept: only it lost nothing.
    const lost = bus.subscribe({ tenantId: 'tenant-a', after: cursors[9] });
    const saved = bus.subscribe({ tenantId: 'tenant-a', after: position });
    const earlierForm = bus.subscribe({
      tenantId: 'tenant-a',
      after: formatBusCursor(seen?.epoch as string, 10),
    });
    const kept = bus.subscribe({ tenantId: 'tenant-a', after: cursors[2] });
    await Promise.all([lost.ready, saved.ready, earlierForm.ready, kept.ready]);
    const live = makeCallEvent();
    await bus.publish(live);
    const reset = { type: 'reset', recovered: false, reason: 'stream-reset' };
    for (const subscription of [lost, saved]) {
      expect(await take(subscription, 2)).toEqual([
        reset,
        expect.objectContaining({ type: 'event', event: live }),
      ]);
    }
    expect(eventIds(await take(earlierForm, 4))).toEqual(
      [...fresh.slice(5), live].map((e) => e.id),
    );
    expect(eventIds(await take(kept, 11))).toEqual(
      [...published.slice(3, 5), ...fresh, live].map((event) => event.id),
    );
    await bus.close();
  });

  it('resets a client resuming from a position taken before any event once Redis restarted empty', async () => {
    // A transport hands out position() of a tenant with no events yet (tRPC's ready, a Socket.IO
    // snapshot before any event): a client holding it missed whatever the lost stream had.
    server = await startRedisServer();
    const first = client(server.url);
    const second = client(server.url);
    const nodeA = createRedisBus({ redis: first, prefix: 'seq0', publishTimeoutMs: 1000 });
    const nodeB = createRedisBus({ redis: second, prefix: 'seq0', publishTimeoutMs: 1000 });
    const position = await nodeA.position!('tenant-a');
    expect(parseBusCursor(position)?.seq).toBe(0);
    for (let index = 0; index < 3; index += 1) await nodeA.publish(makeCallEvent());

    const closed = Promise.all([nextEvent(first, 'close'), nextEvent(second, 'close')]);
    await server.kill();
    await closed;
    const ready = Promise.all([nextEvent(first, 'ready'), nextEvent(second, 'ready')]);
    await server.restart();
    await ready;

    const back = nodeB.subscribe({ tenantId: 'tenant-a', after: position });
    await back.ready;
    const live = makeCallEvent();
    await nodeB.publish(live);
    const [reset, ...rest] = await take(back, 2);
    expect(reset).toEqual({ type: 'reset', recovered: false, reason: 'stream-reset' });
    expect(eventIds(rest)).toEqual([live.id]);

    // A client at a position of the new stream is not reset: nothing it had is gone.
    const fresh = await nodeA.position!('tenant-b');
    const later = makeCallEvent({ tenantId: 'tenant-b' });
    await nodeA.publish(later);
    const resumed = nodeB.subscribe({ tenantId: 'tenant-b', after: fresh });
    expect(eventIds(await take(resumed, 1))).toEqual([later.id]);
    await Promise.all([nodeA.close(), nodeB.close()]);
  });

  it("subscribes through a Redis that answers late although the client's commandTimeout is short", async () => {
    server = await startRedisServer();
    const redis = new Redis(server.url, { commandTimeout: 100, maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    clients.push(redis);
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis,
      prefix: 'fail-fast',
      pubsub: 'classic',
      onError: (error) => errors.push(error),
    });
    const admin = client(server.url);
    // Every command waits 600 ms: SUBSCRIBE too, sent while Redis does not answer.
    await admin.client('PAUSE', 600, 'ALL');
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;
    const event = makeCallEvent();
    await bus.publish(event);
    expect(eventIds(await take(subscription, 1))).toEqual([event.id]);
    await bus.close();
    // The subscriber connection waited: no `Command timed out` for SUBSCRIBE or its ready check.
    expect(errors).toEqual([]);
  });

  it('rejects a publish Redis does not answer in time with BusUnavailableError; publishing it again is safe', async () => {
    server = await startRedisServer();
    const redis = client(server.url);
    const bus = createRedisBus({ redis, prefix: 'slow', publishTimeoutMs: 200 });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;
    const admin = client(server.url);
    // Redis holds every write (scripts included) until told: the publish cannot be answered.
    await admin.client('PAUSE', 60_000, 'WRITE');
    const event = makeCallEvent();
    // The second one waits behind the first (one script call per tenant at a time).
    const queued = makeCallEvent();
    const errors = await Promise.all(
      [event, queued].map((sent) => bus.publish(sent).catch((caught: unknown) => caught)),
    );
    for (const error of errors) {
      expect(BusUnavailableError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/no answer within 200 ms.*may or may not/);
    }
    await admin.client('UNPAUSE');
    // The first reached Redis and was published once the pause ended: its retry is recognised,
    // nobody gets it twice. The second never left the process: its retry publishes it.
    expect((await bus.publish(event)).duplicate).toBe(true);
    expect((await bus.publish(queued)).duplicate).toBe(false);
    const marker = makeCallEvent();
    await bus.publish(marker);
    expect(eventIds(await take(subscription, 3))).toEqual([event.id, queued.id, marker.id]);
    await bus.close();
  });

  it('lets go of every publish it gave up on while it waited behind a call Redis does not answer', async () => {
    server = await startRedisServer();
    const redis = client(server.url);
    const bus = createRedisBus({ redis, prefix: 'stall', publishTimeoutMs: 100 });
    await bus.publish(makeCallEvent());
    const admin = client(server.url);
    await admin.client('PAUSE', 60_000, 'WRITE');
    // Only the outcome is kept: an error's stack trace keeps the functions it went through (and
    // what they hold) until it is read.
    const unavailable = (outcome: unknown): boolean => BusUnavailableError.isInstance(outcome);
    // Sent, and held by the connection until Redis answers: this one stays in memory.
    const stuck = bus.publish(makeCallEvent()).then(unavailable, unavailable);
    // These wait behind it for their turn; each gets BusUnavailableError at its deadline.
    const given: WeakRef<object>[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => {
        // Sealed: the bus keeps this very object while the publish waits.
        const event = sealCallEvent(makeCallEvent({ data: { blob: 'x'.repeat(10_000) } }));
        given.push(new WeakRef(event));
        return bus.publish(event).then(unavailable, unavailable);
      }),
    );
    expect(outcomes).toEqual(Array(20).fill(true));
    expect(await stuck).toBe(true);
    expect(redis.status).toBe('ready');
    // A WeakRef keeps its target until the task that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    // They will never be sent ("an event whose deadline passed while waiting is not sent"), so
    // nothing may keep them, or a Redis that hangs grows the process by every publish.
    expect(given.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    await admin.client('UNPAUSE');
    await bus.close();
  });

  it('refuses a publish at once while a client that was ready connects again (connecting)', async () => {
    server = await startRedisServer();
    const redisServer = server;
    // ioredis defaults: each reconnect attempt passes through `connecting` (up to
    // `connectTimeout` where packets are dropped) and `connect`; a publish sent then would wait in
    // the offline queue for as long as `publishTimeoutMs`, or be published once Redis is back.
    const redis = new Redis(redisServer.url);
    redis.on('error', () => {});
    clients.push(redis);
    const bus = createRedisBus({ redis, prefix: 'connecting', publishTimeoutMs: 15_000 });
    await bus.publish(makeCallEvent());
    await redisServer.kill();
    const sent = await new Promise<Promise<unknown>>((resolve) =>
      redis.once('connecting', () => {
        expect(redis.status).toBe('connecting');
        resolve(
          bus.publish(makeCallEvent()).then(
            () => 'published once Redis was back',
            (error: unknown) => error,
          ),
        );
      }),
    );
    await redisServer.restart();
    const outcome = await sent;
    expect(BusUnavailableError.isInstance(outcome), String(outcome)).toBe(true);
    expect((outcome as Error).message).toMatch(
      /connection is connecting\. The event was not published/,
    );
    await bus.close();
  }, 30_000);

  it('answers a publish on a client that has ended with a 500 that says so, not a 503 to retry', async () => {
    server = await startRedisServer();
    const redis = client(server.url);
    const bus = createRedisBus({ redis, prefix: 'ended' });
    await bus.publish(makeCallEvent());
    const ended = nextEvent(redis, 'end');
    redis.disconnect();
    await ended;
    const error = await bus.publish(makeCallEvent()).catch((caught: unknown) => caught);
    expect(BusUnavailableError.isInstance(error)).toBe(false);
    expect(error).toMatchObject({ code: 'redis_client_closed', status: 500 });
    expect((error as Error).message).toMatch(/^The Redis client is closed and will not reconnect/);
    await bus.close();
  });

  it('reports an outage of its subscriber connection once when it starts and once when it ends, not per attempt', async () => {
    server = await startRedisServer();
    const redis = client(server.url);
    const errors: Error[] = [];
    const bus = createRedisBus({ redis, prefix: 'noisy', onError: (error) => errors.push(error) });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;
    const before = makeCallEvent();
    await bus.publish(before);
    expect(eventIds(await take(subscription, 1))).toEqual([before.id]);

    const closed = nextEvent(redis, 'close');
    await server.kill();
    await closed;
    // The subscriber connection (a duplicate: the same 50 ms retry) fails as often as this one.
    let attempts = 0;
    await new Promise<void>((resolve) => {
      const counted = () => {
        attempts += 1;
        if (attempts < 20) return;
        redis.off('error', counted);
        resolve();
      };
      redis.on('error', counted);
    });
    const ready = nextEvent(redis, 'ready');
    await server.restart();
    await ready;
    expect(await take(subscription, 1)).toEqual([
      { type: 'reset', recovered: false, reason: 'stream-reset' },
    ]);
    const after = makeCallEvent();
    await bus.publish(after);
    expect(eventIds(await take(subscription, 1))).toEqual([after.id]);

    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(/ECONNREFUSED/),
      expect.stringMatching(
        /^The Redis bus.s subscriber connection to .* is back after [\d.]+ s and \d+ connection errors/,
      ),
    ]);
    await bus.close();
  });

  it('reports the history reads of a subscription started while Redis is down once, and once when they work again', async () => {
    server = await startRedisServer();
    const redis = client(server.url);
    const errors: Error[] = [];
    const bus = createRedisBus({ redis, prefix: 'reads', onError: (error) => errors.push(error) });
    // The tenant's channel is attached before the outage, so the next subscription starts by
    // reading history at once, on the app's client (one reconnect attempt per command).
    const first = bus.subscribe({ tenantId: 'tenant-a' });
    await first.ready;

    const closed = nextEvent(redis, 'close');
    await server.kill();
    await closed;
    const started = bus.subscribe({ tenantId: 'tenant-a' });
    // Its read is retried every 250 ms; 40 reconnect attempts of the client (50 ms) are 2 s.
    let attempts = 0;
    await new Promise<void>((resolve) => {
      const counted = () => {
        attempts += 1;
        if (attempts < 40) return;
        redis.off('error', counted);
        resolve();
      };
      redis.on('error', counted);
    });
    const duringOutage = errors.length;
    const ready = nextEvent(redis, 'ready');
    await server.restart();
    await ready;
    await started.ready;
    const after = makeCallEvent();
    await bus.publish(after);
    expect(eventIds(await take(started, 1))).toEqual([after.id]);

    const messages = errors.map((error) => error.message);
    const back = messages.filter((message) => /history reads .*work again/.test(message));
    const connection = messages.filter((message) =>
      /ECONNREFUSED|subscriber connection .* is back/.test(message),
    );
    // The first failed read, as ioredis gave it; then nothing per retry; then one "back".
    expect(duringOutage).toBe(2); // the subscriber connection's first error and the first read's
    expect(messages.length - connection.length).toBe(2);
    expect(back).toEqual([
      expect.stringMatching(
        /^The Redis bus's history reads work again after [\d.]+ s and ([3-9]|\d\d+) failed reads \(only the first was reported\)\.$/,
      ),
    ]);
    await bus.close();
  });

  it('reports the reads of subscriptions that each end while Redis is down once, and once when they work again', async () => {
    server = await startRedisServer();
    const redis = client(server.url);
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis,
      prefix: 'reads-ended',
      onError: (error) => errors.push(error),
    });
    const kept = bus.subscribe({ tenantId: 'tenant-a' });
    await kept.ready;

    const closed = nextEvent(redis, 'close');
    await server.kill();
    await closed;
    // An SSE client answered 503 that retries: each subscription fails its reads, then ends.
    for (let client = 0; client < 4; client += 1) {
      const retried = bus.subscribe({ tenantId: 'tenant-a' });
      await reconnectAttempts(redis, 14); // 0.7 s at the client's 50 ms: about 3 failed reads
      await retried.close();
      await reconnectAttempts(redis, 8); // it waits before retrying (SSE: Retry-After)
    }
    const ready = nextEvent(redis, 'ready');
    await server.restart();
    await ready;
    const after = makeCallEvent({ tenantId: 'tenant-a' });
    await bus.publish(after);
    expect(eventIds(await take(kept, 1))).toEqual([after.id]);
    // The kept subscription catches up on the reconnect (a read that works): that read may come
    // after the live message above was delivered.
    for (let waited = 0; !errors.some((error) => /work again/.test(error.message)); waited += 10) {
      if (waited > 5_000) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }

    const reads = errors
      .map((error) => error.message)
      .filter((message) => !/ECONNREFUSED|subscriber connection .* is back/.test(message));
    expect(reads).toEqual([
      expect.not.stringMatching(/work again/),
      expect.stringMatching(
        /^The Redis bus's history reads work again after [\d.]+ s and \d+ failed reads \(only the first was reported\)\.$/,
      ),
    ]);
    await bus.close();
  }, 15_000);

  it('survives Redis being killed and restarted: publish rejects while down, subscribers reset and go on', async () => {
    server = await startRedisServer();
    const redis = client(server.url);
    const errors: Error[] = [];
    const bus = createRedisBus({
      redis,
      prefix: 'restart',
      publishTimeoutMs: 1000,
      onError: (error) => errors.push(error),
    });
    const subscription = bus.subscribe({ tenantId: 'tenant-a' });
    const everyone = bus.subscribe({ allTenants: true });
    await Promise.all([subscription.ready, everyone.ready]);
    const first = Array.from({ length: 10 }, () => makeCallEvent());
    for (const event of first) await bus.publish(event);
    expect(eventIds(await take(subscription, 10))).toEqual(first.map((event) => event.id));
    expect(eventIds(await take(everyone, 10))).toEqual(first.map((event) => event.id));

    const closed = nextEvent(redis, 'close');
    await server.kill();
    await closed;
    const whileDown = makeCallEvent();
    const error = await bus.publish(whileDown).catch((caught: unknown) => caught);
    expect(BusUnavailableError.isInstance(error)).toBe(true);
    expect((error as BusUnavailableError).status).toBe(503);
    expect((error as Error).message).toMatch(/not published|may or may not/);

    const ready = nextEvent(redis, 'ready');
    await server.restart();
    await ready;

    // The restarted Redis kept nothing: the stream is new, so the subscriber is told to reload.
    expect(await take(subscription, 1)).toEqual([
      { type: 'reset', recovered: false, reason: 'stream-reset' },
    ]);
    const after = Array.from({ length: 10 }, () => makeCallEvent());
    for (const event of after) await bus.publish(event);
    expect(eventIds(await take(subscription, 10))).toEqual(after.map((event) => event.id));
    // An all-tenants subscription cannot catch up per tenant: it is told it was disconnected.
    const [signal, ...rest] = await take(everyone, 11);
    expect(signal).toEqual({ type: 'reset', recovered: false, reason: 'reconnected' });
    expect(eventIds(rest)).toEqual(after.map((event) => event.id));

    // The event that failed while Redis was down can simply be published again.
    await expect(bus.publish(whileDown)).resolves.toMatchObject({ duplicate: false });
    await bus.close();
  });
  it('keeps its subscriber connection through an outage that outlasts the retryStrategy of the client it duplicated', async () => {
    server = await startRedisServer();
    // The user's client gives up after five attempts; the bus's subscriber connection must not.
    const givingUp = new Redis(server.url, {
      retryStrategy: (times) => (times > 5 ? null : 50),
      maxRetriesPerRequest: 1,
    });
    givingUp.on('error', () => {});
    clients.push(givingUp);
    const subscriberBus = createRedisBus({ redis: givingUp, prefix: 'giving-up' });
    const publisherRedis = client(server.url);
    const publisher = createRedisBus({ redis: publisherRedis, prefix: 'giving-up' });
    const subscription = subscriberBus.subscribe({ tenantId: 'tenant-a' });
    await subscription.ready;

    const ended = nextEvent(givingUp, 'end');
    await server.kill();
    await ended;
    await server.restart();
    // History reads go through the user's client: they work again once its owner connects it.
    await givingUp.connect();
    if (publisherRedis.status !== 'ready') await nextEvent(publisherRedis, 'ready');
    const later = makeCallEvent();
    await publisher.publish(later);

    // A restarted, empty Redis may cost a reset first; then the event comes, from history or live.
    const iterator = subscription[Symbol.asyncIterator]();
    const received: BusMessage[] = [];
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      received.push(next.value);
      if (next.value.type !== 'reset') break;
    }
    expect(received.at(-1)).toMatchObject({ type: 'event', event: { id: later.id } });
    await iterator.return?.();
    await subscriberBus.close();
    await publisher.close();
  }, 10_000);
  it('sends nothing for subscriptions opened and closed while Redis is down, once it is back', async () => {
    server = await startRedisServer();
    // The (un)subscribe commands the bus's subscriber connection sends, with their channels.
    const sent: string[] = [];
    class CountingRedis extends Redis {
      override duplicate(override?: Partial<RedisOptions>): Redis {
        const connection = super.duplicate(override);
        const send = connection.sendCommand.bind(connection);
        connection.sendCommand = (command, stream) => {
          if (/subscribe/.test(command.name))
            sent.push(`${command.name} ${command.args.join(' ')}`);
          return send(command, stream);
        };
        return connection;
      }
    }
    const redis = new CountingRedis(server.url, {
      retryStrategy: () => 50,
      maxRetriesPerRequest: 1,
    });
    redis.on('error', () => {});
    clients.push(redis);
    const bus = createRedisBus({ redis, prefix: 'churn', pubsub: 'classic' });
    const kept = bus.subscribe({ tenantId: 'tenant-kept' });
    // Attached before the outage, left during it, then subscribed to again and again.
    const cycled = bus.subscribe({ tenantId: 'tenant-cycled' });
    await Promise.all([kept.ready, cycled.ready]);
    const closed = nextEvent(redis, 'close');
    await server.kill();
    await closed;
    await cycled.close();
    // Clients come and go while Redis is down (a stream retrying with its cursor, say).
    for (let index = 0; index < 1000; index += 1) {
      const passing = bus.subscribe({ tenantId: `tenant-${index}` });
      const again = bus.subscribe({ tenantId: 'tenant-cycled' });
      await new Promise((resolve) => setImmediate(resolve));
      await passing.close();
      await again.close();
    }
    sent.length = 0;
    await server.restart();
    // Held commands go out in order: once a later subscription is attached, all of them went.
    const later = bus.subscribe({ tenantId: 'tenant-later' });
    await later.ready;
    expect(sent.filter((line) => /\{tenant-\d+\}/.test(line))).toEqual([]);
    // ioredis subscribes again what it had; the one left during the outage is left once.
    expect(sent.filter((line) => line.startsWith('unsubscribe'))).toEqual([
      'unsubscribe churn:{tenant-cycled}:events',
    ]);
    expect(sent).toContain('subscribe churn:{tenant-later}:events');
    const admin = client(server.url);
    expect(
      await admin.pubsub('NUMSUB', 'churn:{tenant-kept}:events', 'churn:{tenant-cycled}:events'),
    ).toEqual(['churn:{tenant-kept}:events', 1, 'churn:{tenant-cycled}:events', 0]);
    await bus.close();
  });
});

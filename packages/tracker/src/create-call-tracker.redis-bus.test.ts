// The tracker on a Redis store with a Redis bus of the same deployment: each event is applied
// and published by one script (decision 0030). Compared with the two-step path (apply, publish,
// confirm) that any other bus gets: the same events reach subscribers, with the same snapshots.
import { createRedisBus, type RedisBusOptions } from '@calltrack/bus/redis';
import { type CallEvent, toErrorResponse } from '@calltrack/core';
import { redisBusIngestOf } from '@calltrack/redis-script';
import {
  connectTestRedis,
  deleteKeys,
  startOwnRedisServer,
  stopOwnRedisServer,
  testRedisUrl,
  uniquePrefix,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readBus } from './__tests__/bus-reader';
import type { CallTrackerOptions } from './call-tracker';
import { createCallTracker } from './create-call-tracker';
import { createRedisCallStore } from './create-redis-call-store';
import { callLifecycle, t0 } from './make-call-event';
import { applyTransitionScript } from './redis-apply-transition-script';
import { markPublishedScript } from './redis-call-store-scripts';
import { defineRedisIngestFunction } from './redis-ingest-script';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('tracker-one-step');
const minute = 60_000;
const hour = 60 * minute;

interface SentCommand {
  name: string;
  /** Replies received on the client before this command was written. */
  repliesBefore: number;
}

/** Records what `client` sends, naming the scripts (by SHA-1) and functions (by name) it knows. */
function recordCommands(client: Redis, scripts: Record<string, string>): SentCommand[] {
  const sent: SentCommand[] = [];
  let replies = 0;
  const names = new Map(Object.entries(scripts).map(([name, sha]) => [sha, name]));
  const sendCommand = client.sendCommand.bind(client);
  client.sendCommand = ((command, stream) => {
    const name =
      command.name === 'evalsha' || command.name === 'fcall'
        ? (names.get(String(command.args[0])) ?? command.name)
        : command.name;
    sent.push({ name, repliesBefore: replies });
    const settled = () => {
      replies += 1;
    };
    command.promise.then(settled, settled);
    return sendCommand(command, stream);
  }) as Redis['sendCommand'];
  return sent;
}

const clients: Redis[] = [];
const duplicate = (options: { db?: number } = {}): Redis => {
  const client = new Redis(testRedisUrl, { ...options, lazyConnect: false });
  clients.push(client);
  return client;
};
let counter = 0;
const prefixes = () => {
  counter += 1;
  return { store: `${filePrefix}:s${counter}`, bus: `${filePrefix}:b${counter}` };
};

/**
 * The ingest function of a bus, loaded (with the store's other scripts), so a first-use load
 * does not count; returns its name.
 */
async function loadIngestFunction(client: Redis, bus: object): Promise<string> {
  const functions = await redisBusIngestOf(bus)!.publishFunctions();
  const ingest = defineRedisIngestFunction(functions);
  await client.call('FUNCTION', 'LOAD', 'REPLACE', ingest.library);
  await client.script('LOAD', applyTransitionScript.source);
  await client.script('LOAD', markPublishedScript.source);
  return ingest.name;
}

function tracker(options: Partial<CallTrackerOptions> & Pick<CallTrackerOptions, 'bus'>) {
  const clock = { now: t0 };
  const created = createCallTracker({ clock: { now: () => clock.now }, logger: {}, ...options });
  return { tracker: created, clock };
}

/** A bus that hides what it is: the tracker publishes to it after the apply, as to any sink. */
function plainSink(
  bus: ReturnType<typeof createRedisBus>,
  failWhen?: (event: CallEvent) => boolean,
) {
  return {
    publish: async (event: CallEvent) => {
      if (failWhen?.(event)) throw new Error('The bus is down (test).');
      return bus.publish(event);
    },
  };
}

describe.skipIf(!redis)('createCallTracker with a Redis store and a Redis bus', () => {
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, filePrefix);
    const other = new Redis(testRedisUrl, { db: 1 });
    await deleteKeys(other, filePrefix);
    other.disconnect();
    redis.disconnect();
  });

  it('applies and publishes each event with one script: one round trip, no confirmation', async () => {
    const client = duplicate();
    const names = prefixes();
    const bus = createRedisBus({ redis: client, prefix: names.bus });
    const ingestName = await loadIngestFunction(client, bus);
    const reader = readBus(bus, 'tenant-a');
    await reader.ready;
    const { tracker: oneStep, clock } = tracker({
      bus,
      store: createRedisCallStore({ redis: client, prefix: names.store }),
    });
    const sent = recordCommands(client, {
      ingest: ingestName,
      apply: applyTransitionScript.sha,
      confirm: markPublishedScript.sha,
    });
    const events = callLifecycle({ callId: 'CA-one', branchId: 'north' });
    const results = [];
    for (const [index, event] of events.entries()) {
      clock.now = t0 + index * 1000;
      const before = sent.length;
      results.push(await oneStep.ingest(event));
      await client.ping();
      const commands = sent.splice(before).filter((command) => command.name !== 'ping');
      // The tenant's first event registers it for the reaper, written with the script.
      expect(commands.map((command) => command.name)).toEqual(
        index === 0 ? ['sadd', 'ingest'] : ['ingest'],
      );
      expect(new Set(commands.map((command) => command.repliesBefore)).size).toBe(1);
    }
    expect(results.map((result) => [result.outcome, result.published, result.duplicate])).toEqual([
      ['changed', true, false],
      ['changed', true, false],
      ['changed', true, false],
      ['ended', true, false],
      ['enriched', true, false],
      ['enriched', true, false],
    ]);
    // Nothing is published twice, and nothing confirmed later.
    expect(await oneStep.ingest(events[3]!)).toMatchObject({
      outcome: 'duplicate',
      published: false,
    });
    await oneStep.stop();
    sent.length = 0;
    await client.ping();
    expect(sent.map((command) => command.name)).toEqual(['ping']);

    const published = await reader.drain();
    expect(published.map((event) => event.id)).toEqual(events.map((event) => event.id));
    for (const [index, event] of published.entries()) {
      expect(event).toEqual({
        ...events[index],
        data: { ...events[index]!.data, call: results[index]!.call },
      });
    }
    await reader.close();
    await bus.close();
  });

  it("runs the step once more, with the call's own branch keys, for an event that names another branch: published once, indexed under the call's branch", async () => {
    const client = duplicate();
    const names = prefixes();
    const bus = createRedisBus({ redis: client, prefix: names.bus });
    const ingestName = await loadIngestFunction(client, bus);
    const reader = readBus(bus, 'tenant-a');
    await reader.ready;
    const store = createRedisCallStore({
      redis: client,
      prefix: names.store,
      // Declaring every key is a Cluster client's default; asked for here on a plain one.
      declareKeys: true,
    });
    const { tracker: oneStep, clock } = tracker({ bus, store });
    const sent = recordCommands(client, { ingest: ingestName });
    const north = callLifecycle({ callId: 'CA-branch', branchId: 'north' });
    const south = callLifecycle({ callId: 'CA-branch', branchId: 'south' });
    const events = [north[0]!, north[2]!, south[3]!];
    const steps: number[] = [];
    for (const [index, event] of events.entries()) {
      clock.now = t0 + index * 1000;
      const before = sent.length;
      expect(await oneStep.ingest(event)).toMatchObject({ published: true, duplicate: false });
      steps.push(sent.slice(before).filter((command) => command.name === 'ingest').length);
    }
    // The first run of the end wrote nothing: it named north's keys, which the second declared.
    expect(steps).toEqual([1, 1, 2]);
    expect(await store.countActiveCalls('tenant-a')).toEqual({ total: 0, byBranch: {} });
    const ended = await store.listEndedCalls('tenant-a', {
      branchId: 'north',
      limit: 10,
      now: t0 + 3000,
    });
    expect(ended.map((call) => call.callId)).toEqual(['CA-branch']);
    const published = await reader.drain();
    expect(published.map((event) => event.id)).toEqual(events.map((event) => event.id));
    expect(published[2]!.data.call).toMatchObject({
      branchId: 'north',
      status: 'completed',
      version: 3,
    });
    await oneStep.stop();
    await reader.close();
    await bus.close();
  });

  it('ingests in one step where Functions are refused, with the same code as a script (on a server of its own)', async () => {
    const own = await startOwnRedisServer();
    const { server, admin } = own;
    if (!server || !admin) return;
    try {
      await admin.call('ACL', 'SETUSER', 'nofcall', 'on', '>secret', '~*', '&*', '+@all', '-fcall');
      const client = new Redis(server.url, { username: 'nofcall', password: 'secret' });
      clients.push(client);
      const bus = createRedisBus({ redis: client, prefix: 'bus' });
      const reader = readBus(bus, 'tenant-a');
      await reader.ready;
      const { tracker: oneStep, clock } = tracker({
        bus,
        store: createRedisCallStore({ redis: client, prefix: 'store' }),
      });
      const ingest = defineRedisIngestFunction(await redisBusIngestOf(bus)!.publishFunctions());
      const sent = recordCommands(client, { ingest: ingest.name, script: ingest.script.sha });
      const events = callLifecycle({ callId: 'CA-no-fcall' }).slice(0, 4);
      const results = [];
      for (const [index, event] of events.entries()) {
        clock.now = t0 + index * 1000;
        results.push(await oneStep.ingest(event));
      }
      expect(results.map((result) => result.outcome)).toEqual([
        'changed',
        'changed',
        'changed',
        'ended',
      ]);
      // One refused FCALL, then the script for good (its first run loads it: NOSCRIPT, EVAL).
      const steps = sent.map((command) => command.name).filter((name) => name !== 'sadd');
      expect(steps[0]).toBe('ingest');
      expect(steps.filter((name) => name === 'ingest')).toHaveLength(1);
      expect(steps.filter((name) => name === 'script')).toHaveLength(4);
      const published = await reader.drain();
      expect(published.map((event) => event.id)).toEqual(events.map((event) => event.id));
      expect(published.map((event) => event.data.call?.version)).toEqual([1, 2, 3, 4]);
      expect(await admin.call('FUNCTION', 'LIST')).toEqual([]);
      await reader.close();
      await bus.close();
    } finally {
      await stopOwnRedisServer(own);
    }
  });

  it('publishes what the two-step path publishes, snapshots included', async () => {
    const client = duplicate();
    const one = prefixes();
    const two = prefixes();
    const oneBus = createRedisBus({ redis: client, prefix: one.bus });
    const twoBus = createRedisBus({ redis: client, prefix: two.bus });
    const readers = [readBus(oneBus, 'tenant-a'), readBus(twoBus, 'tenant-a')];
    await Promise.all(readers.map((reader) => reader.ready));
    const oneStep = tracker({
      bus: oneBus,
      store: createRedisCallStore({ redis: client, prefix: one.store }),
    });
    const twoStep = tracker({
      bus: plainSink(twoBus),
      store: createRedisCallStore({ redis: client, prefix: two.store }),
    });
    const events = [
      ...callLifecycle({ callId: 'CA-same-1', branchId: 'north', agentId: 'agent-1' }),
      ...callLifecycle({ callId: 'CA-same-2', endStatus: 'busy', from: 'sip:"quoted"\\user' }),
    ];
    // Out of order, with repeats and a late status: the outcomes differ per event, not per path.
    const delivered = [
      events[2]!,
      events[0]!,
      events[2]!,
      events[1]!,
      ...events.slice(3),
      events[9]!,
    ];
    for (const [index, event] of delivered.entries()) {
      oneStep.clock.now = twoStep.clock.now = t0 + index * 1000;
      const [a, b] = await Promise.all([
        oneStep.tracker.ingest(event),
        twoStep.tracker.ingest(event),
      ]);
      expect(a).toEqual(b);
    }
    await twoStep.tracker.stop();
    const [onePublished, twoPublished] = await Promise.all(readers.map((reader) => reader.drain()));
    expect(onePublished!.length).toBeGreaterThan(8);
    expect(onePublished).toEqual(twoPublished);
    await Promise.all(readers.map((reader) => reader.close()));
    await oneBus.close();
    await twoBus.close();
  });

  it('finds a bus on another client of the same Redis; one on another database is published to after the apply', async () => {
    const storeClient = duplicate();
    const names = prefixes();
    const sameBus = createRedisBus({ redis: duplicate(), prefix: names.bus });
    const otherBus = createRedisBus({ redis: duplicate({ db: 1 }), prefix: names.bus });
    const ingestName = await loadIngestFunction(storeClient, sameBus);
    const store = createRedisCallStore({ redis: storeClient, prefix: names.store });
    const sent = recordCommands(storeClient, {
      ingest: ingestName,
      apply: applyTransitionScript.sha,
      confirm: markPublishedScript.sha,
    });
    const [queued, ringing] = callLifecycle({ callId: 'CA-where' });
    const same = tracker({ bus: sameBus, store });
    await same.tracker.ingest(queued!);
    // Asked once: a key written by the store's client, read by the bus's.
    expect(sent.map((command) => command.name)).toEqual(['set', 'del', 'sadd', 'ingest']);
    sent.length = 0;
    await same.tracker.ingest(ringing!);
    expect(sent.map((command) => command.name)).toEqual(['ingest']);

    const other = tracker({ bus: otherBus, store });
    sent.length = 0;
    const [, , answered] = callLifecycle({ callId: 'CA-where' });
    expect(await other.tracker.ingest(answered!)).toMatchObject({
      outcome: 'changed',
      published: true,
    });
    await other.tracker.stop();
    expect(sent.map((command) => command.name)).toEqual(['set', 'del', 'apply', 'confirm']);
    const reader = readBus(otherBus, 'tenant-a');
    await reader.ready;
    expect(await reader.drain()).toEqual([]);
    await reader.close();
    await sameBus.close();
    await otherBus.close();
  });

  it('keeps no lease and no outbox: events are done at once, and maintenance has nothing to publish', async () => {
    const client = duplicate();
    const names = prefixes();
    const bus = createRedisBus({ redis: client, prefix: names.bus });
    const { tracker: oneStep } = tracker({
      bus,
      store: createRedisCallStore({ redis: client, prefix: names.store }),
    });
    const events = callLifecycle({ callId: 'CA-done' });
    for (const event of events) await oneStep.ingest(event);
    await oneStep.ingest({ ...events[1]!, id: 'twilio:CA-done:ringing-late' });
    const hash = await client.hgetall(`${names.store}:{tenant-a}:call:CA-done`);
    const marks = Object.fromEntries(
      Object.entries(hash).filter(([field]) => field.startsWith('e:')),
    );
    expect(marks).toEqual({
      ...Object.fromEntries(events.map((event) => [`e:${event.id}`, 'd'])),
      'e:twilio:CA-done:ringing-late': 'i',
    });
    expect(hash).not.toHaveProperty('endEvent');
    expect(await client.zcard(`${names.store}:{tenant-a}:outbox`)).toBe(0);
    expect(await oneStep.runMaintenance(t0 + 10 * minute)).toEqual({
      reaped: 0,
      republished: 0,
      alerts: 0,
    });
    await bus.close();
  });

  it('publishes, once, an end the two-step path could not, and empties the outbox', async () => {
    const client = duplicate();
    const names = prefixes();
    const bus = createRedisBus({ redis: client, prefix: names.bus });
    const reader = readBus(bus, 'tenant-a');
    await reader.ready;
    const store = createRedisCallStore({ redis: client, prefix: names.store });
    const [queued, , , ended] = callLifecycle({ callId: 'CA-takeover' });
    // An earlier process published through another bus object, whose end failed.
    const twoStep = tracker({
      bus: plainSink(bus, (event) => event.type === 'call.ended'),
      store,
    });
    await twoStep.tracker.ingest(queued!);
    await expect(twoStep.tracker.ingest(ended!)).rejects.toThrowError(/bus is down/);
    await twoStep.tracker.stop();
    expect(await client.zcard(`${names.store}:{tenant-a}:outbox`)).toBe(1);

    const oneStep = tracker({ bus, store });
    oneStep.clock.now = t0 + 1000;
    expect(await oneStep.tracker.ingest(ended!)).toMatchObject({
      outcome: 'unpublished',
      published: true,
    });
    expect(await client.zcard(`${names.store}:{tenant-a}:outbox`)).toBe(0);
    expect(await client.hexists(`${names.store}:{tenant-a}:call:CA-takeover`, 'endEvent')).toBe(0);
    expect(await oneStep.tracker.ingest(ended!)).toMatchObject({ outcome: 'duplicate' });
    expect(await oneStep.tracker.runMaintenance(t0 + hour)).toMatchObject({ republished: 0 });
    const published = await reader.drain();
    expect(published.map((event) => event.type)).toEqual(['call.initiated', 'call.ended']);
    expect(published[1]!.data.call).toMatchObject({ status: 'completed', active: false });
    await reader.close();
    await bus.close();
  });

  it('answers a retry after a lost reply as a duplicate: the event was published once, by the script', async () => {
    const client = duplicate();
    const names = prefixes();
    const bus = createRedisBus({ redis: client, prefix: names.bus });
    const reader = readBus(bus, 'tenant-a');
    await reader.ready;
    const { tracker: oneStep } = tracker({
      bus,
      store: createRedisCallStore({ redis: client, prefix: names.store }),
    });
    const [queued, , , ended] = callLifecycle({ callId: 'CA-lost' });
    await oneStep.ingest(queued!);
    // The ingest function runs, then the connection drops before its reply is read.
    const fcall = client.fcall.bind(client);
    let loseNext = true;
    client.fcall = (async (...args: Parameters<Redis['fcall']>) => {
      const reply = await fcall(...args);
      if (loseNext) {
        loseNext = false;
        throw new Error('Connection is closed.');
      }
      return reply;
    }) as Redis['fcall'];
    await expect(oneStep.ingest(ended!)).rejects.toThrowError(/closed/);
    expect(await oneStep.ingest(ended!)).toMatchObject({ outcome: 'duplicate', published: false });
    const published = await reader.drain();
    expect(published.map((event) => event.id)).toEqual([queued!.id, ended!.id]);
    await reader.close();
    await bus.close();
  });

  it("leaves an event unpublished when the bus's part fails (503), and its retry publishes it", async () => {
    const client = duplicate();
    const names = prefixes();
    const bus = createRedisBus({ redis: client, prefix: names.bus });
    const reader = readBus(bus, 'tenant-a');
    await reader.ready;
    const { tracker: oneStep, clock } = tracker({
      bus,
      store: createRedisCallStore({ redis: client, prefix: names.store }),
    });
    const [queued, ringing] = callLifecycle({ callId: 'CA-seam' });
    await oneStep.ingest(queued!);
    // The id generation before the current one, which the bus reads first: of the wrong type,
    // so the bus stops the publish (CALLTRACK_UNAVAILABLE) after the call was written.
    const brokenKey = `${names.bus}:{tenant-a}:ids:1`;
    await client.set(brokenKey, 'not a hash');
    clock.now = t0 + 1000;
    const failure = await oneStep.ingest(ringing!).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ code: 'bus_unavailable', status: 503 });
    expect(String((failure as Error).message)).toMatch(/WRONGTYPE/);
    expect(toErrorResponse(failure).status).toBe(503);
    expect(await oneStep.getCall('tenant-a', 'CA-seam')).toMatchObject({ status: 'ringing' });

    await client.del(brokenKey);
    clock.now = t0 + 2000;
    expect(await oneStep.ingest(ringing!)).toMatchObject({
      outcome: 'unpublished',
      published: true,
      call: { status: 'ringing' },
    });
    expect(await oneStep.ingest(ringing!)).toMatchObject({
      outcome: 'duplicate',
      published: false,
    });
    const published = await reader.drain();
    expect(published.map((event) => event.id)).toEqual([queued!.id, ringing!.id]);
    expect(published[1]!.data.call).toMatchObject({ status: 'ringing', active: true });
    const entries = await client.xrange(`${names.bus}:{tenant-a}:stream`, '-', '+');
    expect(entries.map(([, fields]) => fields[fields.indexOf('i') + 1])).toContain(ringing!.id);
    await reader.close();
    await bus.close();
  });

  it("keeps an end whose publish failed in the bus's part for a retry and for the outbox: published once", async () => {
    const client = duplicate();
    const names = prefixes();
    const bus = createRedisBus({ redis: client, prefix: names.bus });
    const store = createRedisCallStore({ redis: client, prefix: names.store });
    const { tracker: oneStep, clock } = tracker({ bus, store });
    const meta = `${names.bus}:{tenant-a}:meta`;
    const outbox = `${names.store}:{tenant-a}:outbox`;
    const retried = callLifecycle({ callId: 'CA-end-retried' });
    const reaped = callLifecycle({ callId: 'CA-end-maintained' });
    await oneStep.ingest(retried[0]!);
    await oneStep.ingest(reaped[0]!);
    // The tenant's meta key of the wrong type: the bus's first read fails (not its own refusal).
    await client.del(meta);
    await client.set(meta, 'not a hash');
    clock.now = t0 + 1000;
    for (const ended of [retried[3]!, reaped[3]!]) {
      await expect(oneStep.ingest(ended)).rejects.toMatchObject({
        code: 'bus_unavailable',
        status: 503,
        message: expect.stringMatching(/WRONGTYPE/),
      });
    }
    expect(await oneStep.getCall('tenant-a', 'CA-end-retried')).toMatchObject({
      status: 'completed',
    });
    expect(await client.zrange(outbox, 0, -1)).toEqual(['CA-end-maintained', 'CA-end-retried']);

    await client.del(meta);
    const reader = readBus(bus, 'tenant-a');
    await reader.ready;
    clock.now = t0 + 2000;
    // Retried by the provider: published by the ingest, and out of the outbox.
    expect(await oneStep.ingest(retried[3]!)).toMatchObject({
      outcome: 'unpublished',
      published: true,
    });
    // Not retried: maintenance publishes it, once; a late retry is a duplicate.
    expect(await oneStep.runMaintenance(t0 + 3000)).toMatchObject({ republished: 1 });
    expect(await oneStep.ingest(reaped[3]!)).toMatchObject({ outcome: 'duplicate' });
    expect(await client.zcard(outbox)).toBe(0);
    expect(await oneStep.runMaintenance(t0 + hour)).toMatchObject({ republished: 0 });
    const published = await reader.drain();
    expect(published.map((event) => event.id)).toEqual([retried[3]!.id, reaped[3]!.id]);
    expect(published.map((event) => event.data.call)).toMatchObject([
      { callId: 'CA-end-retried', status: 'completed', active: false },
      { callId: 'CA-end-maintained', status: 'completed', active: false },
    ]);
    await oneStep.stop();
    await reader.close();
    await bus.close();
  });

  it('reaps a stale call once, with one script, and forwards other events through the bus', async () => {
    const client = duplicate();
    const names = prefixes();
    const bus = createRedisBus({ redis: client, prefix: names.bus });
    const reader = readBus(bus, 'tenant-a');
    await reader.ready;
    const store = createRedisCallStore({ redis: client, prefix: names.store });
    const first = tracker({ bus, store });
    const second = tracker({ bus, store });
    await first.tracker.ingest(callLifecycle({ callId: 'CA-stale' })[0]!);
    const [a, b] = await Promise.all([
      first.tracker.reapStaleCalls(t0 + 2 * hour),
      second.tracker.reapStaleCalls(t0 + 2 * hour),
    ]);
    expect([...a, ...b]).toHaveLength(1);
    const alert = {
      id: 'alert:1',
      type: 'alert.long_call',
      tenantId: 'tenant-a',
      provider: 'calltrack',
      callId: 'CA-stale',
      occurredAt: new Date(t0).toISOString(),
      receivedAt: new Date(t0).toISOString(),
      data: {},
    };
    expect(await first.tracker.ingest(alert)).toEqual({
      outcome: 'forwarded',
      duplicate: false,
      published: true,
    });
    const published = await reader.drain();
    expect(published.map((event) => [event.type, event.data.reason])).toEqual([
      ['call.initiated', undefined],
      ['call.ended', 'stale'],
      ['alert.long_call', undefined],
    ]);
    expect(await client.zcard(`${names.store}:{tenant-a}:outbox`)).toBe(0);
    await reader.close();
    await bus.close();
  });

  it('publishes with the bus settings written into the script: its history limit holds', async () => {
    const client = duplicate();
    const names = prefixes();
    const options: RedisBusOptions = {
      redis: client,
      prefix: names.bus,
      history: { maxEvents: 3 },
    };
    const bus = createRedisBus(options);
    const live = bus.subscribe({ tenantId: 'tenant-a' });
    await live.ready;
    const { tracker: oneStep } = tracker({
      bus,
      store: createRedisCallStore({ redis: client, prefix: names.store }),
    });
    const events = callLifecycle({ callId: 'CA-limit' });
    for (const event of events) await oneStep.ingest(event);
    const cursors: string[] = [];
    for (const _ of events) {
      const { value } = await live.next();
      if (value?.type !== 'event') throw new Error('expected an event');
      cursors.push(value.cursor);
    }
    await live.return?.();
    // Five events after the first one: more than the bus keeps.
    const tooOld = bus.subscribe({ tenantId: 'tenant-a', after: cursors[0] });
    expect((await tooOld.next()).value).toEqual({
      type: 'reset',
      recovered: false,
      reason: 'history-gap',
    });
    await tooOld.return?.();
    const recent = bus.subscribe({ tenantId: 'tenant-a', after: cursors[3] });
    const resumed = [(await recent.next()).value, (await recent.next()).value];
    expect(resumed.map((message) => message?.type === 'event' && message.event.id)).toEqual([
      events[4]!.id,
      events[5]!.id,
    ]);
    await recent.return?.();
    await bus.close();
  });

  it('applies each tracker its own settings, where trackers of different settings share one ingest function', async () => {
    const client = duplicate();
    const names = prefixes();
    const bus = createRedisBus({ redis: client, prefix: names.bus });
    const store = createRedisCallStore({ redis: client, prefix: names.store });
    // The library reads a settings text once and keeps it: the two alternate on one function.
    const retentions = [2 * hour, 5 * hour];
    const trackers = retentions.map(
      (endedCallRetentionMs) => tracker({ bus, store, endedCallRetentionMs }).tracker,
    );
    for (const round of [0, 1]) {
      for (const [index, oneStep] of trackers.entries()) {
        for (const event of callLifecycle({ callId: `CA-settings-${round}-${index}` })) {
          await oneStep.ingest(event);
        }
      }
    }
    for (const round of [0, 1]) {
      for (const [index, retention] of retentions.entries()) {
        const ttl = await client.pttl(
          `${names.store}:{tenant-a}:call:CA-settings-${round}-${index}`,
        );
        expect(ttl).toBeGreaterThan(retention - minute);
        expect(ttl).toBeLessThanOrEqual(retention);
      }
    }
    await bus.close();
  });
});

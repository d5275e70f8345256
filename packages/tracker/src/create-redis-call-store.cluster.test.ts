import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { createRedisBus } from '@calltrack/bus/redis';
import { isRedisUnavailableError } from '@calltrack/core/internal';
import { redisBusIngestOf } from '@calltrack/redis-script';
import {
  clockFrom,
  connectTestRedis,
  type RedisClusterProcess,
  startRedisCluster,
} from '@calltrack/test-utils';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readBus } from './__tests__/bus-reader';
import { createCallTracker } from './create-call-tracker';
import { createRedisCallStore } from './create-redis-call-store';
import { callLifecycle, t0, transitionOf } from './make-call-event';
import { defineRedisIngestFunction } from './redis-ingest-script';
import { describeCallStore } from './testing';

// The Redis call store on a three-master Redis Cluster this file starts itself (redis-server
// ≥ 7 is installed on the machine and in CI). The probe decides skip-or-fail like every Redis
// suite.
const probe = await connectTestRedis();
probe?.disconnect();
const available = probe !== undefined;

describe.skipIf(!available)('createRedisCallStore on a Redis Cluster', () => {
  let cluster: RedisClusterProcess;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(cluster.startupNodes);
    client.on('error', () => {});
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  let counter = 0;
  // Each store gets its own prefix on the cluster, which is thrown away with it.
  describeCallStore(
    { describe, it, afterEach },
    {
      name: 'redis cluster',
      createStore: async () => {
        counter += 1;
        return { store: createRedisCallStore({ redis: client, prefix: `store-${counter}` }) };
      },
    },
  );

  it('keeps the tenants of one store on several nodes, each tenant in one slot', async () => {
    const store = createRedisCallStore({ redis: client, prefix: 'spread' });
    // tenant-2, tenant-0 and tenant-1 hash into the first, second and third third of the slots.
    for (const tenantId of ['tenant-2', 'tenant-0', 'tenant-1']) {
      const [queued] = callLifecycle({ tenantId, callId: `CA-${tenantId}` });
      await store.apply(transitionOf(queued!, 0));
      expect(await store.countActiveCalls(tenantId)).toEqual({ total: 1, byBranch: {} });
      expect(
        (await store.listActiveCalls(tenantId, { limit: 10 })).map((call) => call.callId),
      ).toEqual([`CA-${tenantId}`]);
    }
    const owners = await Promise.all(
      ['tenant-2', 'tenant-0', 'tenant-1'].map(async (tenantId) =>
        cluster.ownerOf(Number(await client.cluster('KEYSLOT', `{${tenantId}}`))),
      ),
    );
    expect(new Set(owners)).toEqual(new Set([0, 1, 2]));
    expect((await store.listTenants()).sort()).toEqual(['tenant-0', 'tenant-1', 'tenant-2']);
  });

  it('applies and publishes each event in one script on the node of its tenant, with a bus on sharded pub/sub', async () => {
    const bus = createRedisBus({ redis: client, prefix: 'one-step-bus' });
    const tenants = ['tenant-2', 'tenant-0', 'tenant-1'];
    const readers = tenants.map((tenantId) => readBus(bus, tenantId));
    const everyone = bus.subscribe({ allTenants: true });
    await Promise.all([...readers.map((reader) => reader.ready), everyone.ready]);
    const tracker = createCallTracker({
      bus,
      store: createRedisCallStore({ redis: client, prefix: 'one-step' }),
      clock: clockFrom(t0),
      logger: {},
    });
    // Loaded on every master first, so a first-use load does not count.
    const ingest = defineRedisIngestFunction(await redisBusIngestOf(bus)!.publishFunctions());
    for (const node of client.nodes('master')) {
      await node.call('FUNCTION', 'LOAD', 'REPLACE', ingest.library);
    }
    const sent: string[] = [];
    for (const node of client.nodes('master')) {
      const sendCommand = node.sendCommand.bind(node);
      node.sendCommand = ((command, stream) => {
        sent.push(
          command.name === 'fcall' && command.args[0] === ingest.name ? 'ingest' : command.name,
        );
        return sendCommand(command, stream);
      }) as typeof node.sendCommand;
    }
    for (const tenantId of tenants) {
      for (const event of callLifecycle({ tenantId, callId: `CA-one-${tenantId}` }).slice(0, 4)) {
        expect(await tracker.ingest(event)).toMatchObject({ published: true });
      }
    }
    // One function call per event; besides: the reaper's registration (once per tenant), the bus's
    // registration of each new tenant for all-tenants subscribers (sharded pub/sub), and that
    // subscriber's reads of the new tenants' streams.
    expect(sent.filter((name) => name === 'ingest')).toHaveLength(12);
    expect(sent.filter((name) => name === 'sadd')).toHaveLength(6);
    expect(sent.filter((name) => name === 'spublish')).toHaveLength(3);
    for (const [index, reader] of readers.entries()) {
      const published = await reader.drain();
      expect(
        published.map((event) => [event.tenantId, event.type, event.data.call?.version]),
      ).toEqual(
        ['call.initiated', 'call.ringing', 'call.answered', 'call.ended'].map((type, step) => [
          tenants[index],
          type,
          step + 1,
        ]),
      );
    }
    // The all-tenants view follows the tenants the ingest script registered.
    const seen = new Set<string>();
    while (seen.size < 12) {
      const { value } = await everyone.next();
      if (value?.type === 'event' && value.event.type !== 'test.marker') {
        seen.add(`${value.event.tenantId}:${value.event.id}`);
      }
    }
    await everyone.return?.();
    await Promise.all(readers.map((reader) => reader.close()));
    await bus.close();
  }, 60_000);

  it('loads its ingest function on every master when a node does not know it', async () => {
    const bus = createRedisBus({ redis: client, prefix: 'load-bus' });
    const tracker = createCallTracker({
      bus,
      store: createRedisCallStore({ redis: client, prefix: 'load' }),
      clock: clockFrom(t0),
      logger: {},
    });
    const ingest = defineRedisIngestFunction(await redisBusIngestOf(bus)!.publishFunctions());
    const masters = client.nodes('master');
    for (const node of masters) await node.call('FUNCTION', 'FLUSH');
    const readers = ['tenant-0', 'tenant-1', 'tenant-2'].map((tenantId) => readBus(bus, tenantId));
    await Promise.all(readers.map((reader) => reader.ready));
    for (const [index, tenantId] of ['tenant-0', 'tenant-1', 'tenant-2'].entries()) {
      const [queued] = callLifecycle({ tenantId, callId: `CA-load-${index}` });
      expect(await tracker.ingest(queued!)).toMatchObject({ outcome: 'changed', published: true });
    }
    for (const node of masters) {
      expect(await node.call('FUNCTION', 'LIST', 'LIBRARYNAME', ingest.name)).toHaveLength(1);
    }
    for (const reader of readers) expect(await reader.drain()).toHaveLength(1);
    await Promise.all(readers.map((reader) => reader.close()));
    await bus.close();
  }, 60_000);

  it("refuses the one-step ingest of a new call while its tenant's slot is being migrated (the call's key exists on neither node), and keeps one bus stream", async () => {
    // Gives up after a few TRYAGAIN answers, so the refusal is seen.
    const retrying = new Cluster(cluster.startupNodes, {
      maxRedirections: 3,
      retryDelayOnTryAgain: 10,
    });
    retrying.on('error', () => {});
    const tenantId = 'tenant-moving';
    const bus = createRedisBus({ redis: retrying, prefix: 'reshard-bus' });
    const reader = readBus(bus, tenantId);
    await reader.ready;
    const tracker = createCallTracker({
      bus,
      store: createRedisCallStore({ redis: retrying, prefix: 'reshard' }),
      clock: clockFrom(t0),
      logger: {},
    });
    const [before] = callLifecycle({ tenantId, callId: 'CA-before' });
    expect(await tracker.ingest(before!)).toMatchObject({ outcome: 'changed', published: true });
    const slot = Number(await client.cluster('KEYSLOT', `{${tenantId}}`));
    const from = await cluster.ownerOf(slot);
    const migration = await cluster.startSlotMigration(slot, (from + 1) % cluster.nodes.length);

    // No key moved yet. A new call: its key is on neither node, the bus's keys (all four: the
    // bus creates both id generations on its first publish) are on the source. A declared key
    // missing counts as missing on both nodes, so Redis answers TRYAGAIN until the slot has moved.
    // Before the bus's keys were declared, the step was sent to the target (ASK on the call's
    // key alone) and started a second bus stream there, which the migration then met as BUSYKEY.
    const [during] = callLifecycle({ tenantId, callId: 'CA-during' });
    // Refused (TRYAGAIN) until the client gives up: a Redis outage to the handler (a 503).
    const refused = await tracker.ingest(during!).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isRedisUnavailableError(refused)).toBe(true);
    await migration.finish();

    expect(await tracker.ingest(during!)).toMatchObject({ outcome: 'changed', published: true });
    expect((await reader.drain()).map((event) => event.id)).toEqual([before!.id, during!.id]);
    expect(await retrying.xlen(`reshard-bus:{${tenantId}}:stream`)).toBe(3);
    await reader.close();
    await bus.close();
    retrying.disconnect();
  }, 60_000);
  // A known call's answer writes the call and the reaper's index (`stale`). Before every index
  // was declared (the call's key and the bus's only), Redis ran the step wherever those were:
  // - `stale` moved first: on the source, which refused the undeclared `stale` after the call was
  //   written (Redis 7: "non local key"), leaving the event marked and never published;
  // - the call and the bus's keys moved first: on the target (ASK), which let the step make a
  //   second `stale` there, beside the source's (MIGRATE then meets it as BUSYKEY).
  it.each([
    {
      moved: 'the reaper index',
      first: (base: string, _busKeys: readonly string[]) => [`${base}stale`],
    },
    {
      moved: "the call's and the bus's keys",
      first: (base: string, busKeys: readonly string[]) => [`${base}call:CA-split`, ...busKeys],
    },
  ])(
    "runs a known call's one-step ingest only where all its keys are while its tenant's slot moves ($moved first): TRYAGAIN meanwhile, no key of the tenant on both nodes, the event applied once the slot has moved",
    async ({ moved, first }) => {
      // Retries long enough to outlast the migration below.
      const retrying = new Cluster(cluster.startupNodes, {
        maxRedirections: 10_000,
        retryDelayOnTryAgain: 10,
      });
      retrying.on('error', () => {});
      const nodes = cluster.nodes.map((node) => {
        const direct = new Redis({ ...node, maxRetriesPerRequest: 1 });
        direct.on('error', () => {});
        return direct;
      });
      const tryAgainAnswers = async (): Promise<number> => {
        let count = 0;
        for (const node of nodes) {
          const info = await node.info('errorstats');
          count += Number(/errorstat_TRYAGAIN:count=(\d+)/.exec(info)?.[1] ?? 0);
        }
        return count;
      };
      // A tenant (and prefixes) of each case's own.
      const tenantId = moved.startsWith('the reaper') ? 'tenant-split' : 'tenant-split-2';
      const prefix = `split-${tenantId}`;
      const base = `${prefix}:{${tenantId}}:`;
      const bus = createRedisBus({ redis: retrying, prefix: `${prefix}-bus` });
      const reader = readBus(bus, tenantId);
      await reader.ready;
      const store = createRedisCallStore({ redis: retrying, prefix });
      const tracker = createCallTracker({ bus, store, clock: clockFrom(t0), logger: {} });
      const [queued, ringing, answered] = callLifecycle({ tenantId, callId: 'CA-split' });
      for (const event of [queued!, ringing!]) {
        expect(await tracker.ingest(event)).toMatchObject({ outcome: 'changed', published: true });
      }
      const slot = Number(await client.cluster('KEYSLOT', `{${tenantId}}`));
      const from = await cluster.ownerOf(slot);
      const to = (from + 1) % cluster.nodes.length;
      const migration = await cluster.startSlotMigration(slot, to);
      await migration.move(first(base, redisBusIngestOf(bus)!.keys(tenantId)));
      const refusalsBefore = await tryAgainAnswers();
      let settled = false;
      const ingesting = tracker.ingest(answered!).finally(() => {
        settled = true;
      });
      // Until Redis refused the step at least once (or it was answered: the failure before).
      while (!settled && (await tryAgainAnswers()) === refusalsBefore) await setImmediatePromise();
      const tenantKeys = (node: Redis) => node.keys(`*{${tenantId}}*`);
      const [onSource, onTarget] = await Promise.all([
        tenantKeys(nodes[from]!),
        tenantKeys(nodes[to]!),
      ]);
      expect(onSource.filter((key) => onTarget.includes(key))).toEqual([]);
      expect(settled).toBe(false);
      await migration.finish();

      expect(await ingesting).toMatchObject({ outcome: 'changed', published: true });
      expect(await store.getCall(tenantId, 'CA-split', t0)).toMatchObject({
        status: 'in-progress',
        version: 3,
      });
      expect((await store.findStaleCalls(tenantId, Number.MAX_SAFE_INTEGER, 10)).length).toBe(1);
      expect(await nodes[to]!.zcard(`${base}stale`)).toBe(1);
      expect(await tenantKeys(nodes[from]!)).toEqual([]);
      expect((await reader.drain()).map((event) => event.id)).toEqual(
        [queued!, ringing!, answered!].map((event) => event.id),
      );
      await reader.close();
      await bus.close();
      retrying.disconnect();
      for (const node of nodes) node.disconnect();
    },
    60_000,
  );
});

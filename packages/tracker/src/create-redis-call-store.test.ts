import {
  connectTestRedis,
  deleteKeys,
  startRedisServer,
  uniquePrefix,
} from '@calltrack/test-utils';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRecordingBus } from './__tests__/recording-bus';
import { analyticsGranularities } from './analytics-granularity';
import { createCallTracker } from './create-call-tracker';
import { createMemoryCallStore } from './create-memory-call-store';
import { createRedisCallStore } from './create-redis-call-store';
import { callLifecycle, t0, testSettings, transitionOf } from './make-call-event';
import { redisAnalyticsBucketKey, redisAnalyticsBucketLayout } from './redis-analytics-bucket';
import {
  applyTransitionIndexKeys,
  applyTransitionScript,
  decodeApplyTransitionReply,
  encodeApplyTransitionArgs,
} from './redis-apply-transition-script';
import { foldAnalyticsLogScript } from './redis-call-store-scripts';
import { describeCallStore } from './testing';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('tracker-store');

describe.skipIf(!redis)('createRedisCallStore', () => {
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, filePrefix);
    redis.disconnect();
  });

  let counter = 0;
  describeCallStore(
    { describe, it, afterEach },
    {
      name: 'redis',
      createStore: async () => {
        counter += 1;
        const prefix = `${filePrefix}:${counter}`;
        return {
          store: createRedisCallStore({ redis: redis!, prefix }),
          cleanup: () => deleteKeys(redis!, prefix),
        };
      },
    },
  );

  it('lets an ended call expire after its retention, and keeps active calls', async () => {
    const prefix = `${filePrefix}:ttl`;
    const store = createRedisCallStore({ redis: redis!, prefix });
    const ended = callLifecycle({ callId: 'CA-ttl' });
    const active = callLifecycle({ callId: 'CA-live' });
    await store.apply(transitionOf(ended[0]!, 0));
    await store.apply(transitionOf(active[0]!, 0));
    expect(await redis!.pttl(`${prefix}:{tenant-a}:call:CA-ttl`)).toBe(-1);
    await store.apply(transitionOf(ended[3]!, 10));
    const ttl = await redis!.pttl(`${prefix}:{tenant-a}:call:CA-ttl`);
    expect(ttl).toBeGreaterThan(testSettings.endedCallRetentionMs - 60_000);
    expect(ttl).toBeLessThanOrEqual(testSettings.endedCallRetentionMs);
    expect(await redis!.pttl(`${prefix}:{tenant-a}:call:CA-live`)).toBe(-1);
  });

  it('gives every analytics key it writes an expiry: levels, ends, talk time in earlier buckets', async () => {
    const prefix = `${filePrefix}:analytics-ttl`;
    const store = createRedisCallStore({ redis: redis!, prefix });
    const hour = 3_600_000;
    const talked = callLifecycle({ callId: 'CA-talk', agentId: 'agent-1', talkMs: 30 * 60_000 });
    await store.apply(transitionOf(talked[0]!, 0));
    await store.apply(transitionOf(talked[2]!, 300_000));
    // Ends 10 minutes into the next hour: its talk time goes to the end's bucket (written with
    // the level and the end) and to the hour before (written on its own).
    await store.apply(transitionOf(talked[3]!, hour + 10 * 60_000));
    // The end of a call never seen active: an end without a level change.
    const endOnly = callLifecycle({ callId: 'CA-end-only', startMs: 3 * hour });
    await store.apply(transitionOf(endOnly[3]!, 3 * hour));
    // The lines wait in the log, which expires too, until a read folds them into the buckets.
    const logKey = `${prefix}:{tenant-a}:an:log`;
    expect(await redis!.llen(logKey)).toBe(4);
    const logTtl = await redis!.pttl(logKey);
    expect(logTtl).toBeGreaterThan(testSettings.analyticsRetentionMs.day);
    expect(logTtl).toBeLessThanOrEqual(testSettings.analyticsRetentionMs.day + 86_400_000);
    await store.readAnalytics('tenant-a', 'minute', t0, t0 + 1);
    expect(await redis!.exists(logKey)).toBe(0);
    const keys = await redis!.keys(`${prefix}:{tenant-a}:an:*`);
    // Agents: the two hours and the day.
    expect(keys.filter((key) => key.endsWith(':agents'))).toHaveLength(3);
    expect(keys.length).toBeGreaterThanOrEqual(10);
    const longest = testSettings.analyticsRetentionMs.day + 86_400_000;
    for (const key of keys) {
      const ttl = await redis!.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(longest);
    }
  });

  it('writes the same analytics buckets as the memory store, for any calls and ends', async () => {
    const hour = 3_600_000;
    const callArbitrary = fc.record({
      startMs: fc.integer({ min: 0, max: 3 * hour }),
      talkMs: fc.integer({ min: 0, max: 2 * hour }),
      agentId: fc.option(fc.constantFrom('agent-1', 'agent-2'), { nil: undefined }),
      endStatus: fc.constantFrom('completed' as const, 'no-answer' as const, 'busy' as const),
      // Which of initiated, ringing, answered, ended arrive (an end alone: never active).
      steps: fc.subarray([0, 1, 2, 3], { minLength: 1 }),
      // A read after this call's last event folds the log so far (decision 0070): buckets are
      // then written in several batches.
      readAfter: fc.boolean(),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(callArbitrary, { minLength: 1, maxLength: 6 }), async (calls) => {
        run += 1;
        const prefix = `${filePrefix}:analytics-prop:${run}`;
        const redisStore = createRedisCallStore({ redis: redis!, prefix });
        const memoryStore = createMemoryCallStore();
        const readsAfter = new Set<string>();
        const applied = calls.flatMap(({ steps, readAfter, ...options }, index) => {
          const events = callLifecycle({ ...options, callId: `CA-${index}` });
          const chosen = steps.map((step) => events[step]!);
          if (readAfter) readsAfter.add(chosen.at(-1)!.id);
          return chosen;
        });
        // In the order they happened, each ingested when it happened.
        applied.sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
        for (const event of applied) {
          const transition = transitionOf(event, Date.parse(event.occurredAt) - t0);
          expect((await redisStore.apply(transition)).outcome).toBe(
            (await memoryStore.apply(transition)).outcome,
          );
          if (readsAfter.has(event.id)) await redisStore.readAnalytics('tenant-a', 'day', 0, 1);
        }
        for (const granularity of analyticsGranularities) {
          const range = [t0 - 86_400_000, t0 + 2 * 86_400_000] as const;
          expect(await redisStore.readAnalytics('tenant-a', granularity, ...range)).toEqual(
            await memoryStore.readAnalytics('tenant-a', granularity, ...range),
          );
        }
        await deleteKeys(redis!, prefix);
      }),
      { numRuns: 30 },
    );
  }, 60_000);

  it('writes the same analytics buckets as the memory store when the log is folded after the steps', async () => {
    // 150 calls, three log lines each (start, end's level and end): the log reaches its fold
    // length several times, folded right after the step that filled it, and the rest by the read.
    const prefix = `${filePrefix}:analytics-folds`;
    const redisStore = createRedisCallStore({ redis: redis!, prefix });
    const memoryStore = createMemoryCallStore();
    const minute = 60_000;
    const applied = Array.from({ length: 150 }, (_, index) =>
      callLifecycle({
        callId: `CA-fold-${index}`,
        startMs: index * 37_000,
        talkMs: (index % 7) * 11 * minute,
        ...(index % 3 === 0 ? {} : { agentId: `agent-${index % 4}` }),
        endStatus: index % 5 === 0 ? 'no-answer' : 'completed',
      }),
    )
      .flat()
      .sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
    for (const event of applied) {
      const transition = transitionOf(event, Date.parse(event.occurredAt) - t0);
      await redisStore.apply(transition);
      await memoryStore.apply(transition);
    }
    // One more call starts: at least its line waits for the read.
    const last = transitionOf(
      callLifecycle({ callId: 'CA-fold-last', startMs: 150 * 37_000 })[0]!,
      150 * 37_000,
    );
    await redisStore.apply(last);
    await memoryStore.apply(last);
    const logKey = `${prefix}:{tenant-a}:${redisAnalyticsBucketLayout.logKey}`;
    const waiting = await redis!.llen(logKey);
    expect(waiting).toBeGreaterThan(0);
    expect(waiting).toBeLessThan(redisAnalyticsBucketLayout.foldAfterRecords);
    for (const granularity of analyticsGranularities) {
      const range = [t0 - 86_400_000, t0 + 2 * 86_400_000] as const;
      const buckets = await redisStore.readAnalytics('tenant-a', granularity, ...range);
      expect(buckets.length).toBeGreaterThan(0);
      expect(buckets).toEqual(await memoryStore.readAnalytics('tenant-a', granularity, ...range));
    }
    await deleteKeys(redis!, prefix);
  });

  it('declares only the call key on a plain client by default, every index with declareKeys', async () => {
    const prefix = `${filePrefix}:declared`;
    const client = redis!.duplicate();
    await client.ping();
    const keyCounts: number[] = [];
    const sendCommand = client.sendCommand.bind(client);
    client.sendCommand = ((command, stream) => {
      if (command.name === 'evalsha' && command.args[0] === applyTransitionScript.sha) {
        keyCounts.push(Number(command.args[1]));
      }
      return sendCommand(command, stream);
    }) as Redis['sendCommand'];
    await redis!.script('LOAD', applyTransitionScript.source);
    const [queued, , answered] = callLifecycle({ callId: 'CA-declared', branchId: 'north' });
    const plain = createRedisCallStore({ redis: client, prefix });
    expect((await plain.apply(transitionOf(queued!, 0))).outcome).toBe('changed');
    const declaring = createRedisCallStore({ redis: client, prefix, declareKeys: true });
    expect((await declaring.apply(transitionOf(answered!, 5000))).outcome).toBe('changed');
    expect(keyCounts).toEqual([
      1,
      1 + applyTransitionIndexKeys(`${prefix}:{tenant-a}:`, 'north').length,
    ]);
    expect(await plain.countActiveCalls('tenant-a')).toEqual({ total: 1, byBranch: { north: 1 } });
    expect(() =>
      createRedisCallStore({ redis: client, prefix, declareKeys: 'yes' as unknown as boolean }),
    ).toThrowError(/declareKeys must be true or false/);
    client.disconnect();
  });

  it("keeps the indexes of the call's own branch when an event names another: the step writes nothing, names that branch's keys, and runs again with them declared", async () => {
    const prefix = `${filePrefix}:branch-keys`;
    const base = `${prefix}:{tenant-a}:`;
    const callKey = `${base}call:CA-moved`;
    // The keys each run of the apply script declared.
    const client = redis!.duplicate();
    // Connected first: a command queued while connecting is sent through sendCommand twice.
    await client.ping();
    const declared: string[][] = [];
    const sendCommand = client.sendCommand.bind(client);
    client.sendCommand = ((command, stream) => {
      if (command.name === 'evalsha' && command.args[0] === applyTransitionScript.sha) {
        const count = Number(command.args[1]);
        declared.push(command.args.slice(2, 2 + count).map(String));
      }
      return sendCommand(command, stream);
    }) as Redis['sendCommand'];
    await redis!.script('LOAD', applyTransitionScript.source);
    // Declaring every key is a Cluster client's default; asked for here on a plain one.
    const store = createRedisCallStore({ redis: client, prefix, declareKeys: true });
    const north = callLifecycle({ callId: 'CA-moved', branchId: 'north' });
    const south = callLifecycle({ callId: 'CA-moved', branchId: 'south' });
    await store.apply(transitionOf(north[0]!, 0));
    await store.apply(transitionOf(north[2]!, 5000));
    expect(declared).toEqual([
      [callKey, ...applyTransitionIndexKeys(base, 'north')],
      [callKey, ...applyTransitionIndexKeys(base, 'north')],
    ]);
    expect(await store.countActiveCalls('tenant-a')).toEqual({ total: 1, byBranch: { north: 1 } });

    // The end names another branch: the call stays north's, whose indexes the event's keys miss.
    const end = transitionOf(south[3]!, 65_000);
    const keys = [callKey, ...applyTransitionIndexKeys(base, 'south')];
    const asked = decodeApplyTransitionReply(
      await redis!.evalsha(
        applyTransitionScript.sha,
        keys.length,
        ...keys,
        ...encodeApplyTransitionArgs(base, end),
      ),
    );
    expect(asked).toEqual({
      outcome: 'needs-keys',
      missingKeys: [`${base}active:branch:north`, `${base}ended:branch:north`],
    });
    expect(await redis!.hmget(callKey, 'status', 'version')).toEqual(['in-progress', '2']);

    declared.length = 0;
    const ended = await store.apply(end);
    expect(ended).toMatchObject({ outcome: 'ended', activeCount: 0 });
    expect(ended.call).toMatchObject({ branchId: 'north', status: 'completed', version: 3 });
    expect(declared).toEqual([
      keys,
      [...keys, `${base}active:branch:north`, `${base}ended:branch:north`],
    ]);
    expect(await store.countActiveCalls('tenant-a')).toEqual({ total: 0, byBranch: {} });
    expect(await store.listActiveCalls('tenant-a', { limit: 10, branchId: 'north' })).toEqual([]);
    const endedOf = async (branchId: string) =>
      (await store.listEndedCalls('tenant-a', { limit: 10, branchId, now: t0 + 65_000 })).map(
        (call) => call.callId,
      );
    expect(await endedOf('north')).toEqual(['CA-moved']);
    expect(await endedOf('south')).toEqual([]);
    expect(await redis!.exists(`${base}active:branch:south`, `${base}ended:branch:south`)).toBe(0);
    // The call's own branch was declared: the next events of the call, one run each.
    declared.length = 0;
    expect((await store.apply(transitionOf(south[4]!, 66_000))).outcome).toBe('enriched');
    expect(declared).toHaveLength(1);
    client.disconnect();
    await deleteKeys(redis!, prefix);
  });

  it('folds only the lines of the log whose buckets it was given, from its head, and names the keys of the rest', async () => {
    const prefix = `${filePrefix}:fold-keys`;
    const base = `${prefix}:{tenant-a}:`;
    const logKey = `${base}${redisAnalyticsBucketLayout.logKey}`;
    const store = createRedisCallStore({ redis: redis!, prefix });
    const memoryStore = createMemoryCallStore();
    // Three calls starting an hour apart: a level line each, in buckets of their own.
    const hour = 3_600_000;
    for (const index of [0, 1, 2]) {
      const [queued] = callLifecycle({ callId: `CA-fold-keys-${index}`, startMs: index * hour });
      const transition = transitionOf(queued!, index * hour);
      await store.apply(transition);
      await memoryStore.apply(transition);
    }
    expect(await redis!.llen(logKey)).toBe(3);
    const fold = async (keys: readonly string[]) =>
      (await redis!.eval(
        foldAnalyticsLogScript.source,
        1 + keys.length,
        logKey,
        ...keys,
        base,
      )) as [number, string[]];
    const bucketsAt = (at: number) =>
      (['minute', 'hour', 'day'] as const).map((granularity) =>
        redisAnalyticsBucketKey(
          base,
          granularity,
          at - (at % { minute: 60_000, hour, day: 86_400_000 }[granularity]),
        ),
      );
    // Given no bucket: nothing folded, every bucket named.
    const [none, needed] = await fold([]);
    expect(none).toBe(0);
    expect(new Set(needed)).toEqual(
      new Set([...bucketsAt(t0), ...bucketsAt(t0 + hour), ...bucketsAt(t0 + 2 * hour)]),
    );
    expect(await redis!.llen(logKey)).toBe(3);
    expect(await redis!.exists(...needed)).toBe(0);
    // Given the first line's buckets: that line folded, the others left on the log.
    const [folded, rest] = await fold(bucketsAt(t0));
    expect(folded).toBe(1);
    expect(rest).toContain(bucketsAt(t0 + hour)[0]);
    expect(await redis!.llen(logKey)).toBe(2);
    expect(await redis!.hget(bucketsAt(t0)[0]!, 'started')).toBe('1');
    expect(await redis!.exists(bucketsAt(t0 + hour)[0]!, bucketsAt(t0 + 2 * hour)[0]!)).toBe(0);
    // A read folds the rest, running the fold again with the keys it names.
    for (const granularity of analyticsGranularities) {
      const range = [t0 - 86_400_000, t0 + 2 * 86_400_000] as const;
      expect(await store.readAnalytics('tenant-a', granularity, ...range)).toEqual(
        await memoryStore.readAnalytics('tenant-a', granularity, ...range),
      );
    }
    expect(await redis!.exists(logKey)).toBe(0);
    await deleteKeys(redis!, prefix);
  });

  it('runs one fold when many steps in flight find the log due, which folds every line in one run', async () => {
    const prefix = `${filePrefix}:one-fold`;
    const base = `${prefix}:{tenant-a}:`;
    const logKey = `${base}${redisAnalyticsBucketLayout.logKey}`;
    // The fold scripts the store's client sends, loaded first (a NOSCRIPT would send one twice).
    const client = redis!.duplicate();
    await client.ping();
    await client.script('LOAD', foldAnalyticsLogScript.source);
    let folds = 0;
    const sendCommand = client.sendCommand.bind(client);
    client.sendCommand = ((command, stream) => {
      const [script] = command.args.map(String);
      if (script === foldAnalyticsLogScript.sha || script === foldAnalyticsLogScript.source) {
        folds += 1;
      }
      return sendCommand(command, stream);
    }) as Redis['sendCommand'];
    const store = createRedisCallStore({ redis: client, prefix });
    const { foldAfterRecords } = redisAnalyticsBucketLayout;
    // The log one line short of its fold length: a call started per line, in the first minute.
    for (let index = 1; index < foldAfterRecords; index += 1) {
      const [queued] = callLifecycle({ callId: `CA-one-fold-${index}` });
      await store.apply(transitionOf(queued!, index));
    }
    expect(await redis!.llen(logKey)).toBe(foldAfterRecords - 1);
    expect(folds).toBe(0);

    // 32 calls start at once in the next minute: every step finds the log due.
    await Promise.all(
      Array.from({ length: 32 }, (_, index) => {
        const [queued] = callLifecycle({ callId: `CA-one-fold-burst-${index}` });
        return store.apply(transitionOf(queued!, 90_000 + index));
      }),
    );
    // One fold, one run: it was given the buckets of the asking step's minute and the one before.
    expect(folds).toBe(1);
    expect(await redis!.llen(logKey)).toBe(0);
    const started = (granularity: 'minute' | 'hour', start: number) =>
      redis!.hget(redisAnalyticsBucketKey(base, granularity, start), 'started');
    expect(await started('minute', t0)).toBe(String(foldAfterRecords - 1));
    expect(await started('minute', t0 + 60_000)).toBe('32');
    expect(await started('hour', t0)).toBe(String(foldAfterRecords - 1 + 32));
    client.disconnect();
    await deleteKeys(redis!, prefix);
  });

  it('reports a fold that fails after a step once through the tracker logger, and the event stands', async () => {
    const prefix = `${filePrefix}:fold-fails`;
    const base = `${prefix}:{tenant-a}:`;
    // A bucket the fold must write holds a string: the fold fails (WRONGTYPE).
    for (const granularity of analyticsGranularities) {
      await redis!.set(redisAnalyticsBucketKey(base, granularity, t0), 'not a hash');
    }
    const logged: { message: string; context?: Record<string, unknown> }[] = [];
    let clock = t0;
    const tracker = createCallTracker({
      bus: createRecordingBus().bus,
      store: createRedisCallStore({ redis: redis!, prefix }),
      clock: { now: () => (clock += 1) },
      logger: {
        error: (message, context) => logged.push({ message, ...(context ? { context } : {}) }),
        warn: (message, context) => logged.push({ message, ...(context ? { context } : {}) }),
      },
    });
    const { foldAfterRecords } = redisAnalyticsBucketLayout;
    // A call started per line: the last one fills the log and its step folds it.
    for (let index = 1; index <= foldAfterRecords + 3; index += 1) {
      const [queued] = callLifecycle({ callId: `CA-fold-fails-${index}` });
      const result = await tracker.ingest(queued!);
      expect(result.outcome).toBe('changed');
    }
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toMatch(/analytics/i);
    expect(logged[0]!.context).toMatchObject({ tenantId: 'tenant-a' });
    expect(logged[0]!.context?.error).toMatchObject({
      message: expect.stringMatching(/WRONGTYPE/),
    });
    expect(await tracker.countActiveCalls('tenant-a')).toEqual({
      total: foldAfterRecords + 3,
      byBranch: {},
    });
    await deleteKeys(redis!, prefix);
  });

  it('puts every key of a tenant under its hash tag and answers counts without scanning', async () => {
    const prefix = `${filePrefix}:layout`;
    const store = createRedisCallStore({ redis: redis!, prefix });
    for (const event of callLifecycle({ callId: 'CA-k', branchId: 'north', agentId: 'agent-1' })) {
      await store.apply(transitionOf(event, 10));
    }
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis!.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const tenantKeys = keys.filter((key) => key !== `${prefix}:tenants`);
    expect(tenantKeys.length).toBeGreaterThan(3);
    for (const key of tenantKeys) expect(key.startsWith(`${prefix}:{tenant-a}:`)).toBe(true);
  });

  it('rejects a bad client, prefix or tenant with a clear error', async () => {
    expect(() => createRedisCallStore({} as never)).toThrowError(/ioredis client/);
    expect(() => createRedisCallStore({ redis: redis!, prefix: 'a{b}' })).toThrowError(/prefix/);
    const store = createRedisCallStore({ redis: redis!, prefix: `${filePrefix}:bad` });
    await expect(store.getCall('bad tenant', 'x', Date.now())).rejects.toThrowError(/tenantId/);
  });

  it('reloads its scripts after SCRIPT FLUSH (on a server of its own)', async () => {
    const server = await startRedisServer();
    const own = new Redis(server.url);
    try {
      const store = createRedisCallStore({ redis: own });
      await store.apply(transitionOf(callLifecycle({ callId: 'CA-f1' })[0]!, 0));
      await own.script('FLUSH');
      const result = await store.apply(transitionOf(callLifecycle({ callId: 'CA-f2' })[0]!, 0));
      expect(result.outcome).toBe('changed');
      expect(await store.countActiveCalls('tenant-a')).toEqual({ total: 2, byBranch: {} });
    } finally {
      own.disconnect();
      await server.stop();
    }
  });
});

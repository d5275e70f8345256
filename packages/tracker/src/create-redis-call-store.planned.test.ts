// The planned step (decision 0073): a transition worked out in Node from what the store knows of
// the call must leave Redis exactly as the step's own decision does. One tracker ingests each
// scenario alone (the store knows every call it wrote: its transitions are planned); two
// trackers with stores of their own take turns on the same events (each finds the call changed
// by the other: the step decides). Every key of the two stores, and what the bus carried, must
// be the same.
import { createRedisBus } from '@calltrack/bus/redis';
import type { CallEvent } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readBus } from './__tests__/bus-reader';
import { createCallTracker } from './create-call-tracker';
import { createRedisCallStore } from './create-redis-call-store';
import { callLifecycle, t0 } from './make-call-event';

const redis = await connectTestRedis();
const prefix = uniquePrefix('tracker-planned');

/** A lifecycle with some events left out, repeated, reordered, and branches that change. */
const scenarioArbitrary = fc
  .record({
    talkMs: fc.integer({ min: 0, max: 3_600_000 }),
    endStatus: fc.constantFrom('completed', 'busy', 'no-answer', 'failed' as const),
    branches: fc.array(fc.constantFrom(undefined, 'north', 'south'), {
      minLength: 6,
      maxLength: 6,
    }),
    agentId: fc.option(fc.constantFrom('agent-1', 'agent-2'), { nil: undefined }),
    endCarriesDuration: fc.boolean(),
    /** The analysis repeats the duration: a second writer of the same detail. */
    analysisCarriesDuration: fc.boolean(),
    keep: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    copies: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 6, maxLength: 6 }),
    calls: fc.integer({ min: 1, max: 3 }),
  })
  .chain((scenario) => {
    const events = Array.from({ length: scenario.calls }, (_, call) =>
      callLifecycle({
        callId: `CA-${call}`,
        talkMs: scenario.talkMs,
        endStatus: scenario.endStatus,
        ...(scenario.agentId === undefined ? {} : { agentId: scenario.agentId }),
      }).map((event, index): CallEvent => {
        const branchId = scenario.branches[index];
        const { branchId: _lifecycle, ...rest } = event;
        const placed = branchId === undefined ? rest : { ...rest, branchId };
        if (event.type === 'call.ended' && !scenario.endCarriesDuration) {
          return { ...placed, data: {} };
        }
        if (event.type === 'call.analyzed' && scenario.analysisCarriesDuration) {
          return { ...placed, data: { ...placed.data, durationMs: scenario.talkMs + 7 } };
        }
        return placed;
      }),
    ).flatMap((lifecycle) =>
      lifecycle
        .filter((event, index) => event.type === 'call.ended' || scenario.keep[index])
        .flatMap((event, index) =>
          Array.from({ length: scenario.copies[index] ?? 1 }, () => event),
        ),
    );
    return fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length });
  });

/** Every key under `keyPrefix` (the prefix cut off) with its type, contents and whether it expires. */
async function dumpKeys(client: Redis, keyPrefix: string): Promise<Record<string, unknown>> {
  const keys = await client.keys(`${keyPrefix}*`);
  const dump: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    const type = await client.type(key);
    const expires = (await client.pttl(key)) >= 0;
    let contents: unknown;
    if (type === 'hash') contents = await client.hgetall(key);
    else if (type === 'zset') contents = await client.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'list') contents = await client.lrange(key, 0, -1);
    else if (type === 'set') contents = (await client.smembers(key)).sort();
    else if (type === 'string') contents = await client.get(key);
    else contents = type;
    dump[key.slice(keyPrefix.length)] = { type, expires, contents };
  }
  return dump;
}

describe.skipIf(!redis)('createRedisCallStore: transitions planned in Node (decision 0073)', () => {
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('leave every key as the step decides them, and publish the same events', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (events) => {
        run += 1;
        const tenantId = `tenant-${run}`;
        const outcomes: Record<'planned' | 'decided', unknown[]> = { planned: [], decided: [] };
        const published: Record<'planned' | 'decided', unknown[]> = { planned: [], decided: [] };
        for (const way of ['planned', 'decided'] as const) {
          const bus = createRedisBus({ redis: redis!, prefix: `${prefix}:${way}:bus` });
          const reader = readBus(bus, tenantId);
          await reader.ready;
          let clock = t0;
          const trackers = Array.from({ length: way === 'planned' ? 1 : 2 }, () =>
            createCallTracker({
              bus,
              store: createRedisCallStore({ redis: redis!, prefix: `${prefix}:${way}:store` }),
              clock: { now: () => clock },
              logger: {},
            }),
          );
          for (const [index, event] of events.entries()) {
            clock += 10;
            const result = await trackers[index % trackers.length]!.ingest({ ...event, tenantId });
            outcomes[way].push([result.outcome, result.published, result.call]);
          }
          published[way] = (await reader.drain()).map((event) => [event.id, event.data.call]);
          await reader.close();
          await Promise.all(trackers.map((tracker) => tracker.stop()));
          await bus.close();
        }
        expect(outcomes.planned).toEqual(outcomes.decided);
        expect(published.planned).toEqual(published.decided);
        const tenantKeys = (way: string) => `${prefix}:${way}:store:{${tenantId}}:`;
        expect(await dumpKeys(redis!, tenantKeys('planned'))).toEqual(
          await dumpKeys(redis!, tenantKeys('decided')),
        );
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});

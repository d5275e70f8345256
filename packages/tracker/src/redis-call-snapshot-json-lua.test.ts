import { type CallEvent, callSnapshotSchema } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { callSnapshotBudget } from './call-snapshot-budget';
import { callStatusRankLua } from './call-status-rank-lua';
import { createRedisCallStore } from './create-redis-call-store';
import { composeLuaScript, defineLuaFragment } from './lua-fragment';
import { callLifecycle, isoAt, t0, testSettings } from './make-call-event';
import { redisCallHashLua, redisCallSnapshotLua } from './redis-call-hash-lua';
import { redisCallSnapshotJsonLua } from './redis-call-snapshot-json-lua';
import { toCallTransition } from './to-call-transition';

const redis = await connectTestRedis();
const prefix = uniquePrefix('tracker-snapshot-json');

/** Reads a call's snapshot as JSON, the way the ingest script writes `data.call`. */
const snapshotJsonScript = composeLuaScript([
  redisCallHashLua,
  redisCallSnapshotLua,
  callStatusRankLua,
  redisCallSnapshotJsonLua,
  defineLuaFragment('body', 'return callSnapshotJson(readSnapshot(KEYS[1]))'),
]);
const isoTimeScript = composeLuaScript([
  redisCallHashLua,
  redisCallSnapshotLua,
  callStatusRankLua,
  redisCallSnapshotJsonLua,
  defineLuaFragment(
    'body',
    'local times = {} for i, ms in ipairs(ARGV) do times[i] = isoTime(ms) end return times',
  ),
]);

/** Text with what JSON must escape, and what it must not. */
const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.constantFrom(
    'a"b',
    'back\\slash',
    'tab\there',
    'line\nbreak',
    'nul\u0000',
    'del\u007f',
    'é✓😀',
    '/path/',
  ),
);

describe.skipIf(!redis)('the snapshot JSON the ingest script writes', () => {
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('writes times as Date.prototype.toISOString does, across the years 0000 to 9999 and beyond', async () => {
    const edges = [
      0,
      -1,
      1,
      999,
      -86_400_001,
      t0,
      callSnapshotBudget.earliestTime,
      callSnapshotBudget.latestTime,
      Date.parse('2000-02-29T23:59:59.999Z'),
      Date.parse('1900-03-01T00:00:00.000Z'),
      8.64e15,
      -8.64e15,
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -8.64e15, max: 8.64e15 }), { minLength: 1, maxLength: 50 }),
        async (times) => {
          const all = [...edges, ...times];
          const lua = (await redis!.eval(isoTimeScript, 0, ...all.map(String))) as string[];
          expect(lua).toEqual(all.map((ms) => new Date(ms).toISOString()));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('writes the times of a day it already wrote from the day it kept, also past the days it keeps', async () => {
    // Each day twice (the second time from the kept day, at another time of day), over more days
    // than the script keeps (1,000), and the first days again after it started over.
    const day = 86_400_000;
    const times: number[] = [];
    for (let index = 0; index < 1_200; index += 1) {
      times.push(t0 + index * day + index, t0 + index * day + day - 1 - index);
    }
    times.push(t0 + 12_345, t0 + day + 999);
    const lua = (await redis!.eval(isoTimeScript, 0, ...times.map(String))) as string[];
    expect(lua).toEqual(times.map((ms) => new Date(ms).toISOString()));
  });

  it('equals the snapshot the store reads back, for any identity, details and times', async () => {
    const store = createRedisCallStore({ redis: redis!, prefix });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            branchId: text,
            agentId: text,
            from: text,
            to: text,
            answeredBy: text,
            // No top-level `__proto__` key: the event schema drops one at ingest (zod's record
            // does), so no stored analysis has it, and the snapshot schema would drop it here.
            analysis: fc.dictionary(
              text.filter((key) => key !== '__proto__'),
              fc.jsonValue({ maxDepth: 3 }),
              { maxKeys: 4 },
            ),
            cost: fc.record({
              amount: fc.double({ noNaN: true, noDefaultInfinity: true }),
              currency: fc.constantFrom('USD', 'EUR'),
            }),
            durationMs: fc.nat(),
            occurredAt: fc.integer({
              min: callSnapshotBudget.earliestTime,
              max: callSnapshotBudget.latestTime,
            }),
            talkMs: fc.nat({ max: 7_200_000 }),
          },
          { requiredKeys: ['occurredAt', 'talkMs'] },
        ),
        fc.integer({ min: 1, max: 6 }),
        async (fields, steps) => {
          run += 1;
          const callId = `CA-json-${run}`;
          const start = fields.occurredAt - t0;
          const events = callLifecycle({
            callId,
            startMs: Math.min(start, callSnapshotBudget.latestTime - t0 - 10_000_000),
            talkMs: fields.talkMs,
            ...(fields.branchId === undefined ? {} : { branchId: fields.branchId }),
            ...(fields.agentId === undefined ? {} : { agentId: fields.agentId }),
            ...(fields.from === undefined ? {} : { from: fields.from }),
            ...(fields.to === undefined ? {} : { to: fields.to }),
          }).slice(0, steps);
          const last = events[events.length - 1]!;
          const data: CallEvent['data'] = { ...last.data };
          if (fields.answeredBy !== undefined) data.answeredBy = fields.answeredBy;
          if (fields.analysis !== undefined) data.analysis = fields.analysis;
          if (fields.cost !== undefined) data.cost = fields.cost;
          if (fields.durationMs !== undefined && last.type !== 'call.ended') {
            data.durationMs = fields.durationMs;
          }
          events[events.length - 1] = { ...last, data };
          for (const [index, event] of events.entries()) {
            await store.apply(toCallTransition(event, t0 + index * 1000, testSettings));
          }
          const json = (await redis!.eval(
            snapshotJsonScript,
            1,
            `${prefix}:{tenant-a}:call:${callId}`,
          )) as string;
          const written = JSON.parse(json);
          expect(written).toEqual(await store.getCall('tenant-a', callId, t0));
          expect(callSnapshotSchema.parse(written)).toEqual(written);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('writes an ended call that was never answered with a duration of 0', async () => {
    const store = createRedisCallStore({ redis: redis!, prefix: `${prefix}:ended` });
    const [queued, , , ended] = callLifecycle({ callId: 'CA-unanswered' });
    await store.apply(toCallTransition(queued!, t0, testSettings));
    await store.apply(
      toCallTransition({ ...ended!, data: {}, occurredAt: isoAt(5000) }, t0 + 1, testSettings),
    );
    const json = (await redis!.eval(
      snapshotJsonScript,
      1,
      `${prefix}:ended:{tenant-a}:call:CA-unanswered`,
    )) as string;
    expect(JSON.parse(json)).toMatchObject({ durationMs: 0, active: false, status: 'completed' });
    expect(JSON.parse(json)).toEqual(await store.getCall('tenant-a', 'CA-unanswered', t0));
  });
});

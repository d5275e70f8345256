// The scaling guide: "The tracker needs no coordination either: start() in every process is
// safe. The reaper closes each stale call exactly once, an alert fires once per cooldown across
// processes, a long-call alert once per call." Three trackers, each with its own Redis client,
// Redis bus and Redis store (what three processes hold), on one Redis, doing the same work at
// the same moment.
import { createRedisBus } from '@calltrack/bus/redis';
import type { CallEvent } from '@calltrack/core';
import { connectTestRedis, deleteKeys, testRedisUrl, uniquePrefix } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { readBus } from './__tests__/bus-reader';
import { createCallTracker } from './create-call-tracker';
import { createRedisCallStore } from './create-redis-call-store';
import { callLifecycle, t0 } from './make-call-event';

const redis = await connectTestRedis();
const prefix = uniquePrefix('tracker-many');
const minute = 60_000;
const hour = 60 * minute;

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

/** How many times each key occurs. */
function counts(keys: (string | undefined)[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const key of keys) result[String(key)] = (result[String(key)] ?? 0) + 1;
  return result;
}

describe.skipIf(!redis)('createCallTracker in three processes on one Redis', () => {
  it('reaps each stale call once, alerts a tenant once per cooldown and a long call once, whoever runs it', async () => {
    const clock = { now: t0 };
    const processes = [1, 2, 3].map(() => {
      const client = new Redis(testRedisUrl);
      const bus = createRedisBus({ redis: client, prefix: `${prefix}:bus` });
      const tracker = createCallTracker({
        bus,
        store: createRedisCallStore({ redis: client, prefix: `${prefix}:store` }),
        clock: { now: () => clock.now },
        logger: {},
        alerts: { maxConcurrentCalls: 2, cooldownMs: 10 * minute, longCallMs: 30 * minute },
      });
      return { client, bus, tracker };
    });
    const reader = readBus(processes[0]!.bus, 'tenant-a');
    await reader.ready;
    try {
      // Six unanswered calls (reaped after staleAfterMs, an hour) and four answered ones (long
      // calls after 30 minutes, reaped only after 4 hours), their events spread over the
      // processes and ingested at once: the tenant is over its concurrency limit many times.
      const unanswered = [1, 2, 3, 4, 5, 6].map((index) => `CA-stale-${index}`);
      const answered = [1, 2, 3, 4].map((index) => `CA-talk-${index}`);
      const events: CallEvent[] = [
        ...unanswered.map((callId) => callLifecycle({ callId })[0]!),
        ...answered.flatMap((callId) => callLifecycle({ callId }).slice(0, 3)),
      ];
      await Promise.all(events.map((event, index) => processes[index % 3]!.tracker.ingest(event)));
      for (const at of [t0 + 31 * minute, t0 + 45 * minute, t0 + 2 * hour, t0 + 3 * hour]) {
        clock.now = at;
        const reports = await Promise.all(
          processes.map(({ tracker }) => tracker.runMaintenance(at)),
        );
        expect(reports).toHaveLength(3);
      }

      const published = await reader.drain();
      const ends = published.filter((event) => event.type === 'call.ended');
      expect(counts(ends.map((event) => event.callId))).toEqual(
        Object.fromEntries(unanswered.map((callId) => [callId, 1])),
      );
      expect(ends.every((event) => event.status === 'failed')).toBe(true);
      const longCalls = published.filter((event) => event.type === 'alert.long_call');
      // Every call was active past 30 minutes, the unanswered ones too (before they were reaped).
      expect(counts(longCalls.map((event) => event.callId))).toEqual(
        Object.fromEntries([...unanswered, ...answered].map((callId) => [callId, 1])),
      );
      expect(published.filter((event) => event.type === 'alert.concurrency_exceeded')).toHaveLength(
        1,
      );
      for (const callId of answered) {
        expect(await processes[2]!.tracker.getCall('tenant-a', callId)).toMatchObject({
          active: true,
        });
      }
    } finally {
      await reader.close();
      for (const { tracker, bus, client } of processes) {
        await tracker.stop();
        await bus.close();
        client.disconnect();
      }
    }
  });
});

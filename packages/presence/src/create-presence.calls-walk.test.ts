// A member list on a tenant with more active calls than one read returns (10,000), on the
// tracker's Redis store: what it costs in Redis commands, counted by the server itself
// (`INFO commandstats` on a redis-server of the test's own, so nothing else is counted), and that
// members whose calls lie past the newest 10,000 are busy.

import { createMemoryBus } from '@calltrack/bus';
import {
  connectTestRedis,
  makeCallEvent,
  type RedisServerProcess,
  startRedisServer,
} from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { createRedisCallStore } from '@calltrack/tracker/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPresence } from './create-presence';

const t0 = Date.parse('2026-11-21T10:00:00.000Z');
/** Active calls of the tenant: more than one read (10,000) returns. */
const callCount = 10_500;
/** Members on no call: each one was a walk of every active call before. */
const idleMembers = 300;

const probe = await connectTestRedis();
probe?.disconnect();

/** Commands the server ran since its last `CONFIG RESETSTAT`, by name (the reset left out). */
async function commandCounts(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const counts = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!match[1]!.startsWith('config')) counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

const total = (counts: Map<string, number>): number =>
  [...counts.values()].reduce((sum, count) => sum + count, 0);

describe.skipIf(!probe)('member lists over more active calls than one read', () => {
  let server: RedisServerProcess | undefined;
  let redis: Redis | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('walks the active calls once for all members, and finds every busy one', async () => {
    const clock = { now: () => t0 + 60_000 };
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      store: createRedisCallStore({ redis: redis! }),
      clock,
      logger: {},
    });
    // Calls start a few to a millisecond (ties at every page boundary), agent-old's the oldest
    // (past the newest 10,000), agent-both's one among the oldest and one among the newest, and
    // every other call is someone's who is not a member.
    const started = (index: number) => new Date(t0 + Math.floor(index / 7)).toISOString();
    const agentOf = (index: number) =>
      index === 0
        ? 'agent-old'
        : index === 3 || index === callCount - 1
          ? 'agent-both'
          : `caller-${index}`;
    for (let start = 0; start < callCount; start += 250) {
      await Promise.all(
        Array.from({ length: Math.min(250, callCount - start) }, (_, offset) => {
          const index = start + offset;
          return tracker.ingest(
            makeCallEvent({
              id: `walk:${index}`,
              type: 'call.initiated',
              status: 'queued',
              callId: `CA-walk-${String(index).padStart(5, '0')}`,
              agentId: agentOf(index),
              occurredAt: started(index),
            }),
          );
        }),
      );
    }
    expect((await tracker.countActiveCalls('tenant-a')).total).toBe(callCount);

    const presence = createPresence({ bus: createMemoryBus(), calls: tracker, logger: {} });
    const busy = ['agent-both', 'agent-old'];
    for (const userId of [
      ...busy,
      ...Array.from({ length: idleMembers }, (_, index) => `idle-${index}`),
    ]) {
      await presence.connect({ tenantId: 'tenant-a', userId });
    }

    await redis!.config('RESETSTAT');
    const members = await presence.listMembers('tenant-a');
    const counts = await commandCounts(redis!);
    expect(members).toHaveLength(busy.length + idleMembers);
    // One walk: about one read per call, however many members there are (before: a walk of
    // every active call per member not among the newest 10,000, millions of commands).
    expect(total(counts)).toBeLessThan(callCount + 100);
    const callsOf = new Map(members.map((member) => [member.userId, member.calls]));
    expect(callsOf.get('agent-old')).toEqual(['CA-walk-00000']);
    expect(callsOf.get('agent-both')).toEqual([
      `CA-walk-${String(callCount - 1).padStart(5, '0')}`,
      'CA-walk-00003',
    ]);
    expect(callsOf.get('idle-0')).toEqual([]);

    const available = (await presence.listAvailable('tenant-a')).map((member) => member.userId);
    expect(available).toHaveLength(idleMembers);
    expect(available).not.toContain('agent-old');
    expect(available).not.toContain('agent-both');
  }, 120_000);
});

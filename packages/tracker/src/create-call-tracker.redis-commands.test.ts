// What the two-step ingest path costs in Redis commands (the path of any bus that is not a Redis
// bus of the same Redis; with one, see create-call-tracker.redis-bus.test.ts): a client that
// records every command it sends (and how many replies had come back by then) is given to the
// Redis store; the bus is a memory bus, so every command counted is the store's.

import { tenantIdSchema } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createRecordingBus } from './__tests__/recording-bus';
import { createCallTracker } from './create-call-tracker';
import { createRedisCallStore } from './create-redis-call-store';
import { callLifecycle, t0 } from './make-call-event';
import { applyTransitionScript } from './redis-apply-transition-script';
import { markPublishedScript } from './redis-call-store-scripts';

const redis = await connectTestRedis();
const prefix = uniquePrefix('tracker-commands');

interface SentCommand {
  /** `apply`, `confirm`, or the command's name. */
  name: string;
  /** Replies received on the client before this command was written. */
  repliesBefore: number;
}

/** Records what `client` sends. */
function recordCommands(client: Redis): SentCommand[] {
  const sent: SentCommand[] = [];
  let replies = 0;
  const scriptNames = new Map([
    [applyTransitionScript.sha, 'apply'],
    [markPublishedScript.sha, 'confirm'],
  ]);
  const sendCommand = client.sendCommand.bind(client);
  client.sendCommand = ((command, stream) => {
    const name =
      command.name === 'evalsha'
        ? (scriptNames.get(String(command.args[0])) ?? 'evalsha')
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

describe.skipIf(!redis)('the ingest path on the Redis store', () => {
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('costs one round trip before the publish and one confirmation after, per event', async () => {
    const client = redis!.duplicate();
    // Loaded beforehand, so a first-use NOSCRIPT retry does not count.
    await client.script('LOAD', applyTransitionScript.source);
    await client.script('LOAD', markPublishedScript.source);
    const sent = recordCommands(client);
    const clock = { now: t0 };
    const recording = createRecordingBus();
    const beforePublish: SentCommand[][] = [];
    const publish = recording.bus.publish;
    recording.bus.publish = async (event) => {
      beforePublish.push(sent.splice(0));
      return publish(event);
    };
    const tracker = createCallTracker({
      bus: recording.bus,
      store: createRedisCallStore({ redis: client, prefix }),
      clock: { now: () => clock.now },
      logger: {},
    });
    /** Ingests, waits for the background confirmation, returns what was sent. */
    const ingest = async (event: Parameters<typeof tracker.ingest>[0]) => {
      beforePublish.length = 0;
      const result = await tracker.ingest(event);
      await client.ping();
      const after = sent.splice(0).filter((command) => command.name !== 'ping');
      const before = beforePublish.flat();
      return {
        outcome: result.outcome,
        before: before.map((c) => c.name),
        after: after.map((c) => c.name),
        sentTogether: new Set(before.map((c) => c.repliesBefore)).size === 1,
      };
    };

    const [queued, ringing, answered, ended, recordingReady, analyzed] = callLifecycle({
      callId: 'CA-rt',
    });
    // The store checks a tenant id once, not on every apply and confirmation.
    const tenantChecks = vi.spyOn(tenantIdSchema, 'safeParse');
    // The tenant's first event also registers it for the reaper: written with the script, in
    // the same round trip.
    expect(await ingest(queued!)).toEqual({
      outcome: 'changed',
      before: ['sadd', 'apply'],
      after: ['confirm'],
      sentTogether: true,
    });
    for (const event of [ringing!, answered!, ended!, recordingReady!, analyzed!]) {
      clock.now += 1000;
      expect(await ingest(event), event.type).toEqual({
        outcome: expect.any(String),
        before: ['apply'],
        after: ['confirm'],
        sentTogether: true,
      });
    }
    // A second call of the same tenant: no registration.
    expect(await ingest(callLifecycle({ callId: 'CA-rt2' })[0]!)).toMatchObject({
      before: ['apply'],
      after: ['confirm'],
    });
    // What is not published costs the script alone: a duplicate, a late status.
    const duplicate = await tracker.ingest(queued!);
    expect(duplicate.outcome).toBe('duplicate');
    const late = await tracker.ingest({ ...ringing!, id: 'twilio:CA-rt:ringing-again' });
    expect(late.outcome).toBe('ignored');
    await client.ping();
    expect(sent.splice(0).map((command) => command.name)).toEqual(['apply', 'apply', 'ping']);
    // A minute later the process registers the tenant once more (Redis may have lost it).
    clock.now += 60_000;
    expect(await ingest(callLifecycle({ callId: 'CA-rt3' })[0]!)).toMatchObject({
      before: ['sadd', 'apply'],
      sentTogether: true,
    });
    expect(tenantChecks).toHaveBeenCalledTimes(1);
    tenantChecks.mockRestore();
    expect(await tracker.reapStaleCalls(clock.now)).toEqual([]);
    await tracker.stop();
    client.disconnect();
  });
});

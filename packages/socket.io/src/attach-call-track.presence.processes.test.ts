import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRedisBus } from '@calltrack/bus/redis';
import {
  connectTestRedis,
  deleteKeys,
  expectOneOfflineAfterKills,
  killAndWait,
  presenceKillTimings,
  spawnListeningChild,
  testRedisUrl,
  uniquePrefix,
} from '@calltrack/test-utils';
import { io as connect } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createEventLog } from './__tests__/event-log';
import { connected } from './__tests__/start-socket-server';

const redis = await connectTestRedis();
const busPrefix = uniquePrefix('socket-io-presence-bus');
const storePrefix = uniquePrefix('socket-io-presence-store');
const nodeScript = fileURLToPath(new URL('./__tests__/socket-node-process.ts', import.meta.url));
const children: ChildProcess[] = [];

/** A Socket.IO node with presence (Engine.IO pings, and so heartbeats, every 200 ms). */
async function startNode(): Promise<{ url: string; child: ChildProcess }> {
  const { child, listening } = spawnListeningChild(nodeScript, [
    testRedisUrl,
    busPrefix,
    storePrefix,
    JSON.stringify(presenceKillTimings),
  ]);
  children.push(child);
  return { url: await listening, child };
}

afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => killAndWait(child)));
});

describe.skipIf(!redis)('Socket.IO with presence across processes', () => {
  const bus = redis ? createRedisBus({ redis, prefix: busPrefix }) : undefined;
  afterAll(async () => {
    if (!redis) return;
    await bus?.close();
    await deleteKeys(redis, busPrefix);
    await deleteKeys(redis, storePrefix);
    redis.disconnect();
  });

  it('a user on Socket.IO nodes A and B: kill -9 A keeps them online, kill -9 B → one presence.offline, seen from C', async () => {
    const tenantId = 'tenant-socket-kill';
    const offlineAfterMs = await expectOneOfflineAfterKills({
      bus: bus!,
      redis: redis!,
      storePrefix,
      tenantId,
      userId: 'agent-7',
      startNode,
      connect: async (node) => {
        const socket = connect(node.url, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
          auth: { token: `token:${tenantId}:agent-7` },
        });
        const log = createEventLog(socket);
        await connected(socket);
        // Asking for the presence diffs brings the members first.
        const answer = await socket
          .timeout(20_000)
          .emitWithAck('subscribe_to_calls', { types: ['presence.*'] });
        expect(answer).toEqual({ ok: true });
        await log.waitFor('presence_members');
        return () => socket.disconnect();
      },
    });
    console.info(`presence.offline seen from C ${offlineAfterMs} ms after kill -9 of B`);
  }, 30_000);
});

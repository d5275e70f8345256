import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRedisBus } from '@calltrack/bus/redis';
import {
  connectTestRedis,
  deleteKeys,
  expectOneOfflineAfterKills,
  killAndWait,
  openEventSource,
  presenceKillTimings,
  spawnListeningChild,
  testRedisUrl,
  uniquePrefix,
} from '@calltrack/test-utils';
import { afterAll, afterEach, describe, it } from 'vitest';

const redis = await connectTestRedis();
const busPrefix = uniquePrefix('sse-presence-bus');
const storePrefix = uniquePrefix('sse-presence-store');
const nodeScript = fileURLToPath(new URL('./__tests__/sse-node-process.ts', import.meta.url));
const children: ChildProcess[] = [];

/** An SSE node with presence (its keepalive heartbeats every 200 ms). */
async function startNode(): Promise<{ url: string; child: ChildProcess }> {
  const { child, listening } = spawnListeningChild(nodeScript, [
    testRedisUrl,
    busPrefix,
    storePrefix,
    JSON.stringify(presenceKillTimings),
  ]);
  children.push(child);
  return { url: `${await listening}/events`, child };
}

afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => killAndWait(child)));
});

describe.skipIf(!redis)('SSE with presence across processes', () => {
  const bus = redis ? createRedisBus({ redis, prefix: busPrefix }) : undefined;
  afterAll(async () => {
    if (!redis) return;
    await bus?.close();
    await deleteKeys(redis, busPrefix);
    await deleteKeys(redis, storePrefix);
    redis.disconnect();
  });

  it('a user on SSE nodes A and B: kill -9 A keeps them online, kill -9 B → one presence.offline, seen from C', async () => {
    const tenantId = 'tenant-sse-kill';
    const offlineAfterMs = await expectOneOfflineAfterKills({
      bus: bus!,
      redis: redis!,
      storePrefix,
      tenantId,
      userId: 'agent-7',
      startNode,
      connect: async (node) => {
        const source = openEventSource(node.url, `${tenantId}:agent-7`);
        // The stream starts with the members (registered before the stream answers).
        await source.until((received) => received.some((event) => event.type === 'presence'));
        return () => source.close();
      },
    });
    console.info(`presence.offline seen from C ${offlineAfterMs} ms after kill -9 of B`);
  }, 30_000);
});

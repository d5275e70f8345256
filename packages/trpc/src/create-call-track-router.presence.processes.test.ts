import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EventBus } from '@calltrack/bus';
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
import { afterAll, afterEach, describe, it } from 'vitest';
import { collectSubscription } from './__tests__/collect-subscription';
import { createTestClient, t } from './__tests__/start-test-server';
import type { CallStreamMessage } from './call-stream-message';
import { createCallTrackRouter } from './create-call-track-router';

const redis = await connectTestRedis();
const busPrefix = uniquePrefix('trpc-presence-bus');
const storePrefix = uniquePrefix('trpc-presence-store');
const nodeScript = fileURLToPath(new URL('./__tests__/trpc-node-process.ts', import.meta.url));
const children: ChildProcess[] = [];
const unsubscribes: Array<() => void> = [];

type Received = { id: string; data: CallStreamMessage };
/** The children's router, for the client's types (the one in `trpc-node-process.ts`). */
const routerType = (bus: EventBus) =>
  t.router({ calltrack: createCallTrackRouter({ t, bus, authenticate: () => null }) });
type AppRouter = ReturnType<typeof routerType>;

/** A tRPC node with presence (the router heartbeats every 200 ms). */
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
  for (const unsubscribe of unsubscribes.splice(0)) unsubscribe();
  await Promise.all(children.splice(0).map((child) => killAndWait(child)));
});

describe.skipIf(!redis)('tRPC with presence across processes', () => {
  const bus = redis ? createRedisBus({ redis, prefix: busPrefix }) : undefined;
  afterAll(async () => {
    if (!redis) return;
    await bus?.close();
    await deleteKeys(redis, busPrefix);
    await deleteKeys(redis, storePrefix);
    redis.disconnect();
  });

  it('a user on tRPC nodes A and B: kill -9 A keeps them online, kill -9 B → one presence.offline, seen from C', async () => {
    const tenantId = 'tenant-trpc-kill';
    const offlineAfterMs = await expectOneOfflineAfterKills({
      bus: bus!,
      redis: redis!,
      storePrefix,
      tenantId,
      userId: 'agent-7',
      startNode,
      connect: async (node) => {
        // All types: the members come first.
        const collector = collectSubscription<Received>();
        const subscription = createTestClient<AppRouter>(
          node.url,
          `tenant:${tenantId}:agent-7`,
        ).calltrack.onCallEvent.subscribe(undefined, collector.callbacks);
        const unsubscribe = () => subscription.unsubscribe();
        unsubscribes.push(unsubscribe);
        await collector.until(() =>
          collector.data.some((message) => message.data.type === 'presence'),
        );
        return unsubscribe;
      },
    });
    console.info(`presence.offline seen from C ${offlineAfterMs} ms after kill -9 of B`);
  }, 30_000);
});

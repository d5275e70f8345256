import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { createPresence, type Presence } from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import {
  collectBusEvents,
  connectTestRedis,
  deleteKeys,
  killAndWait,
  spawnTypeScript,
  testRedisUrl,
  uniquePrefix,
} from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { collectSubscription } from './__tests__/collect-subscription';
import { createTestClient, t } from './__tests__/start-test-server';
import type { CallStreamMessage } from './call-stream-message';
import { createCallTrackRouter } from './create-call-track-router';

const redis = await connectTestRedis();
const busPrefix = uniquePrefix('trpc-presence-bus');
const storePrefix = uniquePrefix('trpc-presence-store');
const nodeScript = fileURLToPath(new URL('./__tests__/trpc-node-process.ts', import.meta.url));

type Received = { id: string; data: CallStreamMessage };
/** The children's router, for the client's types (the one in `trpc-node-process.ts`). */
const routerType = (bus: EventBus) =>
  t.router({ calltrack: createCallTrackRouter({ t, bus, getPrincipal: () => null }) });
type AppRouter = ReturnType<typeof routerType>;

/**
 * Real-clock timings, as SSE's presence process test: the router heartbeats every 200 ms, a
 * connection is gone 1 s after its last heartbeat. Away is left out (`awayAfterMs` = the TTL): a
 * stalled child on two shared cores would flap, and this test is about crashes.
 */
const timings = {
  heartbeatIntervalMs: 200,
  awayAfterMs: 1000,
  connectionTtlMs: 1000,
  leaveDelayMs: 100,
  sweepIntervalMs: 200,
  publishLeaseMs: 500,
};
/** Slack for two shared cores: process scheduling, a GC pause. */
const tolerance = 600;

const children: ChildProcess[] = [];
const cleanups: Array<() => void> = [];

async function startNode(): Promise<{ url: string; child: ChildProcess }> {
  let onListening!: (url: string) => void;
  const listening = new Promise<string>((resolve) => {
    onListening = resolve;
  });
  const child = spawnTypeScript(nodeScript, {
    args: [testRedisUrl, busPrefix, storePrefix, JSON.stringify(timings)],
    onLine: (line) => {
      const [kind, url] = line.split(' ');
      if (kind === 'listening') onListening(url as string);
    },
  });
  children.push(child);
  return { url: await listening, child };
}

/** A subscription as `user` (all types, so the members come first); resolves once they have. */
async function subscribe(url: string, tenantId: string, user: string): Promise<() => void> {
  const collector = collectSubscription<Received>();
  const subscription = createTestClient<AppRouter>(
    url,
    `tenant:${tenantId}:${user}`,
  ).calltrack.onCallEvent.subscribe(undefined, collector.callbacks);
  const stop = () => subscription.unsubscribe();
  cleanups.push(stop);
  await collector.until(() => collector.data.some((message) => message.data.type === 'presence'));
  return stop;
}

afterEach(async () => {
  for (const stop of cleanups.splice(0)) stop();
  await Promise.all(children.splice(0).map((child) => killAndWait(child)));
});

describe.skipIf(!redis)('tRPC with presence across processes', () => {
  const bus = redis ? createRedisBus({ redis, prefix: busPrefix }) : undefined;
  const engines: Presence[] = [];
  afterAll(async () => {
    if (!redis) return;
    await Promise.all(engines.map((engine) => engine.stop()));
    await bus?.close();
    await deleteKeys(redis, busPrefix);
    await deleteKeys(redis, storePrefix);
    redis.disconnect();
  });

  it('a user on tRPC nodes A and B: kill -9 A keeps them online, kill -9 B → one presence.offline, seen from C', async () => {
    const tenantId = 'tenant-trpc-kill';
    // Server C: this process, with its own presence engine (sweeper running) on the same Redis.
    const c = createPresence({
      bus: bus!,
      store: createRedisPresenceStore({ redis: redis!, prefix: storePrefix }),
      ...timings,
      logger: {},
    });
    c.start();
    engines.push(c);
    const events = collectBusEvents(bus!.subscribe({ tenantId, types: ['presence.*'] }));
    const [a, b] = await Promise.all([startNode(), startNode()]);
    const stopA = await subscribe(a.url, tenantId, 'agent-7');
    const stopB = await subscribe(b.url, tenantId, 'agent-7');
    await events.waitFor((event) => event.type === 'presence.online');
    expect((await c.getPresence(tenantId, 'agent-7')).connections).toHaveLength(2);

    await killAndWait(a.child);
    stopA(); // the client would otherwise retry the dead node
    const deadline = Date.now() + 15_000;
    while ((await c.getPresence(tenantId, 'agent-7')).connections.length !== 1) {
      if (Date.now() > deadline) throw new Error("A's connection never expired");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await c.getPresence(tenantId, 'agent-7')).status).toBe('online');

    await killAndWait(b.child);
    stopB();
    const killedAt = Date.now();
    await events.waitFor((event) => event.type === 'presence.offline');
    const offline = events.received.find((entry) => entry.event.type === 'presence.offline')!;
    expect(offline.at - killedAt).toBeLessThanOrEqual(
      timings.connectionTtlMs + timings.sweepIntervalMs + tolerance,
    );
    await c.sweep();
    expect(events.received.map((entry) => entry.event.type)).toEqual([
      'presence.online',
      'presence.offline',
    ]);
    console.info(`presence.offline seen from C ${offline.at - killedAt} ms after kill -9 of B`);
  }, 30_000);
});

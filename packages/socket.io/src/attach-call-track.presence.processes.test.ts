import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createEventLog } from './__tests__/event-log';
import { connected } from './__tests__/start-socket-server';

const redis = await connectTestRedis();
const busPrefix = uniquePrefix('socket-io-presence-bus');
const storePrefix = uniquePrefix('socket-io-presence-store');
const nodeScript = fileURLToPath(new URL('./__tests__/socket-node-process.ts', import.meta.url));

/**
 * Real-clock timings, as SSE's presence process test: Engine.IO pings (and so presence
 * heartbeats) every 200 ms, a connection is gone 1 s after its last heartbeat. Away is left out
 * (`awayAfterMs` = the TTL): a stalled child on two shared cores would flap, and this test is
 * about crashes.
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
const sockets: Socket[] = [];

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

/** A socket that asks for the presence diffs (and so gets the members first). */
async function openSocket(url: string, token: string) {
  const socket = connect(url, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    auth: { token },
  });
  sockets.push(socket);
  const log = createEventLog(socket);
  await connected(socket);
  const answer = await socket
    .timeout(20_000)
    .emitWithAck('subscribe_to_calls', { types: ['presence.*'] });
  expect(answer).toEqual({ ok: true });
  await log.waitFor('presence_members');
  return socket;
}

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.disconnect();
  await Promise.all(children.splice(0).map((child) => killAndWait(child)));
});

describe.skipIf(!redis)('Socket.IO with presence across processes', () => {
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

  it('a user on Socket.IO nodes A and B: kill -9 A keeps them online, kill -9 B → one presence.offline, seen from C', async () => {
    const tenantId = 'tenant-socket-kill';
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
    const onA = await openSocket(a.url, `token:${tenantId}:agent-7`);
    await openSocket(b.url, `token:${tenantId}:agent-7`);
    await events.waitFor((event) => event.type === 'presence.online');
    // Registration follows the members snapshot on the other node by a moment.
    const deadline = Date.now() + 15_000;
    const connectionsOf = async () => (await c.getPresence(tenantId, 'agent-7')).connections.length;
    while ((await connectionsOf()) !== 2) {
      if (Date.now() > deadline) throw new Error('the two connections never registered');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    await killAndWait(a.child);
    onA.disconnect();
    while ((await connectionsOf()) !== 1) {
      if (Date.now() > deadline) throw new Error("A's connection never expired");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await c.getPresence(tenantId, 'agent-7')).status).toBe('online');

    await killAndWait(b.child);
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

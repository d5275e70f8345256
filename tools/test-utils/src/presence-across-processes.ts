import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { EventBus } from '@calltrack/bus';
import { createPresence, type Presence } from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import type { Redis } from 'ioredis';
import { collectBusEvents } from './collect-bus-events';
import { killAndWait } from './wait-for-exit';

/**
 * Real-clock presence timings for the transports' kill -9 tests: heartbeats every 200 ms, a
 * connection is gone 1 s after its last heartbeat. Away is left out (`awayAfterMs` = the TTL): a
 * stalled child on two shared cores would flap, and these tests are about crashes.
 */
export const presenceKillTimings = {
  heartbeatIntervalMs: 200,
  awayAfterMs: 1000,
  connectionTtlMs: 1000,
  leaveDelayMs: 100,
  sweepIntervalMs: 200,
  publishLeaseMs: 500,
};

/**
 * The presence engine of a transport node's child process, from its argv
 * (`<presence store prefix> <timings JSON>`): on a Redis store, heartbeats left to the transport
 * (`autoHeartbeat: false`, every `heartbeatIntervalMs`), sweeper running. Undefined without them.
 */
export function startChildPresence(
  bus: EventBus,
  redis: Redis,
  storePrefix: string | undefined,
  timingsJson: string | undefined,
): { presence: Presence; heartbeatIntervalMs: number } | undefined {
  if (storePrefix === undefined || timingsJson === undefined) return undefined;
  const timings = JSON.parse(timingsJson) as typeof presenceKillTimings;
  const presence = createPresence({
    bus,
    store: createRedisPresenceStore({ redis, prefix: storePrefix }),
    ...timings,
    autoHeartbeat: false,
  });
  presence.start();
  return { presence, heartbeatIntervalMs: timings.heartbeatIntervalMs };
}

/** Slack for two shared cores: process scheduling, a GC pause. */
const tolerance = 600;

/** Options of {@link expectOneOfflineAfterKills}. */
export interface PresenceKillOptions<Node extends { child: ChildProcess }> {
  bus: EventBus;
  redis: Redis;
  storePrefix: string;
  tenantId: string;
  userId: string;
  /** Starts a transport node (a child process with presence on `storePrefix`). */
  startNode(): Promise<Node>;
  /** Connects `userId` to a node; resolves once the connection streams; returns its close. */
  connect(node: Node): Promise<() => void>;
}

/**
 * A user connected to nodes A and B (child processes): `kill -9` of A keeps them online, and
 * `kill -9` of B gives exactly one `presence.offline`, seen from this process (server C, with a
 * presence engine of its own on the same Redis) within the TTL and a sweep. Returns how long
 * after B's kill the offline arrived.
 */
export async function expectOneOfflineAfterKills<Node extends { child: ChildProcess }>(
  options: PresenceKillOptions<Node>,
): Promise<number> {
  const { bus } = options;
  const engine = createPresence({
    bus,
    store: createRedisPresenceStore({ redis: options.redis, prefix: options.storePrefix }),
    ...presenceKillTimings,
    logger: {},
  });
  engine.start();
  try {
    return await killOneByOne(options, engine);
  } finally {
    await engine.stop();
  }
}

async function killOneByOne<Node extends { child: ChildProcess }>(
  options: PresenceKillOptions<Node>,
  engine: Presence,
): Promise<number> {
  const { bus, tenantId, userId } = options;
  const events = collectBusEvents(bus.subscribe({ tenantId, types: ['presence.*'] }));
  const [a, b] = await Promise.all([options.startNode(), options.startNode()]);
  const closeA = await options.connect(a);
  const closeB = await options.connect(b);
  await events.waitFor((event) => event.type === 'presence.online');
  const deadline = Date.now() + 15_000;
  const connectionsAre = async (count: number, what: string) => {
    while ((await engine.getPresence(tenantId, userId)).connections.length !== count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await connectionsAre(2, 'both connections registered');

  await killAndWait(a.child);
  closeA(); // a client would otherwise retry the dead node
  await connectionsAre(1, "A's connection expired");
  assert.equal((await engine.getPresence(tenantId, userId)).status, 'online');

  await killAndWait(b.child);
  closeB();
  const killedAt = Date.now();
  await events.waitFor((event) => event.type === 'presence.offline');
  const offline = events.received.find((entry) => entry.event.type === 'presence.offline')!;
  const offlineAfterMs = offline.at - killedAt;
  assert.ok(
    offlineAfterMs <=
      presenceKillTimings.connectionTtlMs + presenceKillTimings.sweepIntervalMs + tolerance,
    `presence.offline came ${offlineAfterMs} ms after the kill`,
  );
  await engine.sweep();
  assert.deepEqual(
    events.received.map((entry) => entry.event.type),
    ['presence.online', 'presence.offline'],
  );
  return offlineAfterMs;
}

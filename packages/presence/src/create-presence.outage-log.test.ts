import { createMemoryBus } from '@calltrack/bus';
import { RedisUnavailableError } from '@calltrack/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { createPresence } from './create-presence';
import { conformanceTimings } from './describe-presence-store';
import type { Presence } from './presence';
import type { PresenceStore } from './presence-store';

// A Redis Cluster with one master down, played by a memory store: the tenants in `down` cannot
// be reached (the store throws what the Redis store throws then), the others work.
const unreachable = () => new RedisUnavailableError({ message: 'Connection is closed.' });

function partlyDownStore(down: Set<string>, broken: Set<string>) {
  const store = createMemoryPresenceStore();
  const calls = { heartbeats: 0, sweeps: 0 };
  const check = (tenantId: string) => {
    if (down.has(tenantId)) throw unreachable();
  };
  const wrapped: PresenceStore = {
    ...store,
    async apply(operation) {
      if (operation.kind === 'heartbeat') calls.heartbeats += 1;
      check(operation.tenantId);
      return store.apply(operation);
    },
    async heartbeat(tenantId, beats, at, settings) {
      calls.heartbeats += 1;
      check(tenantId);
      return store.heartbeat!(tenantId, beats, at, settings);
    },
    async listTenants() {
      calls.sweeps += 1;
      return store.listTenants();
    },
    async sweep(tenantId, ...rest) {
      check(tenantId);
      if (broken.has(tenantId)) throw new TypeError('a bug in this tenant’s data');
      return store.sweep(tenantId, ...rest);
    },
  };
  return { store: wrapped, calls };
}

describe('presence’s outage log', () => {
  const stops: Presence[] = [];
  afterEach(async () => {
    for (const presence of stops.splice(0)) await presence.stop();
  });

  const start = (store: PresenceStore, clock: { now: () => number }, timings: object) => {
    const logged: { level: string; message: string }[] = [];
    const presence = createPresence({
      bus: createMemoryBus(),
      store,
      clock,
      ...conformanceTimings,
      ...timings,
      logger: {
        warn: (message) => logged.push({ level: 'warn', message }),
        error: (message) => logged.push({ level: 'error', message }),
      },
    });
    stops.push(presence);
    return { presence, logged };
  };

  /** Waits until `count` more calls happened, moving the clock `stepMs` at each look. */
  const waitFor = async (
    read: () => number,
    count: number,
    advance: (ms: number) => void,
    stepMs: number,
  ) => {
    const until = read() + count;
    while (read() < until) {
      advance(stepMs);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it('says heartbeats work again only after two intervals without a failure, not while one tenant stays down', async () => {
    const down = new Set<string>();
    const { store, calls } = partlyDownStore(down, new Set());
    let now = Date.parse('2026-12-06T10:00:00.000Z');
    // The wheel turns on real timers: the clock moves 5 ms per 10 ms or more of real time, so a
    // connection's next turn (250 ms of real time) always comes before 250 ms of this clock.
    const advance = (ms: number) => {
      now += ms;
    };
    const { presence, logged } = start(
      store,
      { now: () => now },
      // The wheel's real timer ticks every 10 ms; each connection's turn comes every 250 ms.
      { heartbeatIntervalMs: 250, sweepIntervalMs: 60_000 },
    );
    presence.start();
    await presence.connect({ tenantId: 'tenant-a', userId: 'a1' });
    await presence.connect({ tenantId: 'tenant-b', userId: 'b1' });
    await waitFor(() => calls.heartbeats, 2, advance, 5);

    down.add('tenant-a');
    // Ten turns of each connection: tenant-b's keep working in between tenant-a's failures.
    await waitFor(() => calls.heartbeats, 20, advance, 5);
    expect(logged).toEqual([
      {
        level: 'error',
        message: 'Heartbeats fail: Redis cannot be reached; reported once, until one works again.',
      },
    ]);

    down.delete('tenant-a');
    while (logged.length < 2) {
      advance(5);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(logged.slice(1)).toEqual([
      {
        level: 'warn',
        message: expect.stringMatching(/^Heartbeats work again after [\d.]+ s and \d+ failures/),
      },
    ]);
  });

  it('ends a sweep outage once Redis answers, though one tenant keeps failing for another reason', async () => {
    const down = new Set<string>();
    const broken = new Set<string>(['tenant-bad']);
    const { store, calls } = partlyDownStore(down, broken);
    let now = Date.parse('2026-12-06T10:00:00.000Z');
    const advance = (ms: number) => {
      now += ms;
    };
    const { presence, logged } = start(
      store,
      { now: () => now },
      { sweepIntervalMs: 20, autoHeartbeat: false },
    );
    await presence.connect({ tenantId: 'tenant-a', userId: 'a1' });
    await presence.connect({ tenantId: 'tenant-bad', userId: 'x1' });
    presence.start();
    const outage = async () => {
      down.add('tenant-a');
      await waitFor(() => calls.sweeps, 2, advance, 100);
      down.delete('tenant-a');
      await waitFor(() => calls.sweeps, 2, advance, 100);
    };
    await outage();
    await outage();
    const outageLines = logged
      .map((entry) => `${entry.level} ${entry.message.split(':')[0]!.split(' after')[0]}`)
      .filter((line) => line.includes('Sweeps'));
    expect(outageLines).toEqual([
      'error Sweeps fail',
      'warn Sweeps work again',
      'error Sweeps fail',
      'warn Sweeps work again',
    ]);
    // The bug is reported every time, as it is.
    expect(
      logged.filter((entry) => entry.message.startsWith('Sweeping a tenant failed')).length,
    ).toBeGreaterThanOrEqual(8);
  });
});

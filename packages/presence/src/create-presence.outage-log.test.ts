import { createMemoryBus } from '@calltrack/bus';
import { RedisUnavailableError } from '@calltrack/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
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
    vi.useRealTimers();
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

  /**
   * Moves the engine's timers (the heartbeat wheel's tick, the sweeper's interval: the test's,
   * faked) and its clock together, `stepMs` at a time, each step's work ended before the next:
   * what a run does and logs does not depend on how loaded the machine is.
   */
  const fakeTimers = (clock: { now: number }) => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    return async (totalMs: number, stepMs: number) => {
      for (let moved = 0; moved < totalMs; moved += stepMs) {
        clock.now += stepMs;
        vi.advanceTimersByTime(stepMs);
        // The memory store answers in microtasks: one real macrotask ends the step's work.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    };
  };

  it('says heartbeats work again only after two intervals without a failure, not while one tenant stays down', async () => {
    const down = new Set<string>();
    const { store, calls } = partlyDownStore(down, new Set());
    const clock = { now: Date.parse('2026-12-06T10:00:00.000Z') };
    const move = fakeTimers(clock);
    const heartbeatIntervalMs = 250;
    const { presence, logged } = start(
      store,
      { now: () => clock.now },
      // The wheel ticks every 10 ms; each connection's turn comes every 250 ms.
      { heartbeatIntervalMs, sweepIntervalMs: 60_000 },
    );
    presence.start();
    await presence.connect({ tenantId: 'tenant-a', userId: 'a1' });
    await presence.connect({ tenantId: 'tenant-b', userId: 'b1' });
    const turns = (count: number) => move(count * heartbeatIntervalMs, 10);
    await turns(1);
    expect(calls.heartbeats).toBe(2);

    down.add('tenant-a');
    // Ten turns of each connection: tenant-b's keep working in between tenant-a's failures.
    await turns(10);
    expect(calls.heartbeats).toBe(22);
    expect(logged).toEqual([
      {
        level: 'error',
        message: 'Heartbeats fail: Redis cannot be reached; reported once, until one works again.',
      },
    ]);

    down.delete('tenant-a');
    // One interval after tenant-a's last failure is not enough: its heartbeat works, but a lagging
    // tick could have made that interval look quiet while it was still down.
    await turns(1);
    expect(logged).toHaveLength(1);
    await turns(1);
    expect(logged.slice(1)).toEqual([
      {
        level: 'warn',
        message: expect.stringMatching(
          /^Heartbeats work again after \d+\.\d s and 10 failures \(only the first was reported\)\.$/,
        ),
      },
    ]);
  });

  it('ends a sweep outage once Redis answers, though one tenant keeps failing for another reason', async () => {
    const down = new Set<string>();
    const broken = new Set<string>(['tenant-bad']);
    const { store, calls } = partlyDownStore(down, broken);
    const clock = { now: Date.parse('2026-12-06T10:00:00.000Z') };
    const move = fakeTimers(clock);
    const sweepIntervalMs = 20;
    const { presence, logged } = start(
      store,
      { now: () => clock.now },
      { sweepIntervalMs, autoHeartbeat: false },
    );
    await presence.connect({ tenantId: 'tenant-a', userId: 'a1' });
    await presence.connect({ tenantId: 'tenant-bad', userId: 'x1' });
    presence.start();
    const sweeps = (count: number) => move(count * sweepIntervalMs, sweepIntervalMs);
    const outage = async () => {
      down.add('tenant-a');
      await sweeps(2);
      down.delete('tenant-a');
      await sweeps(2);
    };
    await outage();
    await outage();
    expect(calls.sweeps).toBe(8);
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
      logged.filter((entry) => entry.message.startsWith('Sweeping a tenant failed')),
    ).toHaveLength(8);
  });
});

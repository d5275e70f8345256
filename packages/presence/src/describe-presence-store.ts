import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createMemoryBus } from '@calltrack/bus';
import {
  BusUnavailableError,
  type CallEvent,
  type ConformanceTestApi,
  type EventSink,
  InvalidArgumentError,
  PayloadTooLargeError,
  UnknownTenantError,
} from '@calltrack/core';
import { createPresence } from './create-presence';
import type { Presence, PresenceOptions } from './presence';
import type { PresenceStore, PresenceStoreSettings } from './presence-store';
import type { UserMessageData } from './to-message-event';
import type { PresenceEventData } from './to-presence-event';
import { TooManyConnectionsError } from './too-many-connections-error';

/** Options of {@link describePresenceStore}. */
export interface PresenceStoreSuiteOptions {
  /** Shown in the test names. */
  name: string;
  /** A fresh, empty store for one test, and what to run after it. */
  createStore: () => Promise<{ store: PresenceStore; cleanup?: () => Promise<void> }>;
}

/** The timings every test runs with (ms): a heartbeat each second. */
export const conformanceTimings = {
  heartbeatIntervalMs: 1000,
  awayAfterMs: 1600,
  connectionTtlMs: 2400,
  leaveDelayMs: 500,
  /** Shorter than `awayAfterMs`, so that a lease runs out while its user is still online. */
  publishLeaseMs: 1200,
} as const;

const t0 = Date.parse('2026-11-21T10:00:00.000Z');

/** Store settings matching {@link conformanceTimings}, for tests that call a store directly. */
export function conformanceSettings(): PresenceStoreSettings {
  return {
    connectionTtlMs: conformanceTimings.connectionTtlMs,
    awayAfterMs: conformanceTimings.awayAfterMs,
    leaveDelayMs: conformanceTimings.leaveDelayMs,
    publishLeaseMs: conformanceTimings.publishLeaseMs,
    offlineRetentionMs: 24 * 3_600_000,
    maxConnectionsPerUser: 16,
    queueMaxMessages: 1000,
    queueMaxAgeMs: 24 * 3_600_000,
    deliveryBatchSize: 100,
  };
}

/** A memory bus that records what it accepted and can be told to fail. */
interface RecordingBus extends EventSink {
  /** Events accepted (not duplicates), in publish order. */
  accepted: CallEvent[];
  /** While true for an event, publishing it throws `BusUnavailableError`. */
  failWhen: (event: CallEvent) => boolean;
}

/** One test's world: a clock, a bus, and presence engines ("processes") on one store. */
interface Harness {
  store: PresenceStore;
  bus: RecordingBus;
  /** The shared clock. */
  now(): number;
  advance(ms: number): void;
  /** A new engine (a process) on the shared store, bus and clock. */
  engine(options?: Partial<PresenceOptions>): Presence;
  /** Presence events of a user, in publish order. */
  transitions(userId: string, tenantId?: string): CallEvent[];
  /** Message events of a user, in publish order. */
  messages(userId: string, tenantId?: string): CallEvent[];
  warnings: string[];
}

/**
 * The contract every presence store must honour, checked through `createPresence` with several
 * engines (standing for processes) on one store, one bus and one injected clock. The memory and
 * Redis stores run these very tests; run them on your own store:
 *
 * @example
 * import { afterEach, describe, it } from 'vitest';
 * import { describePresenceStore } from '@calltrack/presence/testing';
 * describePresenceStore({ describe, it, afterEach }, {
 *   name: 'my store',
 *   createStore: async () => ({ store: createMyStore() }),
 * });
 */
export function describePresenceStore(
  test: ConformanceTestApi,
  options: PresenceStoreSuiteOptions,
): void {
  const { describe, it, afterEach } = test;

  describe(`PresenceStore conformance: ${options.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
    });

    const harness = async (): Promise<Harness> => {
      const { store, cleanup } = await options.createStore();
      let time = t0;
      const now = (): number => time;
      const inner = createMemoryBus({ clock: { now } });
      const engines: Presence[] = [];
      cleanups.push(async () => {
        // Engines are not stopped (that would disconnect their connections): nothing of theirs
        // runs on timers, and their background work is done once the test awaited it.
        await inner.close();
        await cleanup?.();
      });
      const bus: RecordingBus = {
        accepted: [],
        failWhen: () => false,
        async publish(event) {
          if (bus.failWhen(event)) throw new BusUnavailableError({ message: 'bus down (test)' });
          const result = await inner.publish(event);
          if (!result.duplicate) bus.accepted.push(event);
          return result;
        },
      };
      const warnings: string[] = [];
      const of =
        (prefix: string) =>
        (userId: string, tenantId = 'tenant-a') =>
          bus.accepted.filter(
            (event) =>
              event.type.startsWith(prefix) &&
              event.userId === userId &&
              event.tenantId === tenantId,
          );
      return {
        store,
        bus,
        now,
        advance: (ms) => {
          time += ms;
        },
        engine: (options = {}) => {
          const engine = createPresence({
            bus,
            store,
            clock: { now },
            ...conformanceTimings,
            autoHeartbeat: false,
            logger: { warn: (message) => warnings.push(message) },
            ...options,
          });
          engines.push(engine);
          return engine;
        },
        transitions: of('presence.'),
        messages: of('user.message'),
        warnings,
      };
    };

    const typesOf = (events: readonly CallEvent[]): string[] => events.map((event) => event.type);
    const dataOf = (event: CallEvent | undefined): PresenceEventData =>
      event?.data as unknown as PresenceEventData;
    const messageOf = (event: CallEvent): UserMessageData =>
      event.data as unknown as UserMessageData;
    /**
     * Waits until background work (a delivery started by `connect`) made `condition` true. The
     * real clock only bounds the wait; the assertions that follow check exact counts.
     */
    const eventually = async (condition: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!condition()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };

    describe('connectivity', () => {
      it('publishes presence.online on the first connection only, with the snapshot', async () => {
        const world = await harness();
        const [a, b] = [world.engine(), world.engine()];
        await a.connect({
          tenantId: 'tenant-a',
          userId: 'u1',
          connectionId: 'c1',
          data: { device: 'desk' },
        });
        world.advance(10);
        await b.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'c2' });
        await a.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'c3' });
        const events = world.transitions('u1');
        assert.deepEqual(typesOf(events), ['presence.online']);
        const event = events[0]!;
        assert.equal(event.provider, 'calltrack');
        assert.equal(event.occurredAt, new Date(t0).toISOString());
        assert.deepEqual(dataOf(event), {
          previousStatus: 'offline',
          presence: {
            tenantId: 'tenant-a',
            userId: 'u1',
            status: 'online',
            state: 'available',
            since: new Date(t0).toISOString(),
            // A record's versions start at the time it was made (t0), so its first event is t0 + 1.
            version: t0 + 1,
            connections: [
              {
                connectionId: 'c1',
                status: 'online',
                leaving: false,
                connectedAt: new Date(t0).toISOString(),
                lastSeenAt: new Date(t0).toISOString(),
                data: { device: 'desk' },
              },
            ],
          },
        });
        const presence = await b.getPresence('tenant-a', 'u1');
        assert.equal(presence.status, 'online');
        assert.equal(presence.version, t0 + 1);
        assert.deepEqual(
          presence.connections.map((member) => member.connectionId),
          ['c1', 'c2', 'c3'],
        );
      });

      it('publishes presence.offline once, after the last connection left and the leave delay passed', async () => {
        const world = await harness();
        const [a, b] = [world.engine(), world.engine()];
        const first = await a.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'c1' });
        const second = await b.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'c2' });
        await first.disconnect();
        world.advance(conformanceTimings.leaveDelayMs);
        await a.sweep();
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);
        await second.disconnect();
        assert.equal(second.closed, true);
        world.advance(conformanceTimings.leaveDelayMs - 1);
        await Promise.all([a.sweep(), b.sweep()]);
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);
        const leaving = await a.getPresence('tenant-a', 'u1');
        assert.equal(leaving.status, 'online');
        assert.deepEqual(
          leaving.connections.map((member) => [member.connectionId, member.leaving]),
          [['c2', true]],
        );
        world.advance(1);
        await Promise.all([a.sweep(), b.sweep(), world.engine().sweep()]);
        const events = world.transitions('u1');
        assert.deepEqual(typesOf(events), ['presence.online', 'presence.offline']);
        assert.equal(dataOf(events[1]).previousStatus, 'online');
        assert.deepEqual(dataOf(events[1]).presence.connections, []);
        assert.equal((await b.getPresence('tenant-a', 'u1')).status, 'offline');
      });

      it('emits nothing for a page reload: a reconnect within the leave delay', async () => {
        const world = await harness();
        const engine = world.engine();
        const before = await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        await before.disconnect();
        world.advance(200);
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        world.advance(conformanceTimings.leaveDelayMs);
        await engine.sweep();
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);
        assert.equal((await engine.getPresence('tenant-a', 'u1')).connections.length, 1);
      });

      it('ignores a late close of an earlier life of a reused connection id', async () => {
        const world = await harness();
        const [a, b] = [world.engine(), world.engine()];
        // u1's old socket closes with the leave delay, u2's at once (a logout): each close arrives
        // after the same connection id connected again, on another process.
        for (const [userId, immediate] of [
          ['u1', false],
          ['u2', true],
        ] as const) {
          const old = await a.connect({ tenantId: 'tenant-a', userId, connectionId: 'c1' });
          world.advance(100);
          const renewed = await b.connect({ tenantId: 'tenant-a', userId, connectionId: 'c1' });
          await old.disconnect({ immediate });
          assert.equal(old.closed, true);
          world.advance(conformanceTimings.leaveDelayMs);
          await renewed.heartbeat();
          await Promise.all([a.sweep(), b.sweep()]);
          assert.deepEqual(typesOf(world.transitions(userId)), ['presence.online']);
          const presence = await b.getPresence('tenant-a', userId);
          assert.equal(presence.status, 'online');
          assert.deepEqual(
            presence.connections.map((member) => [member.connectionId, member.leaving]),
            [['c1', false]],
          );
          // The new life's own close ends it.
          await renewed.disconnect({ immediate: true });
          assert.deepEqual(typesOf(world.transitions(userId)), [
            'presence.online',
            'presence.offline',
          ]);
        }
      });

      it('leaves at once with disconnect({ immediate: true })', async () => {
        const world = await harness();
        const engine = world.engine();
        const connection = await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        await connection.disconnect({ immediate: true });
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online', 'presence.offline']);
        // A second disconnect, a heartbeat or an update after it do nothing.
        await connection.disconnect();
        await connection.heartbeat();
        await connection.update({ late: true });
        assert.equal(world.transitions('u1').length, 2);
      });

      it('goes away without heartbeats, back online with one, offline after the TTL', async () => {
        const world = await harness();
        const engine = world.engine();
        const connection = await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        world.advance(conformanceTimings.heartbeatIntervalMs);
        await connection.heartbeat();
        world.advance(conformanceTimings.awayAfterMs - 1);
        await engine.sweep();
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);
        world.advance(1);
        await engine.sweep();
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online', 'presence.away']);
        const away = await engine.getPresence('tenant-a', 'u1');
        assert.equal(away.status, 'away');
        assert.equal(away.connections[0]?.status, 'away');
        await connection.heartbeat();
        assert.deepEqual(typesOf(world.transitions('u1')), [
          'presence.online',
          'presence.away',
          'presence.online',
        ]);
        world.advance(conformanceTimings.connectionTtlMs);
        await engine.sweep();
        const events = world.transitions('u1');
        assert.deepEqual(typesOf(events), [
          'presence.online',
          'presence.away',
          'presence.online',
          'presence.offline',
        ]);
        assert.deepEqual(
          events.map((event) => dataOf(event).presence.version),
          [t0 + 1, t0 + 2, t0 + 3, t0 + 4],
        );
        assert.equal(new Set(events.map((event) => event.id)).size, 4);
      });

      it('is away when the app sets every connection away, online while one is not', async () => {
        const world = await harness();
        const engine = world.engine();
        const desk = await engine.connect({
          tenantId: 'tenant-a',
          userId: 'u1',
          connectionId: 'desk',
        });
        const phone = await engine.connect({
          tenantId: 'tenant-a',
          userId: 'u1',
          connectionId: 'phone',
        });
        await desk.setAway(true);
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);
        await phone.setAway(true);
        await desk.heartbeat(); // a heartbeat does not end an app-set away
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online', 'presence.away']);
        await phone.setAway(false);
        assert.deepEqual(typesOf(world.transitions('u1')), [
          'presence.online',
          'presence.away',
          'presence.online',
        ]);
        const presence = await engine.getPresence('tenant-a', 'u1');
        assert.deepEqual(
          presence.connections.map((member) => member.status),
          ['away', 'online'],
        );
      });

      it('keeps a connection set away alive and away with its heartbeats, idling on time once set back', async () => {
        const world = await harness();
        const engine = world.engine();
        const desk = await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        await desk.setAway(true);
        // Longer than the TTL, heartbeating: still there, still away, nothing published.
        for (let beat = 0; beat < 4; beat += 1) {
          world.advance(conformanceTimings.heartbeatIntervalMs);
          await desk.heartbeat();
          await engine.sweep();
        }
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online', 'presence.away']);
        const away = await engine.getPresence('tenant-a', 'u1');
        assert.equal(away.status, 'away');
        assert.equal(away.connections[0]?.lastSeenAt, new Date(world.now()).toISOString());
        const lastBeat = world.now();
        // Set back: active until awayAfterMs after its last heartbeat, not after the connect.
        world.advance(conformanceTimings.awayAfterMs - 1);
        await desk.setAway(false);
        await engine.sweep();
        assert.deepEqual(typesOf(world.transitions('u1')), [
          'presence.online',
          'presence.away',
          'presence.online',
        ]);
        world.advance(1);
        await engine.sweep();
        const events = world.transitions('u1');
        assert.deepEqual(typesOf(events).slice(3), ['presence.away']);
        assert.equal(
          events[3]?.occurredAt,
          new Date(lastBeat + conformanceTimings.awayAfterMs).toISOString(),
        );
      });

      it('ends a heartbeat of a connection set away the same in a batch as alone', async () => {
        const world = await harness();
        const settings = conformanceSettings();
        const at = world.now();
        const op = { tenantId: 'tenant-a', settings } as const;
        for (const userId of ['batched', 'alone']) {
          await world.store.apply({ ...op, kind: 'connect', userId, connectionId: 'c1', at });
          await world.store.apply({ ...op, kind: 'state', userId, state: 'break', at });
          await world.store.apply({
            ...op,
            kind: 'away',
            userId,
            connectionId: 'c1',
            away: true,
            at,
          });
        }
        const later = at + conformanceTimings.heartbeatIntervalMs;
        if (world.store.heartbeat) {
          const [report] = await world.store.heartbeat(
            'tenant-a',
            [{ userId: 'batched', connectionId: 'c1' }],
            later,
            settings,
          );
          const outcome = typeof report === 'object' ? report.outcome : report;
          // `slow` is allowed (the engine then applies it alone); `ok` must have done the same.
          if (outcome === 'slow') {
            await world.store.apply({
              ...op,
              kind: 'heartbeat',
              userId: 'batched',
              connectionId: 'c1',
              at: later,
            });
          } else {
            assert.equal(outcome, 'ok');
            if (typeof report === 'object') {
              assert.deepEqual(report, { outcome: 'ok', state: 'break', stateAt: at });
            }
          }
        } else {
          await world.store.apply({
            ...op,
            kind: 'heartbeat',
            userId: 'batched',
            connectionId: 'c1',
            at: later,
          });
        }
        const alone = await world.store.apply({
          ...op,
          kind: 'heartbeat',
          userId: 'alone',
          connectionId: 'c1',
          at: later,
          read: true,
        });
        assert.equal(alone.outcome, 'ok');
        assert.equal(alone.transition, undefined);
        const readAt = later + conformanceTimings.awayAfterMs;
        const read = async (userId: string) => {
          const { record } = await world.store.apply({
            ...op,
            kind: 'settle',
            userId,
            at: readAt,
            read: true,
          });
          return { ...record, userId: 'same' };
        };
        const batched = await read('batched');
        assert.deepEqual(batched, await read('alone'));
        assert.equal(batched.status, 'away');
        assert.deepEqual(
          batched.connections?.map((connection) => [
            connection.away,
            connection.lastSeenAt,
            connection.expiresAt,
            connection.idleAt,
          ]),
          [[true, later, later + settings.connectionTtlMs, later + settings.awayAfterMs]],
        );
      });

      it('decides at a heartbeat what the connections say then, without waiting for a sweep', async () => {
        const world = await harness();
        const engine = world.engine();
        const desk = await engine.connect({
          tenantId: 'tenant-a',
          userId: 'u1',
          connectionId: 'desk',
        });
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'phone' });
        await desk.setAway(true);
        world.advance(conformanceTimings.awayAfterMs); // the phone idles; nobody swept
        await desk.heartbeat();
        const events = world.transitions('u1');
        assert.deepEqual(typesOf(events), ['presence.online', 'presence.away']);
        assert.equal(events[1]?.occurredAt, new Date(world.now()).toISOString());
      });

      it('applies heartbeats made together like one by one, whatever each needs', async () => {
        const world = await harness();
        const [a, b] = [world.engine(), world.engine()];
        const steady = await a.connect({ tenantId: 'tenant-a', userId: 'steady' });
        const other = await a.connect({ tenantId: 'tenant-b', userId: 'steady' });
        const swept = await a.connect({ tenantId: 'tenant-a', userId: 'swept', data: 'kept' });
        const closed = await a.connect({ tenantId: 'tenant-a', userId: 'closed' });
        await closed.disconnect();
        world.advance(400);
        const idle = await a.connect({ tenantId: 'tenant-a', userId: 'idle' });
        for (const at of [1000, 2000]) {
          world.advance(t0 + at - world.now());
          await Promise.all([steady.heartbeat(), other.heartbeat()]);
        }
        world.advance(400); // 2400: swept expires, idle has idled since 2000
        await b.sweep();
        await Promise.all([
          steady.heartbeat(), // refreshed in the batch
          idle.heartbeat(), // away: the full rules bring the user back online
          swept.heartbeat(), // gone: registered again, with its data
          other.heartbeat(), // another tenant: another batch
          closed.heartbeat(), // disconnected: nothing
        ]);
        assert.deepEqual(typesOf(world.transitions('steady')), ['presence.online']);
        assert.deepEqual(typesOf(world.transitions('steady', 'tenant-b')), ['presence.online']);
        assert.deepEqual(typesOf(world.transitions('idle')), [
          'presence.online',
          'presence.away',
          'presence.online',
        ]);
        const sweptEvents = world.transitions('swept');
        assert.deepEqual(typesOf(sweptEvents), [
          'presence.online',
          'presence.offline',
          'presence.online',
        ]);
        assert.equal(dataOf(sweptEvents[2]).presence.connections[0]?.data, 'kept');
        assert.deepEqual(typesOf(world.transitions('closed')), [
          'presence.online',
          'presence.offline',
        ]);
        assert.deepEqual(
          (await b.listMembers('tenant-a')).map((member) => [member.userId, member.status]),
          [
            ['idle', 'online'],
            ['steady', 'online'],
            ['swept', 'online'],
          ],
        );
      });

      it('decides one presence.online when three processes connect the same user at once', async () => {
        const world = await harness();
        const engines = [world.engine(), world.engine(), world.engine()];
        await Promise.all(
          engines.map((engine, index) =>
            engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: `c${index}` }),
          ),
        );
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);
        assert.equal((await engines[0]!.getPresence('tenant-a', 'u1')).connections.length, 3);
      });

      it('keeps a user online when one process crashes, and decides one offline when the last does', async () => {
        const world = await harness();
        const [a, b, c] = [world.engine(), world.engine(), world.engine()];
        await a.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'on-a' });
        const onB = await b.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'on-b' });
        // A dies: its connection is never heartbeated again. B keeps beating.
        for (let beat = 0; beat < 4; beat += 1) {
          world.advance(conformanceTimings.heartbeatIntervalMs);
          await onB.heartbeat();
          await Promise.all([b.sweep(), c.sweep()]);
        }
        const survivor = await c.getPresence('tenant-a', 'u1');
        assert.equal(survivor.status, 'online');
        assert.deepEqual(
          survivor.connections.map((member) => member.connectionId),
          ['on-b'],
        );
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);
        // B dies too. Every surviving process sweeps at once; one offline is decided.
        world.advance(conformanceTimings.connectionTtlMs);
        await Promise.all([c.sweep(), c.sweep(), world.engine().sweep()]);
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online', 'presence.offline']);
      });

      it('brings back a connection that expired while its process was paused, with its data', async () => {
        const world = await harness();
        const [a, b] = [world.engine(), world.engine()];
        const connection = await a.connect({
          tenantId: 'tenant-a',
          userId: 'u1',
          connectionId: 'c1',
          data: { tab: 1 },
        });
        world.advance(conformanceTimings.connectionTtlMs);
        await b.sweep();
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online', 'presence.offline']);
        await connection.heartbeat();
        const events = world.transitions('u1');
        assert.deepEqual(typesOf(events), [
          'presence.online',
          'presence.offline',
          'presence.online',
        ]);
        assert.deepEqual(dataOf(events[2]).presence.connections[0]?.data, { tab: 1 });
        // Expired but not swept yet: a heartbeat revives it in place, with no event at all.
        world.advance(conformanceTimings.connectionTtlMs + 1);
        await connection.heartbeat();
        await b.sweep();
        assert.equal(world.transitions('u1').length, 3);
        assert.equal((await b.getPresence('tenant-a', 'u1')).status, 'online');
      });

      it('answers reads as of now, publishing what expired since the last sweep', async () => {
        const world = await harness();
        const [a, b] = [world.engine(), world.engine()];
        await a.connect({ tenantId: 'tenant-a', userId: 'u1' });
        const u2 = await a.connect({ tenantId: 'tenant-a', userId: 'u2' });
        world.advance(conformanceTimings.connectionTtlMs - 1);
        await u2.heartbeat();
        world.advance(1);
        assert.deepEqual(await b.countOnline('tenant-a'), { online: 1, away: 0 });
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online', 'presence.offline']);
        assert.deepEqual(
          (await b.listMembers('tenant-a')).map((member) => member.userId),
          ['u2'],
        );
        await a.connect({ tenantId: 'tenant-a', userId: 'u1' });
        world.advance(conformanceTimings.awayAfterMs);
        assert.equal((await b.getPresence('tenant-a', 'u1')).status, 'away');
        assert.deepEqual(typesOf(world.transitions('u1')).slice(-2), [
          'presence.online',
          'presence.away',
        ]);
      });
    });

    describe('state, data and reads', () => {
      it('publishes presence.updated when the state or a connection’s data changes, and only then', async () => {
        const world = await harness();
        const engine = world.engine();
        const connection = await engine.connect({
          tenantId: 'tenant-a',
          userId: 'u1',
          data: { page: 'home' },
        });
        const onBreak = await engine.setState('tenant-a', 'u1', 'break');
        assert.equal(onBreak.state, 'break');
        await engine.setState('tenant-a', 'u1', 'break');
        await connection.update({ page: 'calls' });
        await connection.update({ page: 'calls' });
        const events = world.transitions('u1');
        assert.deepEqual(typesOf(events), [
          'presence.online',
          'presence.updated',
          'presence.updated',
        ]);
        assert.equal(dataOf(events[1]).presence.state, 'break');
        assert.equal(dataOf(events[1]).previousStatus, 'online');
        assert.deepEqual(dataOf(events[2]).presence.connections[0]?.data, { page: 'calls' });
        assert.deepEqual(
          events.map((event) => dataOf(event).presence.version),
          [t0 + 1, t0 + 2, t0 + 3],
        );
      });

      it('keeps the state of an offline user, and sets one for a user never seen', async () => {
        const world = await harness();
        const engine = world.engine();
        const unknown = await engine.getPresence('tenant-a', 'ghost');
        assert.deepEqual(unknown, {
          tenantId: 'tenant-a',
          userId: 'ghost',
          status: 'offline',
          state: 'available',
          version: 0,
          connections: [],
        });
        const set = await engine.setState('tenant-a', 'u1', 'wrap-up');
        assert.equal(set.status, 'offline');
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.updated']);
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        const online = world.transitions('u1')[1];
        assert.equal(online?.type, 'presence.online');
        assert.equal(dataOf(online).presence.state, 'wrap-up');
      });

      it('gives a record without a state the one a connection registering again knew', async () => {
        const world = await harness();
        const settings = conformanceSettings();
        const at = world.now();
        const op = { tenantId: 'tenant-a', settings, read: true } as const;
        // The store lost the user (a restart without persistence); their connection comes back.
        const restored = await world.store.apply({
          ...op,
          kind: 'connect',
          userId: 'u1',
          connectionId: 'c1',
          state: 'break',
          at,
        });
        assert.equal(restored.record?.state, 'break');
        assert.equal(restored.transition?.type, 'presence.online');
        assert.equal(restored.transition?.record.state, 'break');
        // A record made meanwhile without a state (a message sent to the user) takes it too.
        await world.store.apply({
          ...op,
          kind: 'send',
          userId: 'u2',
          messageId: 'm1',
          body: '1',
          at,
        });
        const fromSend = await world.store.apply({
          ...op,
          kind: 'connect',
          userId: 'u2',
          connectionId: 'c2',
          state: 'lunch',
          at,
        });
        assert.equal(fromSend.record?.state, 'lunch');
        // A record that has a state keeps it: the connection's may be older.
        await world.store.apply({ ...op, kind: 'state', userId: 'u3', state: 'wrap-up', at });
        const kept = await world.store.apply({
          ...op,
          kind: 'connect',
          userId: 'u3',
          connectionId: 'c3',
          state: 'break',
          at,
        });
        assert.equal(kept.record?.state, 'wrap-up');
        assert.equal(kept.transition?.type, 'presence.online');
        // Where connections learn the state: a heartbeat read, and a batch that reports it.
        const beat = await world.store.apply({
          ...op,
          kind: 'heartbeat',
          userId: 'u1',
          connectionId: 'c1',
          at: at + 1,
        });
        assert.equal(beat.outcome, 'ok');
        assert.equal(beat.record?.state, 'break');
        if (world.store.heartbeat) {
          const reports = await world.store.heartbeat(
            'tenant-a',
            [
              { userId: 'u3', connectionId: 'c3' },
              { userId: 'u1', connectionId: 'gone' },
            ],
            at + 2,
            settings,
          );
          const [first, second] = reports;
          // A bare outcome is allowed (the connection then forgets the state); a report is right.
          assert.equal(typeof first === 'object' ? first.outcome : first, 'ok');
          if (typeof first === 'object') assert.equal(first.state, 'wrap-up');
          assert.equal(typeof second === 'object' ? second.outcome : second, 'missing');
        }
      });

      it('gives a lost record the newest state its connections knew, whatever order they come back in', async () => {
        const world = await harness();
        const settings = conformanceSettings();
        const at = world.now();
        const op = { tenantId: 'tenant-a', userId: 'u1', settings, read: true } as const;
        // The state records when it was set; the connections learn that time with it.
        await world.store.apply({ ...op, kind: 'state', state: 'available', at });
        const heard = await world.store.apply({
          ...op,
          kind: 'connect',
          connectionId: 'desk',
          at: at + 1,
        });
        assert.equal(heard.record?.state, 'available');
        assert.equal(heard.record?.stateAt, at);
        await world.store.apply({ ...op, kind: 'state', state: 'break', at: at + 2 });
        const beat = await world.store.apply({
          ...op,
          kind: 'heartbeat',
          connectionId: 'desk',
          at: at + 3,
        });
        assert.equal(beat.record?.stateAt, at + 2);
        if (world.store.heartbeat) {
          const [report] = await world.store.heartbeat(
            'tenant-a',
            [{ userId: 'u1', connectionId: 'desk' }],
            at + 4,
            settings,
          );
          // A bare outcome is allowed (the connection then forgets the state); a report is right.
          if (typeof report === 'object') {
            assert.deepEqual(report, { outcome: 'ok', state: 'break', stateAt: at + 2 });
          }
        }

        // The store lost u2: the connection that heard the older state registers first.
        const first = await world.store.apply({
          ...op,
          kind: 'connect',
          userId: 'u2',
          connectionId: 'desk',
          state: 'available',
          stateAt: at,
          at: at + 10,
        });
        assert.equal(first.record?.state, 'available');
        const second = await world.store.apply({
          ...op,
          kind: 'connect',
          userId: 'u2',
          connectionId: 'phone',
          state: 'break',
          stateAt: at + 2,
          at: at + 11,
        });
        assert.equal(second.record?.state, 'break');
        assert.equal(second.record?.stateAt, at + 2);
        assert.equal(second.transition?.type, 'presence.updated');
        // Older than the record's, or without a time: kept out.
        for (const stale of [{ stateAt: at + 1 }, {}]) {
          const kept = await world.store.apply({
            ...op,
            kind: 'connect',
            userId: 'u2',
            connectionId: 'tablet',
            state: 'lunch',
            ...stale,
            at: at + 12,
          });
          assert.equal(kept.record?.state, 'break');
        }
        // A state set after the loss is newer than any a connection brings back.
        await world.store.apply({
          ...op,
          kind: 'state',
          userId: 'u3',
          state: 'wrap-up',
          at: at + 20,
        });
        const late = await world.store.apply({
          ...op,
          kind: 'connect',
          userId: 'u3',
          connectionId: 'desk',
          state: 'break',
          stateAt: at + 2,
          at: at + 21,
        });
        assert.equal(late.record?.state, 'wrap-up');
        assert.equal(late.record?.stateAt, at + 20);
      });

      it('lists members by status and user id, counts users (not connections), per tenant', async () => {
        const world = await harness();
        const engine = world.engine();
        for (const userId of ['u3', 'u1', 'u2']) {
          await engine.connect({ tenantId: 'tenant-a', userId });
        }
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        await engine.connect({ tenantId: 'tenant-b', userId: 'u9' });
        const u2 = await engine.connect({ tenantId: 'tenant-a', userId: 'u2' });
        await u2.setAway(true);
        // u2's other connection idles:
        world.advance(conformanceTimings.awayAfterMs);
        const listed = await engine.listMembers('tenant-a');
        assert.deepEqual(
          listed.map((member) => [member.userId, member.status]),
          [
            ['u1', 'away'],
            ['u2', 'away'],
            ['u3', 'away'],
          ],
        );
        assert.deepEqual(await engine.countOnline('tenant-a'), { online: 0, away: 3 });
        const [u1] = await engine.listMembers('tenant-a', { status: 'away', limit: 1 });
        assert.equal(u1?.connections.length, 2);
        assert.deepEqual(await engine.listMembers('tenant-a', { status: 'online' }), []);
        assert.deepEqual(
          (await engine.listMembers('tenant-b')).map((member) => member.userId),
          ['u9'],
        );
        assert.deepEqual(await engine.countOnline('tenant-c'), { online: 0, away: 0 });
        assert.equal(world.transitions('u9').length, 0, 'tenant-a sees no tenant-b user');
        assert.equal(world.transitions('u9', 'tenant-b').length, 2);
      });

      it('keeps the lowest ids under a limit, in the order it lists them whatever their characters', async () => {
        const world = await harness();
        const engine = world.engine();
        // JavaScript's order and UTF-8's byte order disagree on these two (U+FF61, U+1F600).
        const ids = ['agent-\u{1F600}', 'agent-\uFF61', 'agent-a'];
        for (const userId of ids) await engine.connect({ tenantId: 'tenant-a', userId });
        const all = (await engine.listMembers('tenant-a')).map((member) => member.userId);
        assert.deepEqual(all, [...ids].sort());
        for (const limit of [1, 2]) {
          assert.deepEqual(
            (await engine.listMembers('tenant-a', { limit })).map((member) => member.userId),
            all.slice(0, limit),
          );
        }
      });

      it('says who can take a call: online, in an available state, not on a call', async () => {
        const world = await harness();
        const activeCalls = [{ callId: 'CA1', agentId: 'busy-agent' }];
        const engine = world.engine({
          calls: {
            listActiveCalls: async (tenantId) =>
              activeCalls.map((call) => ({
                ...call,
                tenantId,
                provider: 'twilio',
                status: 'in-progress' as const,
                active: true,
                createdAt: new Date(t0).toISOString(),
                updatedAt: new Date(t0).toISOString(),
                version: 1,
              })),
          },
        });
        for (const userId of ['free', 'on-break', 'busy-agent', 'idle']) {
          await engine.connect({ tenantId: 'tenant-a', userId });
        }
        await engine.setState('tenant-a', 'on-break', 'break');
        const idle = await engine.connect({ tenantId: 'tenant-a', userId: 'idle2' });
        await idle.setAway(true);
        assert.equal(await engine.isAvailable('tenant-a', 'free'), true);
        assert.equal(await engine.isAvailable('tenant-a', 'on-break'), false);
        assert.equal(await engine.isAvailable('tenant-a', 'busy-agent'), false);
        assert.equal(await engine.isAvailable('tenant-a', 'idle2'), false);
        assert.equal(await engine.isAvailable('tenant-a', 'nobody'), false);
        assert.deepEqual(
          (await engine.listAvailable('tenant-a')).map((member) => member.userId),
          ['free', 'idle'],
        );
        const busy = await engine.getPresence('tenant-a', 'busy-agent');
        assert.deepEqual(busy.calls, ['CA1']);
      });

      it('lists the members of every tenant: each tenant whole, by user id, as of now, bounded by limit', async () => {
        const world = await harness();
        const engine = world.engine();
        for (const [tenantId, userId] of [
          ['tenant-b', 'u2'],
          ['tenant-a', 'u3'],
          ['tenant-c', 'u1'],
          ['tenant-a', 'u1'],
          ['tenant-b', 'u1'],
        ] as const) {
          await engine.connect({ tenantId, userId });
        }
        // Listed for the sweeper, with nobody connected: an offline user's record is kept.
        await (await engine.connect({ tenantId: 'tenant-d', userId: 'gone' })).disconnect({
          immediate: true,
        });
        const idle = await engine.connect({ tenantId: 'tenant-c', userId: 'u2' });
        await idle.setAway(true);
        const keyOf = (member: { tenantId: string; userId: string }) =>
          `${member.tenantId}/${member.userId}`;
        const all = await engine.listMembersAcrossTenants();
        assert.deepEqual(all.map(keyOf).sort(), [
          'tenant-a/u1',
          'tenant-a/u3',
          'tenant-b/u1',
          'tenant-b/u2',
          'tenant-c/u1',
          'tenant-c/u2',
        ]);
        // Tenant after tenant in the store's order, each one's members by user id.
        const tenantOrder = [...new Set(all.map((member) => member.tenantId))];
        assert.equal(tenantOrder.length, 3, 'each tenant listed in one run');
        for (const tenantId of tenantOrder) {
          const ids = all.filter((member) => member.tenantId === tenantId).map((m) => m.userId);
          assert.deepEqual(ids, [...ids].sort());
        }
        assert.deepEqual((await engine.listMembersAcrossTenants({ status: 'away' })).map(keyOf), [
          'tenant-c/u2',
        ]);
        // A limit keeps the first members of that order, a tenant cut at it keeps its lowest ids.
        for (const limit of [1, 2, 3, 4]) {
          assert.deepEqual(
            (await engine.listMembersAcrossTenants({ limit })).map(keyOf),
            all.slice(0, limit).map(keyOf),
          );
        }
        // As of now, as a tenant's listing: an expired connection is settled (and published) first.
        world.advance(conformanceTimings.awayAfterMs);
        await engine.connect({ tenantId: 'tenant-b', userId: 'u1' });
        world.advance(conformanceTimings.connectionTtlMs - conformanceTimings.awayAfterMs);
        assert.deepEqual((await engine.listMembersAcrossTenants()).map(keyOf), ['tenant-b/u1']);
        assert.deepEqual(
          typesOf(world.transitions('u3')).filter((type) => type === 'presence.offline'),
          ['presence.offline'],
        );
        await assert.rejects(engine.listMembersAcrossTenants({ limit: 0 }), InvalidArgumentError);
        await assert.rejects(
          engine.listMembersAcrossTenants({ status: 'offline' as 'online' }),
          InvalidArgumentError,
        );
      });
    });

    describe('crash safety', () => {
      it('publishes a transition whose publish failed once its lease runs out, once', async () => {
        const world = await harness();
        const [a, b] = [world.engine(), world.engine()];
        world.bus.failWhen = (event) => event.type === 'presence.online';
        await a.connect({ tenantId: 'tenant-a', userId: 'u1' });
        assert.equal(world.transitions('u1').length, 0);
        world.bus.failWhen = () => false;
        world.advance(conformanceTimings.publishLeaseMs - 1);
        await b.sweep();
        assert.equal(world.transitions('u1').length, 0, 'leased to the process that decided it');
        world.advance(1);
        await Promise.all([a.sweep(), b.sweep()]);
        await b.sweep();
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);
        // Confirmed: later sweeps never publish it again (the user expires meanwhile).
        world.advance(conformanceTimings.publishLeaseMs * 3);
        await b.sweep();
        await a.sweep();
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online', 'presence.offline']);
      });

      it('keeps a decided transition in the outbox until confirmed, leased to one claimer at a time', async () => {
        const world = await harness();
        const settings = conformanceSettings();
        const at = world.now();
        const connected = await world.store.apply({
          kind: 'connect',
          tenantId: 'tenant-a',
          userId: 'u1',
          connectionId: 'c1',
          at,
          settings,
        });
        assert.equal(connected.outcome, 'ok');
        assert.equal(connected.created, true);
        const online = connected.transition;
        assert.equal(online?.type, 'presence.online');
        assert.equal(online?.eventId, `presence:u1:${at}:${at + 1}`);
        const lease = settings.publishLeaseMs;
        const early = await world.store.sweep('tenant-a', at + lease - 1, settings, 10);
        assert.deepEqual(early.transitions, []);
        const [first, second] = await Promise.all([
          world.store.sweep('tenant-a', at + lease, settings, 10),
          world.store.sweep('tenant-a', at + lease, settings, 10),
        ]);
        const claimed = [...first.transitions, ...second.transitions];
        assert.deepEqual(claimed, [online], 'claimed again by exactly one sweep, unchanged');
        await world.store.confirm('tenant-a', [online!.eventId]);
        const later = await world.store.sweep('tenant-a', at + 3 * lease, settings, 10);
        assert.deepEqual(
          later.transitions.map((transition) => transition.type),
          ['presence.offline'],
        );
      });

      it('refuses a connection over maxConnectionsPerUser, storing nothing', async () => {
        const world = await harness();
        const engine = world.engine({ maxConnectionsPerUser: 2 });
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'c1' });
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'c2' });
        await assert.rejects(
          engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'c3' }),
          (error) => TooManyConnectionsError.isInstance(error) && error.status === 429,
        );
        // The same id again is a re-registration, not a third connection.
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'c2' });
        assert.deepEqual(
          (await engine.getPresence('tenant-a', 'u1')).connections.map((m) => m.connectionId),
          ['c1', 'c2'],
        );
      });

      it('counts leaving connections against maxConnectionsPerUser, making room by dropping the one leaving longest', async () => {
        const world = await harness();
        const engine = world.engine({ maxConnectionsPerUser: 3 });
        const connect = (connectionId: string) =>
          engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId });
        const idsOf = async () =>
          (await engine.getPresence('tenant-a', 'u1')).connections.map((member) =>
            member.leaving ? `${member.connectionId}:leaving` : member.connectionId,
          );
        await connect('open');
        await (await connect('first')).disconnect();
        world.advance(10);
        await (await connect('second')).disconnect();
        world.advance(10);
        await connect('third');
        assert.deepEqual(await idsOf(), ['open', 'second:leaving', 'third']);
        world.advance(10);
        await connect('fourth');
        assert.deepEqual(await idsOf(), ['open', 'third', 'fourth']);
        await assert.rejects(connect('fifth'), (error) =>
          TooManyConnectionsError.isInstance(error),
        );
        assert.deepEqual(await idsOf(), ['open', 'third', 'fourth']);
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);
      });

      it('keeps a user who reconnects fast within maxConnectionsPerUser, so their events still reach the bus', async () => {
        const world = await harness();
        const engine = world.engine();
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'open' });
        // Every connection comes with the most data allowed; each leaves before the next.
        const data = { blob: 'x'.repeat(4000) };
        for (let index = 0; index < 300; index += 1) {
          const connectionId = `c${index}`;
          await (
            await engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId, data })
          ).disconnect();
          world.advance(1);
        }
        const presence = await engine.getPresence('tenant-a', 'u1');
        assert.equal(presence.connections.length, 16);
        assert.equal(presence.connections[0]?.connectionId, 'open');
        await engine.setState('tenant-a', 'u1', 'break');
        const events = world.transitions('u1');
        assert.deepEqual(typesOf(events), ['presence.online', 'presence.updated']);
        assert.equal(dataOf(events[1]).presence.state, 'break');
        assert.equal(dataOf(events[1]).presence.connections.length, 16);
      });

      it('refuses bad input with a clear error and stores nothing', async () => {
        const world = await harness();
        const engine = world.engine({
          isKnownTenant: (tenantId) => tenantId !== 'closed-tenant',
          maxDataLength: 100,
        });
        const invalid = (error: unknown) => InvalidArgumentError.isInstance(error);
        const attempts: [Promise<unknown>, (error: unknown) => boolean][] = [
          [engine.connect({ tenantId: '', userId: 'u1' }), invalid],
          [engine.connect({ tenantId: 'tenant a', userId: 'u1' }), invalid],
          [engine.connect({ tenantId: '{tenant-a}', userId: 'u1' }), invalid],
          [engine.connect({ tenantId: 'tenant-a', userId: '' }), invalid],
          [engine.connect({ tenantId: 'tenant-a', userId: 'x'.repeat(257) }), invalid],
          [engine.connect({ tenantId: 'tenant-a', userId: 'u\u0000' }), invalid],
          [engine.connect({ tenantId: 'tenant-a', userId: 42 as unknown as string }), invalid],
          [engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: '' }), invalid],
          [engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'a b' }), invalid],
          [
            engine.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'c'.repeat(129) }),
            invalid,
          ],
          [engine.connect({ tenantId: 'tenant-a' }), invalid],
          [
            engine.connect({ tenantId: 'tenant-a', userId: 'u1', data: { blob: 'x'.repeat(200) } }),
            (error) => PayloadTooLargeError.isInstance(error) && error.status === 413,
          ],
          [
            engine.connect({
              tenantId: 'tenant-a',
              userId: 'u1',
              data: JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`),
            }),
            invalid,
          ],
          [engine.connect({ tenantId: 'tenant-a', userId: 'u1', data: { big: 10n } }), invalid],
          [
            engine.connect({ tenantId: 'closed-tenant', userId: 'u1' }),
            (error) => UnknownTenantError.isInstance(error) && error.status === 422,
          ],
          [engine.setState('tenant-a', 'u1', ''), invalid],
          [engine.setState('tenant-a', 'u1', 's'.repeat(65)), invalid],
          [engine.setState('closed-tenant', 'u1', 'break'), UnknownTenantError.isInstance],
          [engine.send('tenant-a', 'u1', undefined), invalid],
          [engine.send('tenant-a', 'u1', { a: 1 }, { messageId: 'has:colon' }), invalid],
          [engine.send('tenant-a', '', 'hi'), invalid],
          [engine.send('closed-tenant', 'u1', 'hi'), UnknownTenantError.isInstance],
          [engine.getPresence('tenant a', 'u1'), invalid],
          [engine.listMembers('tenant-a', { status: 'offline' as 'online' }), invalid],
          [engine.listMembers('tenant-a', { limit: 0 }), invalid],
          [engine.countOnline('closed-tenant'), UnknownTenantError.isInstance],
        ];
        for (const [attempt, check] of attempts) await assert.rejects(attempt, check);
        assert.deepEqual(await engine.countOnline('tenant-a'), { online: 0, away: 0 });
        assert.equal((await engine.getPresence('tenant-a', 'u1')).version, 0);
        assert.equal(world.bus.accepted.length, 0);
        assert.deepEqual(
          await world.store.listTenants().then((tenants) => tenants.includes('closed-tenant')),
          false,
        );
        // A bad update leaves the connection's data as it was.
        const connection = await engine.connect({ tenantId: 'tenant-a', userId: 'u1', data: 'ok' });
        await assert.rejects(connection.update('x'.repeat(200)), PayloadTooLargeError.isInstance);
        const [member] = (await engine.getPresence('tenant-a', 'u1')).connections;
        assert.equal(member?.data, 'ok');
      });

      it('takes a principal, and refuses one without a user', async () => {
        const world = await harness();
        const engine = world.engine();
        const connection = await engine.connect(
          { tenantId: 'tenant-a', userId: 'u1', roles: ['agent'], data: 'not presence data' },
          { connectionId: 'socket-1' },
        );
        assert.equal(connection.connectionId, 'socket-1');
        const [member] = (await engine.getPresence('tenant-a', 'u1')).connections;
        assert.equal(member?.data, undefined);
        await assert.rejects(
          engine.connect({ tenantId: 'tenant-a', allTenants: true }, {}),
          (error) => InvalidArgumentError.isInstance(error) && /userId/.test(String(error)),
        );
      });
    });

    describe('tenants the sweeper walks', () => {
      it('drops a tenant once a sweep finds nothing left in it, and lists it again when it is used', async () => {
        const world = await harness();
        // A short retention: a store whose sweeps forget records keeps the tenant until then.
        const settings = {
          ...conformanceSettings(),
          offlineRetentionMs: 5_000,
          queueMaxAgeMs: 5_000,
        };
        let at = world.now();
        const listed = async () => (await world.store.listTenants()).sort();
        /** What the sweeper does: every listed tenant, until nothing more is due. */
        const walk = async () => {
          for (const tenantId of await world.store.listTenants()) {
            while ((await world.store.sweep(tenantId, at, settings, 100)).more) {}
          }
        };
        const connect = (tenantId: string, userId: string) =>
          world.store.apply({
            kind: 'connect',
            tenantId,
            userId,
            connectionId: 'c1',
            at,
            settings,
          });
        const confirm = async (tenantId: string, result: { transition?: { eventId: string } }) => {
          assert.ok(result.transition);
          await world.store.confirm(tenantId, [result.transition.eventId]);
        };
        await confirm('tenant-a', await connect('tenant-a', 'u1'));
        await confirm('tenant-b', await connect('tenant-b', 'u2'));
        assert.deepEqual(await listed(), ['tenant-a', 'tenant-b']);
        at += 1;
        const offline = await world.store.apply({
          kind: 'disconnect',
          tenantId: 'tenant-a',
          userId: 'u1',
          connectionId: 'c1',
          immediate: true,
          at,
          settings,
        });
        assert.equal(offline.transition?.type, 'presence.offline');
        at += settings.offlineRetentionMs;
        // tenant-b's user is still connected; tenant-a's offline is not published yet.
        await world.store.apply({
          kind: 'heartbeat',
          tenantId: 'tenant-b',
          userId: 'u2',
          connectionId: 'c1',
          at,
          settings,
        });
        await walk();
        assert.deepEqual(await listed(), ['tenant-a', 'tenant-b']);
        await confirm('tenant-a', offline);
        await walk();
        await walk();
        assert.deepEqual(await listed(), ['tenant-b']);
        // Back in use: listed by whatever may create a user.
        await confirm('tenant-a', await connect('tenant-a', 'u1'));
        assert.deepEqual(await listed(), ['tenant-a', 'tenant-b']);
        assert.equal((await world.store.countMembers('tenant-a')).online, 1);
      });

      it('walks every listed tenant a page at a time, each at least once, whatever is listed meanwhile', async () => {
        const world = await harness();
        const engine = world.engine();
        const tenants = Array.from({ length: 13 }, (_, index) => `tenant-${index}`);
        for (const tenantId of tenants) await engine.connect({ tenantId, userId: 'u1' });
        const walk = async (limit: number, meanwhile?: () => Promise<void>) => {
          const seen: string[] = [];
          let cursor: string | undefined;
          let pages = 0;
          do {
            const page = await world.store.listTenantPage(cursor, limit);
            seen.push(...page.tenants);
            cursor = page.cursor;
            pages += 1;
            assert.ok(pages <= 1000, 'the walk ends');
            if (pages === 1) await meanwhile?.();
          } while (cursor !== undefined);
          return seen;
        };
        assert.deepEqual([...new Set(await walk(100))].sort(), [...tenants].sort());
        assert.deepEqual([...new Set(await walk(1))].sort(), [...tenants].sort());
        // A tenant listed while the walk is under way may or may not be seen; the others are.
        const seen = new Set(
          await walk(4, async () => {
            await engine.connect({ tenantId: 'tenant-late', userId: 'u1' });
          }),
        );
        for (const tenantId of tenants) assert.ok(seen.has(tenantId), `${tenantId} is seen`);
        assert.deepEqual(
          [...seen].filter((tenantId) => !tenants.includes(tenantId)),
          seen.has('tenant-late') ? ['tenant-late'] : [],
        );
        // Nothing listed: one empty page.
        const empty = await options.createStore();
        cleanups.push(async () => empty.cleanup?.());
        assert.deepEqual(await empty.store.listTenantPage(undefined, 10), { tenants: [] });
      });
    });

    describe('offline queue', () => {
      it('queues for an offline user and delivers every message once, in order, when two devices connect at once', async () => {
        const world = await harness();
        const [a, b, sender] = [world.engine(), world.engine(), world.engine()];
        for (let index = 1; index <= 100; index += 1) {
          const result = await sender.send(
            'tenant-a',
            'u1',
            { text: `m${index}` },
            {
              messageId: `m${index}`,
            },
          );
          assert.deepEqual(result, {
            messageId: `m${index}`,
            sequence: index,
            queued: true,
            dropped: 0,
          });
          world.advance(1);
        }
        assert.equal(world.messages('u1').length, 0);
        await Promise.all([
          a.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'phone' }),
          b.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'desk' }),
        ]);
        await eventually(() => world.messages('u1').length >= 100, '100 messages are delivered');
        const delivered = world.messages('u1');
        assert.deepEqual(
          delivered.map((event) => messageOf(event).message),
          Array.from({ length: 100 }, (_, index) => ({ text: `m${index + 1}` })),
        );
        assert.deepEqual(
          delivered.map((event) => messageOf(event).sequence),
          Array.from({ length: 100 }, (_, index) => index + 1),
        );
        const first = delivered[0]!;
        assert.equal(first.type, 'user.message');
        assert.equal(first.userId, 'u1');
        assert.equal(messageOf(first).audience, 'user');
        assert.equal(first.occurredAt, new Date(t0).toISOString());
        // presence.online was on the bus before the first message.
        const online = world.bus.accepted.findIndex((event) => event.type === 'presence.online');
        assert.ok(online >= 0 && online < world.bus.accepted.indexOf(first));
        // Nothing is left to deliver.
        world.advance(conformanceTimings.publishLeaseMs);
        await a.sweep();
        assert.equal(world.messages('u1').length, 100);
      });

      it('publishes at once to a connected user, after what was queued before', async () => {
        const world = await harness();
        const engine = world.engine();
        await engine.send('tenant-a', 'u1', 'queued-1');
        const connection = await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        await connection.setAway(true); // away is still connected
        const live = await engine.send('tenant-a', 'u1', 'live-2');
        assert.equal(live.queued, false);
        assert.equal(live.sequence, 2);
        await eventually(() => world.messages('u1').length >= 2, 'both messages are delivered');
        assert.deepEqual(
          world.messages('u1').map((event) => messageOf(event).message),
          ['queued-1', 'live-2'],
        );
        await connection.disconnect({ immediate: true });
        assert.equal((await engine.send('tenant-a', 'u1', 'later-3')).queued, true);
        assert.equal(world.messages('u1').length, 2);
      });

      it('keeps at most maxMessages, dropping the oldest with a warning, and drops messages past maxAgeMs', async () => {
        const world = await harness();
        const engine = world.engine({ queue: { maxMessages: 3, maxAgeMs: 10_000 } });
        const results = [];
        for (let index = 1; index <= 5; index += 1) {
          results.push(await engine.send('tenant-a', 'u1', index));
        }
        assert.deepEqual(
          results.map((result) => result.dropped),
          [0, 0, 0, 1, 1],
        );
        assert.ok(world.warnings.some((warning) => /Dropped/.test(warning)));
        world.advance(5_000);
        await engine.send('tenant-a', 'u1', 6);
        world.advance(5_000); // 4 and 5 are now 10 s old (3 made room for 6); 6 is 5 s old
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        await eventually(() => world.messages('u1').length >= 1, 'a message is delivered');
        assert.deepEqual(
          world.messages('u1').map((event) => messageOf(event).message),
          [6],
        );
        assert.equal(messageOf(world.messages('u1')[0]!).sequence, 6);
      });

      it('loses nothing when delivery fails halfway, and publishes nothing twice', async () => {
        const world = await harness();
        const [a, b] = [world.engine(), world.engine()];
        for (let index = 1; index <= 10; index += 1) await a.send('tenant-a', 'u1', index);
        world.bus.failWhen = (event) =>
          event.type === 'user.message' && (event.data as { sequence?: number }).sequence === 6;
        await a.connect({ tenantId: 'tenant-a', userId: 'u1' });
        await eventually(() => world.messages('u1').length >= 5, 'five messages are delivered');
        assert.deepEqual(
          world.messages('u1').map((event) => messageOf(event).message),
          [1, 2, 3, 4, 5],
        );
        world.bus.failWhen = () => false;
        // Another process takes over once the claim's lease ran out.
        world.advance(conformanceTimings.publishLeaseMs - 1);
        await b.sweep();
        assert.equal(world.messages('u1').length, 5);
        world.advance(1);
        const report = await b.sweep();
        assert.equal(
          report.delivered,
          10,
          'the first five again (the bus dropped them) and the rest',
        );
        assert.deepEqual(
          world.messages('u1').map((event) => messageOf(event).message),
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        );
      });

      it('keeps a message sent while every connection is in its leave delay until the user is back', async () => {
        const world = await harness();
        const [a, sender] = [world.engine(), world.engine()];
        const page = await a.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'p1' });
        await page.disconnect(); // a page reload: the user still counts as online for the delay
        const during = await sender.send('tenant-a', 'u1', 'during the reload');
        assert.equal(during.queued, true, 'no connection is there to receive it');
        await sender.sweep();
        assert.equal(world.messages('u1').length, 0);
        // The reloaded page connects within the delay: it gets the message.
        const reloaded = await a.connect({
          tenantId: 'tenant-a',
          userId: 'u1',
          connectionId: 'p2',
        });
        await eventually(() => world.messages('u1').length >= 1, 'the message is delivered');
        assert.deepEqual(
          world.messages('u1').map((event) => messageOf(event).message),
          ['during the reload'],
        );
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online']);

        // Gone for good: the message waits past the delay, for the next connection.
        await reloaded.disconnect();
        world.advance(conformanceTimings.leaveDelayMs - 1);
        assert.equal((await sender.send('tenant-a', 'u1', 'after leaving')).queued, true);
        world.advance(1);
        await sender.sweep();
        assert.deepEqual(typesOf(world.transitions('u1')), ['presence.online', 'presence.offline']);
        assert.equal(world.messages('u1').length, 1);
        const back = await a.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'p3' });
        await eventually(() => world.messages('u1').length >= 2, 'the second message is delivered');
        assert.equal(messageOf(world.messages('u1')[1]!).message, 'after leaving');

        // One connection leaving and another connected: published at once.
        const other = await a.connect({ tenantId: 'tenant-a', userId: 'u1', connectionId: 'p4' });
        await back.disconnect();
        assert.equal((await sender.send('tenant-a', 'u1', 'live')).queued, false);
        assert.equal(world.messages('u1').length, 3);
        await other.disconnect({ immediate: true });
      });

      it('gives every user their own event ids, however long their ids (one the hash of another’s)', async () => {
        const world = await harness();
        const engine = world.engine();
        const long = 'agent-'.padEnd(200, 'x');
        const users = [
          long,
          createHash('sha1').update(long).digest('hex'),
          // Cut after 120 characters, a pair of surrogates (an emoji) would be split.
          `a${'😀'.repeat(100)}`,
          'é'.repeat(161),
          'é'.repeat(80),
        ];
        for (const userId of users) {
          await engine.connect({ tenantId: 'tenant-a', userId });
          await engine.send('tenant-a', userId, 'hello', { messageId: 'm1' });
        }
        for (const userId of users) {
          assert.deepEqual(typesOf(world.transitions(userId)), ['presence.online'], userId);
          assert.equal(world.messages(userId).length, 1, userId);
        }
        const ids = world.bus.accepted.map((event) => event.id);
        assert.equal(new Set(ids).size, 2 * users.length);
      });

      it('delivers once per message id', async () => {
        const world = await harness();
        const engine = world.engine();
        await engine.connect({ tenantId: 'tenant-a', userId: 'u1' });
        await engine.send('tenant-a', 'u1', 'hello', { messageId: 'greeting' });
        await engine.send('tenant-a', 'u1', 'hello', { messageId: 'greeting' });
        assert.equal(world.messages('u1').length, 1);
      });
    });
  });
}

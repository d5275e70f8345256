import { createMemoryBus } from '@calltrack/bus';
import {
  type CallEvent,
  type CallSnapshot,
  type ConnectionPresence,
  InvalidArgumentError,
  InvalidEventError,
  isUserAddressedEvent,
  PayloadTooLargeError,
} from '@calltrack/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { createPresence } from './create-presence';
import type { PresenceOptions } from './presence';
import type { PresenceStore } from './presence-store';
import type { PresenceEventData } from './to-presence-event';

const t0 = Date.parse('2026-11-21T10:00:00.000Z');

function recordingBus() {
  const inner = createMemoryBus();
  const accepted: CallEvent[] = [];
  return {
    accepted,
    types: (userId: string) =>
      accepted.filter((event) => event.userId === userId).map((event) => event.type),
    bus: {
      async publish(event: CallEvent) {
        const result = await inner.publish(event);
        if (!result.duplicate) accepted.push(event);
        return result;
      },
    },
  };
}

describe('createPresence', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('heartbeats its connections and sweeps on its own once started; stop() leaves with the leave delay', async () => {
    vi.useFakeTimers({ now: t0 });
    const { bus, types } = recordingBus();
    const store = createMemoryPresenceStore();
    const timings = { heartbeatIntervalMs: 1000, leaveDelayMs: 500, sweepIntervalMs: 250 };
    const server = createPresence({ bus, store, ...timings, logger: {} });
    const other = createPresence({ bus, store, ...timings, logger: {} });
    server.start();
    other.start();
    await server.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await vi.advanceTimersByTimeAsync(30_000); // 12 TTLs
    expect(types('u1')).toEqual(['presence.online']);
    const presence = await other.getPresence('tenant-a', 'u1');
    expect(Date.parse(presence.connections[0]!.lastSeenAt)).toBeGreaterThan(t0 + 28_000);

    await server.stop();
    expect(types('u1')).toEqual(['presence.online']);
    await vi.advanceTimersByTimeAsync(499);
    expect(types('u1')).toEqual(['presence.online']);
    await vi.advanceTimersByTimeAsync(251); // the other process's sweeper
    expect(types('u1')).toEqual(['presence.online', 'presence.offline']);
    await other.stop();
  });

  it('turns a crashed process’s connections into one offline within TTL + sweep interval', async () => {
    vi.useFakeTimers({ now: t0 });
    const { bus, types } = recordingBus();
    const store = createMemoryPresenceStore();
    const timings = { heartbeatIntervalMs: 1000, sweepIntervalMs: 250 };
    const crashing = createPresence({ bus, store, ...timings, logger: {} });
    const survivor = createPresence({ bus, store, ...timings, logger: {} });
    survivor.start();
    // A process that never runs its timers again: what kill -9 leaves behind.
    await crashing.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await vi.advanceTimersByTimeAsync(2400 + 250);
    expect(types('u1')).toEqual(['presence.online', 'presence.away', 'presence.offline']);
    await survivor.stop();
  });

  it('stop() leaves connections whose connect was in flight too, and waits for them', async () => {
    let now = t0;
    const { bus: inner, types } = recordingBus();
    let held: Promise<void> | undefined;
    const bus = {
      async publish(event: CallEvent) {
        await held;
        return inner.publish(event);
      },
    };
    const store = createMemoryPresenceStore();
    const timings = {
      heartbeatIntervalMs: 1000,
      leaveDelayMs: 500,
      clock: { now: () => now },
      autoHeartbeat: false,
      logger: {},
    };
    const stopping = createPresence({ bus, store, ...timings });
    const other = createPresence({ bus, store, ...timings });
    let release = () => {};
    held = new Promise((resolve) => {
      release = resolve;
    });
    // Stored, its presence.online still being published, when stop() runs; and one that comes
    // while stop() runs.
    const before = stopping.connect({ tenantId: 'tenant-a', userId: 'u1' });
    const stopped = stopping.stop();
    const during = stopping.connect({ tenantId: 'tenant-a', userId: 'u2' });
    held = undefined;
    release();
    await stopped;
    const connections = await Promise.all([before, during]);
    expect(connections.map((connection) => connection.closed)).toEqual([true, true]);

    // They leave with the leave delay, as the others do, not after the TTL (2.4 s here).
    now += 500;
    await other.sweep();
    expect(types('u1')).toEqual(['presence.online', 'presence.offline']);
    expect(types('u2')).toEqual(['presence.online', 'presence.offline']);
  });

  it('a second stop() while one runs waits for it, neither throws, and no timer is left', async () => {
    vi.useFakeTimers({
      now: t0,
      toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
    });
    // A sink without timers of its own (a memory bus sweeps its history on one).
    const accepted: CallEvent[] = [];
    const bus = {
      publish: async (event: CallEvent) => {
        accepted.push(event);
        return { duplicate: false };
      },
    };
    const types = (userId: string) =>
      accepted.filter((event) => event.userId === userId).map((event) => event.type);
    const memory = createMemoryPresenceStore();
    // Disconnects wait until the test lets them through.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store: PresenceStore = {
      ...memory,
      apply: async (operation) => {
        if (operation.kind === 'disconnect') await held;
        return memory.apply(operation);
      },
    };
    const timings = { heartbeatIntervalMs: 1000, leaveDelayMs: 0, logger: {} };
    const presence = createPresence({ bus, store, ...timings });
    presence.start();
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    const settled: string[] = [];
    const first = presence.stop().then(() => settled.push('first'));
    const second = presence.stop().then(() => settled.push('second'));
    // A connect that comes while both run leaves too.
    const during = presence.connect({ tenantId: 'tenant-a', userId: 'u2' });
    // Every microtask and I/O turn runs: neither may be done while the first's leaves are held.
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toEqual([]);
    release();
    await Promise.all([first, second]);
    expect(settled).toEqual(['first', 'second']);
    expect((await during).closed).toBe(true);
    expect(types('u1')).toEqual(['presence.online', 'presence.offline']);
    expect(types('u2')).toEqual(['presence.online', 'presence.offline']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('finds a call of an agent past the newest 10,000 active calls of the tenant', async () => {
    // 10,001 active calls, the tracker's way: newest first, at most 10,000 a read, and a user's
    // calls (agentId or userId) on their own when asked with userId.
    const snapshot = (callId: string, agentId: string, startedAt: number): CallSnapshot => ({
      tenantId: 'tenant-a',
      callId,
      agentId,
      provider: 'twilio',
      status: 'in-progress',
      active: true,
      startedAt: new Date(startedAt).toISOString(),
      createdAt: new Date(startedAt).toISOString(),
      updatedAt: new Date(startedAt).toISOString(),
      version: 1,
    });
    const active = [
      snapshot('CA-oldest', 'agent-old', t0),
      ...Array.from({ length: 10_000 }, (_, index) =>
        snapshot(`CA-${index}`, `agent-${index % 50}`, t0 + 1000 + index),
      ),
    ].reverse();
    const reads: { limit?: number; userId?: string; after?: unknown }[] = [];
    const calls = {
      async listActiveCalls(
        _tenantId: string,
        options: { limit?: number; userId?: string; after?: unknown } = {},
      ) {
        reads.push(options);
        const { userId, limit = 1000 } = options;
        if (limit > 10_000) throw new InvalidArgumentError({ message: 'limit' });
        const mine =
          userId === undefined
            ? active
            : active.filter((call) => call.agentId === userId || call.userId === userId);
        return mine.slice(0, limit);
      },
    };
    const presence = createPresence({ bus: recordingBus().bus, calls, logger: {} });
    for (const userId of ['agent-old', 'agent-free']) {
      await presence.connect({ tenantId: 'tenant-a', userId });
    }
    expect(await presence.isAvailable('tenant-a', 'agent-old')).toBe(false);
    expect(await presence.isAvailable('tenant-a', 'agent-free')).toBe(true);
    expect((await presence.getPresence('tenant-a', 'agent-old')).calls).toEqual(['CA-oldest']);
    expect((await presence.listAvailable('tenant-a')).map((member) => member.userId)).toEqual([
      'agent-free',
    ]);
    const members = await presence.listMembers('tenant-a');
    expect(members.map((member) => [member.userId, member.calls])).toEqual([
      ['agent-free', []],
      ['agent-old', ['CA-oldest']],
    ]);
    // isAvailable and getPresence read the user's calls alone.
    expect(reads.slice(0, 2).every((read) => read.userId !== undefined)).toBe(true);
    // This reader does not page (asked for the page after a call, it answers the first again):
    // the lists ask it for the calls of each member the first page had none of.
    const listReads = reads.slice(3);
    expect(listReads).toHaveLength(8);
    expect(listReads.filter((read) => 'after' in read)).toHaveLength(2);
    expect(listReads.filter((read) => read.userId !== undefined)).toHaveLength(4);
  });

  it('lists 1,000 members by default and takes a limit up to 10,000, on one tenant and across tenants (README)', async () => {
    const presence = createPresence({ bus: recordingBus().bus, autoHeartbeat: false, logger: {} });
    for (let index = 0; index < 1001; index += 1) {
      const tenantId = index % 2 === 0 ? 'tenant-a' : 'tenant-b';
      await presence.connect({ tenantId, userId: `u${String(index).padStart(4, '0')}` });
    }
    expect(await presence.countOnline('tenant-a')).toMatchObject({ online: 501 });
    expect(await presence.listMembers('tenant-a', { limit: 10_000 })).toHaveLength(501);
    expect(await presence.listMembersAcrossTenants()).toHaveLength(1000);
    expect(await presence.listMembersAcrossTenants({ limit: 10_000 })).toHaveLength(1001);
    for (const limit of [0, 10_001, 1.5]) {
      await expect(presence.listMembers('tenant-a', { limit })).rejects.toThrow(
        InvalidArgumentError,
      );
      await expect(presence.listMembersAcrossTenants({ limit })).rejects.toThrow(
        InvalidArgumentError,
      );
    }
    const one = createPresence({ bus: recordingBus().bus, autoHeartbeat: false, logger: {} });
    for (let index = 0; index < 1001; index += 1) {
      await one.connect({ tenantId: 'tenant-a', userId: `u${String(index).padStart(4, '0')}` });
    }
    const listed = await one.listMembers('tenant-a');
    expect(listed).toHaveLength(1000);
    expect(listed.at(-1)!.userId).toBe('u0999'); // the lowest ids, in order
  });

  it('sends warnings and errors to console.warn by default, and nothing else (README: logger)', async () => {
    const warned: unknown[][] = [];
    const other: unknown[][] = [];
    const spies = [
      vi.spyOn(console, 'warn').mockImplementation((...args) => void warned.push(args)),
      ...(['log', 'info', 'debug', 'error'] as const).map((level) =>
        vi.spyOn(console, level).mockImplementation((...args) => void other.push(args)),
      ),
    ];
    try {
      const presence = createPresence({ bus: recordingBus().bus });
      await presence.connect({ tenantId: 'tenant-a', userId: 'u1' }); // warn: before start()
      expect(warned).toHaveLength(1);
      expect(String(warned[0]![0])).toMatch(/^\[calltrack\/presence\] .*before start\(\)/);
      expect(other).toEqual([]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('warns once when connections come before start()', async () => {
    const warnings: string[] = [];
    const presence = createPresence({
      bus: recordingBus().bus,
      logger: { warn: (message) => warnings.push(message) },
    });
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await presence.connect({ tenantId: 'tenant-a', userId: 'u2' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/before start\(\)/);
    const manual = createPresence({
      bus: recordingBus().bus,
      autoHeartbeat: false,
      logger: { warn: (message) => warnings.push(message) },
    });
    await manual.connect({ tenantId: 'tenant-a', userId: 'u1' });
    expect(warnings).toHaveLength(1);
  });

  it('drops (and logs) a transition the bus refuses with a 4xx instead of retrying it forever', async () => {
    const errors: string[] = [];
    let now = t0;
    const store = createMemoryPresenceStore();
    const presence = createPresence({
      bus: {
        publish: async () => {
          throw new InvalidEventError({ issues: [{ field: 'data', message: 'refused (test)' }] });
        },
      },
      store,
      clock: { now: () => now },
      autoHeartbeat: false,
      logger: { error: (message) => errors.push(message) },
    });
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    expect(errors).toEqual(['The bus refused a presence transition; it is dropped.']);
    now += 120_000;
    const settings = { ...presenceSettings, publishLeaseMs: 30_000 };
    const swept = await store.sweep('tenant-a', now, settings, 10);
    expect(swept.transitions.filter((transition) => transition.type === 'presence.online')).toEqual(
      [],
    );
  });

  it('fits the largest snapshot it allows into one event', async () => {
    const { bus, accepted } = recordingBus();
    const presence = createPresence({ bus, autoHeartbeat: false, logger: {} });
    const connections = [];
    for (let index = 0; index < 16; index += 1) {
      connections.push(
        await presence.connect({
          tenantId: 'tenant-a',
          userId: 'u1',
          data: { blob: 'é'.repeat(4000) },
        }),
      );
    }
    await connections[0]!.update({ blob: 'x'.repeat(4000) });
    const updated = accepted.at(-1)!;
    expect(updated.type).toBe('presence.updated');
    expect((updated.data as unknown as PresenceEventData).presence.connections).toHaveLength(16);
  });

  it('lists available users past the first `limit` online ones when those are busy', async () => {
    const presence = createPresence({ bus: recordingBus().bus, autoHeartbeat: false, logger: {} });
    for (const userId of ['ann', 'bob', 'zoe']) {
      await presence.connect({ tenantId: 'tenant-a', userId });
    }
    await presence.setState('tenant-a', 'ann', 'break');
    await presence.setState('tenant-a', 'bob', 'break');
    const available = (options?: { limit?: number }) =>
      presence.listAvailable('tenant-a', options).then((users) => users.map((u) => u.userId));
    // The limit is on what is returned, not on the online users looked at.
    expect(await available({ limit: 1 })).toEqual(['zoe']);
    expect(await available()).toEqual(['zoe']);
    await expect(available({ limit: 0 })).rejects.toThrow(InvalidArgumentError);
  });

  it('measures data and messages by their JSON text, escapes included', async () => {
    const presence = createPresence({
      bus: recordingBus().bus,
      autoHeartbeat: false,
      logger: {},
      maxDataLength: 200,
      queue: { maxMessageLength: 100 },
    });
    // 150 control characters are 900 characters of JSON; 90 quotes are 182.
    await expect(
      presence.connect({
        tenantId: 'tenant-a',
        userId: 'u1',
        data: { note: '\u0001'.repeat(150) },
      }),
    ).rejects.toThrow(PayloadTooLargeError);
    await expect(presence.send('tenant-a', 'u1', '"'.repeat(90))).rejects.toThrow(
      PayloadTooLargeError,
    );
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1', data: { note: 'é'.repeat(150) } });
  });

  it('refuses ids with lone surrogates, which Redis would store under another id', async () => {
    const presence = createPresence({ bus: recordingBus().bus, autoHeartbeat: false, logger: {} });
    for (const ids of [
      { tenantId: 'acme\uD800', userId: 'u1' },
      { tenantId: 'acme', userId: 'u\uDBFF' },
      { tenantId: 'acme', userId: 'u1', connectionId: 'c\uDC00' },
    ]) {
      await expect(presence.connect(ids), JSON.stringify(ids)).rejects.toThrow(
        InvalidArgumentError,
      );
    }
    await presence.connect({ tenantId: 'acme😀', userId: 'u😀' });
  });

  it('numbers a user made again after being forgotten above the forgotten record, as boards keep the highest', async () => {
    const clock = { time: t0 };
    const { bus, accepted } = recordingBus();
    const presence = createPresence({
      bus,
      clock: { now: () => clock.time },
      autoHeartbeat: false,
      logger: {},
      offlineRetentionMs: 60_000,
      queue: { maxAgeMs: 60_000 },
    });
    const first = await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await presence.setState('tenant-a', 'u1', 'break');
    await first.disconnect({ immediate: true });
    clock.time += 61_000; // past the retention: the record is forgotten
    await presence.sweep();
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    const versions = accepted.map((event) => [
      event.type,
      (event.data as unknown as PresenceEventData).presence.version,
    ]);
    expect(versions.map(([type]) => type)).toEqual([
      'presence.online',
      'presence.updated',
      'presence.offline',
      'presence.online',
    ]);
    const [, , offline, online] = versions.map(([, version]) => version as number);
    expect(online).toBeGreaterThan(offline!);
  });

  it('gives a lost record back the state its connection last heard of, never a stale one', async () => {
    /** A store that can lose everything (a Redis restarted empty), in three flavours. */
    const losable = (flavour: 'batch' | 'one-by-one' | 'bare-outcomes') => {
      let inner = createMemoryPresenceStore();
      const store: PresenceStore = {
        apply: (operation) => inner.apply(operation),
        sweep: (...args) => inner.sweep(...args),
        confirm: (...args) => inner.confirm(...args),
        listMembers: (...args) => inner.listMembers(...args),
        countMembers: (...args) => inner.countMembers(...args),
        listTenants: () => inner.listTenants(),
        listTenantPage: (...args) => inner.listTenantPage(...args),
      };
      if (flavour === 'batch') store.heartbeat = (...args) => inner.heartbeat!(...args);
      if (flavour === 'bare-outcomes') {
        store.heartbeat = async (...args) =>
          (await inner.heartbeat!(...args)).map((beat) =>
            typeof beat === 'string' ? beat : beat.outcome,
          );
      }
      return {
        store,
        lose: () => {
          inner = createMemoryPresenceStore();
        },
      };
    };
    for (const flavour of ['batch', 'one-by-one', 'bare-outcomes'] as const) {
      const clock = { time: t0 };
      const { store, lose } = losable(flavour);
      const { bus, accepted } = recordingBus();
      const engine = () =>
        createPresence({
          bus,
          store,
          clock: { now: () => clock.time },
          autoHeartbeat: false,
          logger: {},
        });
      const [a, b] = [engine(), engine()];
      const connection = await a.connect({ tenantId: 'tenant-a', userId: 'u1' });
      await b.setState('tenant-a', 'u1', 'break');
      await connection.heartbeat();
      lose();
      clock.time += 25_000;
      await connection.heartbeat();
      const presence = await b.getPresence('tenant-a', 'u1');
      expect([flavour, presence.status]).toEqual([flavour, 'online']);
      // A store whose heartbeats do not report the state gives the connection nothing to keep.
      expect([flavour, presence.state]).toEqual([
        flavour,
        flavour === 'bare-outcomes' ? 'available' : 'break',
      ]);
      const online = accepted.filter((event) => event.type === 'presence.online').at(-1);
      expect((online!.data as unknown as PresenceEventData).presence.state).toBe(presence.state);

      // Changed elsewhere after that: the next heartbeat learns it, and a second loss keeps it.
      await b.setState('tenant-a', 'u1', 'lunch');
      clock.time += 25_000;
      await connection.heartbeat();
      lose();
      clock.time += 25_000;
      await connection.heartbeat();
      expect([flavour, (await b.getPresence('tenant-a', 'u1')).state]).toEqual([
        flavour,
        flavour === 'bare-outcomes' ? 'available' : 'lunch',
      ]);
    }
  });

  it('refuses options it cannot work with', () => {
    const bus = recordingBus().bus;
    const attempts: unknown[] = [
      undefined,
      {},
      { bus: {} },
      { bus, heartbeatIntervalMs: 0 },
      { bus, heartbeatIntervalMs: 1.5 },
      { bus, heartbeatIntervalMs: 1000, awayAfterMs: 1000 },
      { bus, heartbeatIntervalMs: 1000, connectionTtlMs: 900 },
      { bus, leaveDelayMs: -1 },
      { bus, maxDataLength: 1_000_000 },
      { bus, queue: { maxMessageLength: 10_000_000 } },
      { bus, queue: { maxMessages: 0 } },
      { bus, initialState: '' },
      { bus, availableStates: 'available' },
    ];
    for (const options of attempts) {
      expect(() => createPresence(options as PresenceOptions), JSON.stringify(options)).toThrow(
        InvalidArgumentError,
      );
    }
  });

  it('refuses a sweep interval longer than a timer can wait, which would sweep every millisecond', () => {
    // setInterval runs a delay over 2^31 - 1 ms every millisecond instead: a process told to
    // sweep once a month (leaving sweeps to another) swept about a thousand times a second.
    const bus = recordingBus().bus;
    for (const sweepIntervalMs of [
      2 ** 31,
      30 * 24 * 3_600_000,
      Number.MAX_SAFE_INTEGER,
      0,
      Number.NaN,
      1.5,
    ]) {
      expect(() => createPresence({ bus, sweepIntervalMs })).toThrow(
        'createPresence: sweepIntervalMs must be an integer from 1 to 2147483647.',
      );
    }
    // The longest a timer can wait is taken.
    expect(() => createPresence({ bus, sweepIntervalMs: 2 ** 31 - 1 })).not.toThrow();
  });
});

describe('isUserAddressedEvent', () => {
  it('is true only for data.audience "user" with a userId', () => {
    const base: CallEvent = {
      id: 'e1',
      type: 'user.message',
      tenantId: 'tenant-a',
      provider: 'calltrack',
      occurredAt: new Date(t0).toISOString(),
      receivedAt: new Date(t0).toISOString(),
      data: {},
    };
    expect(isUserAddressedEvent({ ...base, userId: 'u1', data: { audience: 'user' } })).toBe(true);
    expect(isUserAddressedEvent({ ...base, data: { audience: 'user' } })).toBe(false);
    expect(isUserAddressedEvent({ ...base, userId: 'u1' })).toBe(false);
    expect(isUserAddressedEvent({ ...base, type: 'presence.online', userId: 'u1', data: {} })).toBe(
      false,
    );
  });
});

const presenceSettings = {
  connectionTtlMs: 60_000,
  awayAfterMs: 40_000,
  leaveDelayMs: 15_000,
  publishLeaseMs: 30_000,
  offlineRetentionMs: 86_400_000,
  maxConnectionsPerUser: 16,
  queueMaxMessages: 1000,
  queueMaxAgeMs: 86_400_000,
  deliveryBatchSize: 100,
};

describe('Presence as the transports see it', () => {
  it('is a ConnectionPresence (what the SSE, Socket.IO and tRPC options take)', async () => {
    const bus = createMemoryBus();
    const presence: ConnectionPresence = createPresence({ bus, autoHeartbeat: false });
    const connection = await presence.connect({ tenantId: 'acme', userId: 'u1' });
    expect((await presence.listMembers('acme')).map((member) => member.userId)).toEqual(['u1']);
    // It lists every tenant's members too: all-tenants streams get them.
    await presence.connect({ tenantId: 'beta', userId: 'u1' });
    expect(
      (await presence.listMembersAcrossTenants?.({ limit: 2 }))?.map(
        (member) => `${member.tenantId}/${member.userId}`,
      ),
    ).toEqual(['acme/u1', 'beta/u1']);
    await connection.disconnect();
    await bus.close();
  });
});

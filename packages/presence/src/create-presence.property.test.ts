import { createMemoryBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type ModelEvent, modelTimings, PresenceModel } from './__tests__/presence-model';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import type { Presence, PresenceConnection } from './presence';
import type { PresenceStore } from './presence-store';
import type { PresenceEventData } from './to-presence-event';

const users = ['u0', 'u1', 'u2'] as const;
const processes = 3;

/** One step of a run; handle indexes are taken modulo the live handles. */
type Command =
  | { kind: 'connect'; process: number; user: number }
  | { kind: 'heartbeat'; handle: number }
  | { kind: 'update'; handle: number; data: string }
  | { kind: 'away'; handle: number; away: boolean }
  | { kind: 'disconnect'; handle: number; immediate: boolean }
  | { kind: 'state'; process: number; user: number; state: string }
  | { kind: 'crash'; process: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'sweep'; process: number }
  | { kind: 'read'; process: number; user: number };

const process_ = fc.integer({ min: 0, max: processes - 1 });
const user = fc.integer({ min: 0, max: users.length - 1 });
const handle = fc.nat({ max: 7 });
const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('connect'), process: process_, user }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('heartbeat'), handle }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('update'), handle, data: fc.constantFrom('a', 'b') }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('away'), handle, away: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('disconnect'), handle, immediate: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('state'),
      process: process_,
      user,
      state: fc.constantFrom('available', 'break'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash'), process: process_ }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('advance'),
      // Mostly whole steps of 200 ms (deadlines are multiples of it), sometimes 1 ms.
      ms: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 10 }).map((steps) => steps * 200) },
        { weight: 1, arbitrary: fc.constant(1) },
      ),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sweep'), process: process_ }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read'), process: process_, user }) },
);

interface LiveHandle {
  process: number;
  connection: PresenceConnection;
  data: string | undefined;
  away: boolean;
}

/** What an accepted `presence.*` event says, in the model's terms. */
function toModelEvent(event: CallEvent): ModelEvent {
  const { presence } = event.data as unknown as PresenceEventData;
  return {
    type: event.type,
    at: Date.parse(event.occurredAt),
    status: presence.status,
    version: presence.version,
    state: presence.state,
    connections: presence.connections.map(
      (member) => `${member.connectionId}:${member.status}${member.leaving ? ':leaving' : ''}`,
    ),
  };
}

/**
 * Runs the commands through three engines on `store` (one bus, one clock) and through the
 * model, and returns both event logs per user, after a final quiet period in which every
 * connection expires.
 */
async function run(
  store: PresenceStore,
  tenantId: string,
  commands: readonly Command[],
): Promise<{
  actual: Map<string, ModelEvent[]>;
  expected: Map<string, ModelEvent[]>;
  ids: string[];
}> {
  const start = Date.parse('2026-11-21T10:00:00.000Z');
  const model = new PresenceModel(start);
  const now = () => model.time;
  const bus = createMemoryBus({ clock: { now } });
  const accepted: CallEvent[] = [];
  const sink = {
    async publish(event: CallEvent) {
      const result = await bus.publish(event);
      if (!result.duplicate) accepted.push(event);
      return result;
    },
  };
  const engines: Presence[] = Array.from({ length: processes }, () =>
    createPresence({
      bus: sink,
      store,
      clock: { now },
      ...modelTimings,
      autoHeartbeat: false,
      logger: {},
    }),
  );
  let handles: LiveHandle[] = [];
  let counter = 0;
  const pick = (index: number): LiveHandle | undefined =>
    handles.length === 0 ? undefined : handles[index % handles.length];
  /** The engine re-registers a swept connection with the handle's data and away flag. */
  const reRegister = (live: LiveHandle) =>
    model.connect(live.connection.userId, live.connection.connectionId, live.data, live.away);

  for (const command of commands) {
    switch (command.kind) {
      case 'connect': {
        counter += 1;
        const id = `c${counter}`;
        const userId = users[command.user]!;
        const connection = await engines[command.process]!.connect({
          tenantId,
          userId,
          connectionId: id,
        });
        model.connect(userId, id, undefined, false);
        handles.push({ process: command.process, connection, data: undefined, away: false });
        break;
      }
      case 'heartbeat': {
        const live = pick(command.handle);
        if (!live) break;
        await live.connection.heartbeat();
        if (!model.heartbeat(live.connection.connectionId)) reRegister(live);
        break;
      }
      case 'update': {
        const live = pick(command.handle);
        if (!live) break;
        await live.connection.update(command.data);
        live.data = JSON.stringify(command.data);
        if (!model.change(live.connection.connectionId, { data: live.data })) reRegister(live);
        break;
      }
      case 'away': {
        const live = pick(command.handle);
        if (!live) break;
        await live.connection.setAway(command.away);
        live.away = command.away;
        if (!model.change(live.connection.connectionId, { away: command.away })) reRegister(live);
        break;
      }
      case 'disconnect': {
        const live = pick(command.handle);
        if (!live) break;
        await live.connection.disconnect({ immediate: command.immediate });
        model.disconnect(live.connection.connectionId, command.immediate);
        handles = handles.filter((other) => other !== live);
        break;
      }
      case 'state': {
        const userId = users[command.user]!;
        await engines[command.process]!.setState(tenantId, userId, command.state);
        model.setState(userId, command.state);
        break;
      }
      case 'crash':
        // The process dies: its handles are never heartbeated nor disconnected again.
        handles = handles.filter((live) => live.process !== command.process);
        break;
      case 'advance':
        model.time += command.ms;
        break;
      case 'sweep':
        await engines[command.process]!.sweep();
        model.sweep();
        break;
      case 'read': {
        const userId = users[command.user]!;
        const presence = await engines[command.process]!.getPresence(tenantId, userId);
        model.read(userId);
        expect(presence.status, `read of ${userId}`).toBe(model.statusOf(userId));
        break;
      }
    }
  }
  // Quiet: every process stops heartbeating; after the TTL one sweep settles everyone.
  model.time += modelTimings.connectionTtlMs;
  await engines[0]!.sweep();
  model.sweep();
  const counts = await engines[1]!.countOnline(tenantId);
  expect(counts).toEqual({ online: 0, away: 0 });

  const actual = new Map<string, ModelEvent[]>();
  for (const event of accepted) {
    const list = actual.get(event.userId!) ?? [];
    list.push(toModelEvent(event));
    actual.set(event.userId!, list);
  }
  await bus.close();
  return { actual, expected: model.events, ids: accepted.map((event) => event.id) };
}

const runsArbitrary = fc.array(commandArbitrary, { minLength: 5, maxLength: 60 });

function check(result: Awaited<ReturnType<typeof run>>): void {
  // Every decided transition is on the bus once: same events, same order, same snapshots.
  expect(Object.fromEntries(result.actual)).toEqual(Object.fromEntries(result.expected));
  expect(new Set(result.ids).size).toBe(result.ids.length);
  for (const events of result.actual.values()) {
    // Versions are dense (none missed) and no status transition repeats a status.
    const first = events[0]?.version ?? 0;
    expect(events.map((event) => event.version)).toEqual(events.map((_, index) => first + index));
    const statuses = events
      .filter((event) => event.type !== 'presence.updated')
      .map((event) => event.status);
    for (let index = 1; index < statuses.length; index += 1) {
      expect(statuses[index]).not.toBe(statuses[index - 1]);
    }
    expect(events.at(-1)?.status).toBe('offline');
  }
}

describe('createPresence (property, three engines on one memory store)', () => {
  it('emits exactly the model’s transitions, once each, for any connect / heartbeat / disconnect / crash sequence', async () => {
    await fc.assert(
      fc.asyncProperty(runsArbitrary, async (commands) => {
        check(await run(createMemoryPresenceStore(), 'tenant-a', commands));
      }),
      { numRuns: 500 },
    );
  }, 60_000);
});

const redis = await connectTestRedis();
const prefix = uniquePrefix('presence-prop');

describe.skipIf(!redis)('createPresence (property, three engines on one Redis store)', () => {
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('emits exactly the model’s transitions, once each, like the memory store', async () => {
    const store = createRedisPresenceStore({ redis: redis!, prefix });
    let counter = 0;
    await fc.assert(
      fc.asyncProperty(runsArbitrary, async (commands) => {
        counter += 1;
        check(await run(store, `tenant-${counter}`, commands));
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});

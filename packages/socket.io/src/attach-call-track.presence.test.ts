import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { CallEvent, ConnectionPresence } from '@calltrack/core';
import { createPresence, type Presence } from '@calltrack/presence';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestTracker } from './__tests__/create-test-tracker';
import { createEventLog, type EventLog } from './__tests__/event-log';
import { faultyBus } from './__tests__/faulty-bus';
import { makeEvent } from './__tests__/make-event';
import {
  connected,
  disconnectAndWait,
  startSocketServer,
  type TestSocketServer,
} from './__tests__/start-socket-server';
import type {
  ActiveCallsPayload,
  CallTrackAck,
  CallTrackDelivery,
  PresenceErrorPayload,
  PresenceMembersPayload,
  PresenceUnavailablePayload,
} from './call-track-protocol';

const servers: TestSocketServer[] = [];
const buses: EventBus[] = [];
const presences: Presence[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(presences.splice(0).map((presence) => presence.stop()));
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

const t0 = Date.parse('2026-11-21T10:00:00.000Z');

function ack(socket: Socket, event: string, ...args: unknown[]): Promise<CallTrackAck> {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

/** A user-addressed event, as presence's `send` publishes it. */
function messageFor(tenantId: string, userId: string): CallEvent {
  const { callId: _callId, ...event } = makeEvent(tenantId, { type: 'user.message' });
  return { ...event, userId, provider: 'calltrack', data: { audience: 'user', text: 'hi' } };
}

/** What a client received other than call events (and their lifecycle events), by name. */
const namesOf = (log: EventLog) =>
  log.events
    .filter((entry) => entry.name !== 'call_update' && !entry.name.startsWith('call:'))
    .map((entry) => entry.name);
const idsOf = (log: EventLog) =>
  log.named('call_update').map((entry) => (entry.payload as CallTrackDelivery).event.id);
const presenceOf = (log: EventLog) =>
  log
    .named('call_update')
    .map((entry) => (entry.payload as CallTrackDelivery).event)
    .filter((event) => event.type.startsWith('presence.'))
    .map((event) => `${event.type} ${event.tenantId}/${event.userId}`);

async function until(log: EventLog, check: () => boolean): Promise<void> {
  while (!check()) await log.waitFor('call_update', log.named('call_update').length + 1);
}

async function open(server: TestSocketServer, token: string, payload?: unknown) {
  const socket = server.client({ token });
  const log = createEventLog(socket);
  await connected(socket);
  expect(await ack(socket, 'subscribe_to_calls', payload)).toEqual({ ok: true });
  return { socket, log };
}

describe('attachCallTrack: user-addressed events', () => {
  it('reach only the connections of that user in that tenant, live and on resume', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    const server = await startSocketServer(bus);
    servers.push(server);
    const a = await open(server, 'token:a:u1');
    const aFiltered = await open(server, 'token:a:u1', { types: ['user.*', 'call.*'] });
    const b = await open(server, 'token:a:u2');
    const bFiltered = await open(server, 'token:a:u2', { types: ['user.*', 'call.*'] });
    const other = await open(server, 'token:b:u1');
    const admin = await open(server, 'admin:a:boss');

    const first = makeEvent('a');
    const before = await bus.publish(first);
    const message = messageFor('a', 'u1');
    const foreign = messageFor('b', 'u2');
    await bus.publish(message);
    await bus.publish(foreign);
    const markerA = makeEvent('a', { type: 'call.ringing' });
    const markerB = makeEvent('b', { type: 'call.ringing' });
    await bus.publish(markerA);
    await bus.publish(markerB);
    for (const client of [a, aFiltered, b, bFiltered]) {
      await until(client.log, () => idsOf(client.log).includes(markerA.id));
    }
    await until(other.log, () => idsOf(other.log).includes(markerB.id));
    await until(admin.log, () => idsOf(admin.log).includes(markerB.id));
    expect(idsOf(a.log)).toContain(message.id);
    expect(idsOf(aFiltered.log)).toEqual([first.id, message.id, markerA.id]);
    for (const client of [b, bFiltered, other, admin]) {
      expect(idsOf(client.log)).not.toContain(message.id);
      expect(idsOf(client.log)).not.toContain(foreign.id);
    }

    // Resume after `before`: the replay keeps the rule.
    for (const [token, expected] of [
      ['token:a:u1', [message.id, markerA.id]],
      ['token:a:u2', [markerA.id]],
    ] as const) {
      const socket = server.client({ token, lastCursor: before.cursor });
      const log = createEventLog(socket);
      await connected(socket);
      await until(log, () => idsOf(log).includes(markerA.id));
      expect(idsOf(log)).toEqual(expected);
    }
  });
});

describe('attachCallTrack({ presence })', () => {
  async function setup(presenceOptions: Partial<Parameters<typeof createPresence>[0]> = {}) {
    let now = t0;
    const bus = createMemoryBus();
    buses.push(bus);
    const presence = createPresence({
      bus,
      autoHeartbeat: false,
      leaveDelayMs: 5000,
      clock: { now: () => now },
      ...presenceOptions,
    });
    presences.push(presence);
    return { bus, presence, advance: (ms: number) => (now += ms) };
  }

  it('registers connections: members first, then online and offline, per tenant', async () => {
    const { bus, presence, advance } = await setup();
    const server = await startSocketServer(bus, { presence });
    servers.push(server);
    const watcher = await open(server, 'token:a:boss');
    const [members] = await watcher.log.waitFor('presence_members');
    expect(
      (members!.payload as PresenceMembersPayload).members.map((member) => member.userId),
    ).toEqual(['boss']);
    const other = await open(server, 'token:b:x');
    const [otherMembers] = await other.log.waitFor('presence_members');
    expect(
      (otherMembers!.payload as PresenceMembersPayload).members.map((member) => member.tenantId),
    ).toEqual(['b']);

    const agent = server.client({ token: 'token:a:u1' });
    await connected(agent);
    await until(watcher.log, () => presenceOf(watcher.log).includes('presence.online a/u1'));
    expect((await presence.getPresence('a', 'u1')).connections.map((c) => c.connectionId)).toEqual([
      agent.id,
    ]);

    await disconnectAndWait(server.io, agent);
    advance(5001);
    await presence.sweep();
    await until(watcher.log, () => presenceOf(watcher.log).includes('presence.offline a/u1'));

    const marker = makeEvent('b', { type: 'call.ringing' });
    await bus.publish(marker);
    await until(other.log, () => idsOf(other.log).includes(marker.id));
    // A client's own online is in its members snapshot (registered first); others' transitions
    // come once each, and never from another tenant.
    expect(presenceOf(other.log)).toEqual([]);
    expect(presenceOf(watcher.log)).toEqual(['presence.online a/u1', 'presence.offline a/u1']);
  });

  it('sends no members to a stream that does not take presence.* events', async () => {
    const { bus, presence } = await setup();
    const server = await startSocketServer(bus, { presence });
    servers.push(server);
    const calls = await open(server, 'token:a:u1', { types: ['call.*'] });
    const marker = makeEvent('a', { type: 'call.ringing' });
    await bus.publish(marker);
    await until(calls.log, () => idsOf(calls.log).includes(marker.id));
    expect(calls.log.named('presence_members')).toEqual([]);
  });

  it('gives an all-tenants stream that takes presence.* the members of every tenant, then every tenant’s presence.* events', async () => {
    const { bus, presence } = await setup();
    const tracker = createTestTracker(bus);
    const server = await startSocketServer(bus, { presence, tracker: tracker.reader });
    servers.push(server);
    const tenant = await open(server, 'token:a:u1');
    await open(server, 'token:b:x');
    const callsOnly = await open(server, 'admin:a:calls', { types: ['call.*'] });
    const admin = await open(server, 'admin:a:boss');
    const [members] = await admin.log.waitFor('presence_members');
    const payload = members!.payload as PresenceMembersPayload;
    // The console's own user, of its own tenant, is a member too; all-tenants views have no cursor.
    expect(payload.members.map((member) => `${member.tenantId}/${member.userId}`)).toEqual([
      'a/boss',
      'a/calls',
      'a/u1',
      'b/x',
    ]);
    expect(payload).toMatchObject({ complete: true });
    expect(payload.cursor).toBeUndefined();

    const late = server.client({ token: 'token:c:u9' });
    await connected(late);
    await until(admin.log, () => presenceOf(admin.log).includes('presence.online c/u9'));
    const marker = makeEvent('b', { type: 'call.ringing' });
    await bus.publish(marker);
    const tenantMarker = makeEvent('a', { type: 'call.ringing' });
    await bus.publish(tenantMarker);
    for (const client of [admin, callsOnly]) {
      await until(client.log, () => idsOf(client.log).includes(marker.id));
    }
    await until(tenant.log, () => idsOf(tenant.log).includes(tenantMarker.id));
    expect(namesOf(admin.log)).toEqual(['active_calls', 'presence_members']);
    expect(presenceOf(admin.log)).toEqual(['presence.online c/u9']);
    expect(namesOf(callsOnly.log)).toEqual(['active_calls']);
    expect(namesOf(tenant.log)).toEqual(['active_calls', 'presence_members']);
    const [tenantMembers] = tenant.log.named('presence_members');
    expect((tenantMembers!.payload as PresenceMembersPayload).complete).toBe(true);
  });

  it('cuts presence_members at presenceSnapshotLimit, of every tenant or of a tenant, and says so; refuses a limit out of 1–10,000', async () => {
    const { bus, presence } = await setup();
    for (const [tenantId, userId] of [
      ['a', 'u1'],
      ['a', 'u2'],
      ['b', 'x'],
      ['b', 'y'],
    ] as const) {
      await presence.connect({ tenantId, userId });
    }
    const server = await startSocketServer(bus, { presence, presenceSnapshotLimit: 3 });
    servers.push(server);
    const membersOf = async (log: EventLog) => {
      const [members] = await log.waitFor('presence_members');
      const payload = members!.payload as PresenceMembersPayload;
      return {
        members: payload.members.map((member) => `${member.tenantId}/${member.userId}`),
        complete: payload.complete,
      };
    };
    // Every tenant: five users (the console's own, of tenant a, included), cut at three.
    const admin = await open(server, 'admin:a:boss', { types: ['presence.*'] });
    expect(await membersOf(admin.log)).toEqual({
      members: ['a/boss', 'a/u1', 'a/u2'],
      complete: false,
    });
    // One tenant of exactly three users (the watcher's own included): whole, and said so.
    const tenant = await open(server, 'token:b:watcher', { types: ['presence.*'] });
    expect(await membersOf(tenant.log)).toEqual({
      members: ['b/watcher', 'b/x', 'b/y'],
      complete: true,
    });
    for (const presenceSnapshotLimit of [0, 1.5, 10_001, Number.NaN]) {
      await expect(startSocketServer(bus, { presence, presenceSnapshotLimit })).rejects.toThrow(
        /presenceSnapshotLimit must be/,
      );
    }
  });

  it('gives an all-tenants stream the members of every tenant again each time it subscribes after a reset', async () => {
    const bus = faultyBus(createMemoryBus());
    buses.push(bus);
    const presence = createPresence({ bus, autoHeartbeat: false, clock: { now: () => t0 } });
    presences.push(presence);
    const server = await startSocketServer(bus, { presence });
    servers.push(server);
    // A user of another tenant, connected elsewhere (another transport, another process).
    await presence.connect({ tenantId: 'b', userId: 'x' });
    const before = await bus.publish(makeEvent('a'));
    // Back with a cursor: an all-tenants view cannot resume, it is told to reload.
    const socket = server.client({ token: 'admin:a:boss', lastCursor: before.cursor });
    const log = createEventLog(socket);
    await connected(socket);
    await log.waitFor('reset');
    expect(namesOf(log)).toEqual(['reset']);
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    // An event it cannot be sent, in the middle of the stream.
    const poison = makeEvent('b');
    bus.poison(poison.id, 'toJSON');
    await bus.publish(poison);
    await log.waitFor('reset', 2);
    expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const marker = makeEvent('b', { type: 'call.ringing' });
    await bus.publish(marker);
    await until(log, () => idsOf(log).includes(marker.id));

    expect(namesOf(log)).toEqual(['reset', 'presence_members', 'reset', 'presence_members']);
    expect(log.named('reset').map((entry) => entry.payload)).toEqual([
      { reason: 'reconnected' },
      { reason: 'event-skipped' },
    ]);
    for (const entry of log.named('presence_members')) {
      expect(
        (entry.payload as PresenceMembersPayload).members.map(
          (member) => `${member.tenantId}/${member.userId}`,
        ),
      ).toEqual(['a/boss', 'b/x']);
    }
    expect(idsOf(log)).toEqual([marker.id]);
  });

  it('tells an all-tenants stream that takes presence.* that no members come when presence cannot list every tenant', async () => {
    const { bus, presence } = await setup();
    // A presence of the app's own, with only what a tenant's stream needs.
    const perTenant: ConnectionPresence = {
      connect: (principal, options) => presence.connect(principal, options),
      listMembers: (tenantId, options) => presence.listMembers(tenantId, options),
    };
    const tracker = createTestTracker(bus);
    const server = await startSocketServer(bus, { presence: perTenant, tracker: tracker.reader });
    servers.push(server);
    const admin = await open(server, 'admin:a:boss');
    const tenant = await open(server, 'token:a:u1');
    const marker = makeEvent('a', { type: 'call.ringing' });
    await bus.publish(marker);
    for (const client of [admin, tenant]) {
      await until(client.log, () => idsOf(client.log).includes(marker.id));
    }
    // Said before the snapshot, so the client neither waits for members nor holds diffs.
    expect(namesOf(admin.log)).toEqual(['presence_unavailable', 'active_calls']);
    const [unavailable] = admin.log.named('presence_unavailable');
    expect(unavailable?.payload as PresenceUnavailablePayload).toEqual({ reason: 'all-tenants' });
    expect(namesOf(tenant.log)).toEqual(['active_calls', 'presence_members']);
  });

  it('heartbeats on Engine.IO pongs, and reports a refused registration as presence_error', async () => {
    const { bus, presence } = await setup({ maxConnectionsPerUser: 1 });
    let heartbeats = 0;
    const beat = new Set<() => void>();
    const counting: ConnectionPresence = {
      listMembers: (tenantId) => presence.listMembers(tenantId),
      async connect(principal, options) {
        const connection = await presence.connect(principal, options);
        return {
          heartbeat: async () => {
            heartbeats += 1;
            for (const check of [...beat]) check();
            await connection.heartbeat();
          },
          disconnect: () => connection.disconnect(),
        };
      },
    };
    const server = await startSocketServer(
      bus,
      { presence: counting },
      { pingInterval: 20, pingTimeout: 5000 },
    );
    servers.push(server);
    const first = server.client({ token: 'token:a:u1' });
    await connected(first);
    await new Promise<void>((resolve) => {
      const check = () => {
        if (heartbeats < 2) return;
        beat.delete(check);
        resolve();
      };
      beat.add(check);
    });
    const second = server.client({ token: 'token:a:u1' });
    const log = createEventLog(second);
    await connected(second);
    const [refusal] = await log.waitFor('presence_error');
    expect(refusal!.payload as PresenceErrorPayload).toMatchObject({
      code: 'too_many_connections',
    });
    expect(second.connected).toBe(true);
  });

  it('names the cursor its queue starts at, even when the registration it waits for is slow', async () => {
    const { bus, presence } = await setup();
    const tracker = createTestTracker(bus);
    // u1's registration waits for the test: its snapshot waits for the registration.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let entered!: () => void;
    const registering = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const gated: ConnectionPresence = {
      listMembers: (tenantId) => presence.listMembers(tenantId),
      async connect(principal, options) {
        if (principal.userId === 'u1') {
          entered();
          await gate;
        }
        return presence.connect(principal, options);
      },
    };
    const server = await startSocketServer(bus, { presence: gated, tracker: tracker.reader });
    servers.push(server);
    const watcher = await open(server, 'token:a:boss');

    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    await registering;
    const subscribed = ack(socket, 'subscribe_to_calls');
    // A round trip after it: the snapshot has started its queue and waits for the registration.
    expect(await ack(socket, 'unsubscribe_from_call', { callId: 'CA-none' })).toEqual({ ok: true });
    const during = makeEvent('a', { id: 'during-registration', type: 'call.initiated' });
    await tracker.ingest(during);
    await until(watcher.log, () => idsOf(watcher.log).includes(during.id));
    openGate();
    expect(await subscribed).toEqual({ ok: true });
    const marker = makeEvent('a', { id: 'marker', type: 'call.transcript' });
    await bus.publish(marker);
    await until(log, () => idsOf(log).includes(marker.id));

    const calls = log.named('active_calls')[0]?.payload as ActiveCallsPayload;
    const members = log.named('presence_members')[0]?.payload as PresenceMembersPayload;
    const cursor = calls.cursor as string;
    expect(members.cursor).toBe(cursor);
    // Read after the registration: the members hold the connection's own user.
    expect(members.members.map((member) => member.userId).sort()).toEqual(['boss', 'u1']);
    const names = log.events.map((entry) => entry.name);
    const afterSnapshot = log
      .named('call_update')
      .map((entry) => entry.payload as CallTrackDelivery);
    expect(names.indexOf('call_update')).toBeGreaterThan(names.indexOf('presence_members'));
    expect(afterSnapshot.map((delivery) => delivery.event.id)).toContain(during.id);

    // What a reconnect with the snapshot's cursor gets is exactly what followed the snapshot:
    // every event after the snapshot is after its cursor, none twice, none missing.
    const again = server.client({ token: 'token:a:u2', lastCursor: cursor });
    const againLog = createEventLog(again);
    await connected(again);
    await until(againLog, () => idsOf(againLog).includes(marker.id));
    const upToMarker = (deliveries: CallTrackDelivery[]) =>
      deliveries
        .slice(0, deliveries.findIndex((delivery) => delivery.event.id === marker.id) + 1)
        .map((delivery) => `${delivery.cursor} ${delivery.event.id}`);
    const replayed = upToMarker(
      againLog.named('call_update').map((entry) => entry.payload as CallTrackDelivery),
    );
    expect(upToMarker(afterSnapshot)).toEqual(replayed);
    expect(againLog.named('reset')).toEqual([]);
  });

  it('refuses a presence option without connect and listMembers', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    await expect(startSocketServer(bus, { presence: {} as ConnectionPresence })).rejects.toThrow(
      /presence must have connect\(\) and listMembers\(\)/,
    );
  });
});

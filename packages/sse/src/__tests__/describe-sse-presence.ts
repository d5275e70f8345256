import { createMemoryBus } from '@calltrack/bus';
import type { ConnectionPresence } from '@calltrack/core';
import { createPresence } from '@calltrack/presence';
import {
  callEvents,
  makeCallEvent,
  openEventSource,
  poisonBus,
  type ReceivedEvent,
  stopTestServers,
  testEventClock,
} from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { afterEach, describe, expect, it } from 'vitest';
import { type MakeSseListener, openRaw, startSse } from './describe-sse-handler';
import { deferred } from './read-sse';

const t0 = Date.parse('2026-11-21T10:00:00.000Z');

/** A user-addressed event for `userId` of `tenantId`, as presence's `send` publishes it. */
function messageFor(tenantId: string, userId: string, text: string) {
  return makeCallEvent({
    type: 'user.message',
    tenantId,
    userId,
    provider: 'calltrack',
    callId: undefined,
    status: undefined,
    data: { audience: 'user', message: { text } },
  });
}

const ids = (events: readonly ReceivedEvent[]) =>
  callEvents(events).map((event) => event.data.id as string);
/** The frames that are not call events, by their `event:`. */
const framesOf = (events: readonly ReceivedEvent[]) =>
  events.filter((event) => event.type !== 'call').map((event) => event.type);
/** A members snapshot's members, as `tenant/user`. */
const membersOf = (frame: ReceivedEvent) =>
  (frame.data.members as { tenantId: string; userId: string }[]).map(
    (member) => `${member.tenantId}/${member.userId}`,
  );
const presenceOf = (events: readonly ReceivedEvent[]) =>
  callEvents(events)
    .filter((event) => String(event.data.type).startsWith('presence.'))
    .map((event) => `${event.data.type} ${event.data.userId}`);

/**
 * User-addressed delivery and presence over an SSE listener, with the real `eventsource`
 * client and a real presence engine on the listener's bus.
 */
export function describeSsePresence(name: string, makeListener: MakeSseListener): void {
  describe(`${name}: user-addressed events and presence`, () => {
    afterEach(stopTestServers);

    it('gives a user-addressed event to that user only, live and on resume', async () => {
      const sse = await startSse(makeListener);
      const a = openEventSource(sse.url, 'tenant-a:u1');
      const b = openEventSource(sse.url, 'tenant-a:u2');
      const other = openEventSource(sse.url, 'tenant-b:u1');
      const admin = openEventSource(sse.url, '*:admin');
      await sse.untilOpened(4);

      const before = await sse.bus.publish(makeCallEvent());
      const message = messageFor('tenant-a', 'u1', 'call Jones back');
      const otherTenant = messageFor('tenant-b', 'u2', 'not for anyone here');
      await sse.bus.publish(message);
      await sse.bus.publish(otherTenant);
      const markerA = makeCallEvent();
      const markerB = makeCallEvent({ tenantId: 'tenant-b' });
      await sse.bus.publish(markerA);
      await sse.bus.publish(markerB);
      const has = (id: string) => (events: ReceivedEvent[]) => ids(events).includes(id);
      await Promise.all([
        a.until(has(markerA.id)),
        b.until(has(markerA.id)),
        other.until(has(markerB.id)),
        admin.until(has(markerB.id)),
      ]);
      expect(ids(a.received)).toContain(message.id);
      for (const client of [b, other, admin]) {
        expect(ids(client.received)).not.toContain(message.id);
        expect(ids(client.received)).not.toContain(otherTenant.id);
      }

      // Resume from before the message: the replay follows the same rule.
      const resumedA = await openRaw(sse.url, 'tenant-a:u1', { 'last-event-id': before.cursor });
      const resumedB = await openRaw(sse.url, 'tenant-a:u2', { 'last-event-id': before.cursor });
      const [first] = await resumedA.reader.events(1);
      expect(JSON.parse(first!.data!).id).toBe(message.id);
      const [firstB] = await resumedB.reader.events(1);
      expect(JSON.parse(firstB!.data!).id).toBe(markerA.id);
      await Promise.all([resumedA.close(), resumedB.close()]);
      for (const client of [a, b, other, admin]) client.close();
    });

    it('never gives user-addressed events to a stream without a userId', async () => {
      const sse = await startSse(makeListener, {
        authenticate: (request) =>
          request.headers.get('authorization') === 'Bearer service'
            ? { tenantId: 'tenant-a' }
            : null,
      });
      const service = openEventSource(sse.url, 'service');
      await sse.untilOpened(1);
      const message = messageFor('tenant-a', 'u1', 'private');
      const marker = makeCallEvent();
      await sse.bus.publish(message);
      await sse.bus.publish(marker);
      await service.until((events) => ids(events).includes(marker.id));
      expect(ids(service.received)).toEqual([marker.id]);
      service.close();
    });

    it('registers each stream with presence: snapshot first, then online and offline of others, per tenant', async () => {
      let now = t0;
      const sse = await startSse(makeListener, { keepAliveMs: 0 });
      const presence = createPresence({
        bus: sse.bus,
        autoHeartbeat: false,
        leaveDelayMs: 5000,
        clock: { now: () => now },
      });
      const withPresence = await startSse(makeListener, {
        realBus: sse.bus,
        presence,
        keepAliveMs: 0,
      });
      const watcher = openEventSource(withPresence.url, 'tenant-a:boss');
      await watcher.until((events) => events.some((event) => event.type === 'presence'));
      const [snapshot] = watcher.received.filter((event) => event.type === 'presence');
      expect(snapshot!.data.members.map((member: { userId: string }) => member.userId)).toEqual([
        'boss',
      ]);
      const otherTenant = openEventSource(withPresence.url, 'tenant-b:u1');
      await otherTenant.until((events) => events.some((event) => event.type === 'presence'));

      const agent = openEventSource(withPresence.url, 'tenant-a:u1');
      await watcher.until((events) => presenceOf(events).includes('presence.online u1'));
      expect((await presence.getPresence('tenant-a', 'u1')).status).toBe('online');
      // u1's own stream starts with the members, itself included.
      await agent.until((events) => events.some((event) => event.type === 'presence'));
      const agentSnapshot = agent.received.find((event) => event.type === 'presence');
      expect(
        agentSnapshot!.data.members.map((member: { userId: string }) => member.userId).sort(),
      ).toEqual(['boss', 'u1']);

      agent.close();
      await withPresence.untilClosed(1);
      now += 5001;
      await presence.sweep();
      await watcher.until((events) => presenceOf(events).includes('presence.offline u1'));
      // The watcher's own online comes after the snapshot that already holds it (same version).
      expect(presenceOf(watcher.received)).toEqual([
        'presence.online boss',
        'presence.online u1',
        'presence.offline u1',
      ]);

      // Tenant B saw none of tenant A's presence, and its snapshot had only its own.
      const marker = makeCallEvent({ tenantId: 'tenant-b' });
      await sse.bus.publish(marker);
      await otherTenant.until((events) => ids(events).includes(marker.id));
      expect(presenceOf(otherTenant.received).filter((entry) => !entry.endsWith(' u1'))).toEqual(
        [],
      );
      expect(
        callEvents(otherTenant.received).every((event) => event.data.tenantId === 'tenant-b'),
      ).toBe(true);
      const [bSnapshot] = otherTenant.received.filter((event) => event.type === 'presence');
      expect(
        bSnapshot!.data.members.map((member: { tenantId: string }) => member.tenantId),
      ).toEqual(['tenant-b']);
      watcher.close();
      otherTenant.close();
      await presence.stop();
    });

    it('a burst while the first members load drops the events and reads snapshot and members again', async () => {
      const sse = await startSse(makeListener, { keepAliveMs: 0 });
      const tracker = createCallTracker({ bus: sse.bus, clock: testEventClock(), logger: {} });
      const presence = createPresence({ bus: sse.bus, autoHeartbeat: false });
      const firstList = deferred();
      const gate = deferred();
      let lists = 0;
      const gated: ConnectionPresence = {
        connect: (principal, options) => presence.connect(principal, options),
        async listMembers(tenantId) {
          lists += 1;
          if (lists === 1) {
            firstList.resolve();
            await gate.promise;
          }
          return presence.listMembers(tenantId);
        },
      };
      const withPresence = await startSse(makeListener, {
        realBus: sse.bus,
        tracker,
        presence: gated,
        keepAliveMs: 0,
        maxPendingEvents: 5,
      });
      const { reader, close } = await openRaw(withPresence.url, 'tenant-a:u1');
      await firstList.promise;
      // The snapshot went out; the members hold back the events that follow it.
      const [early] = await reader.events(1);
      expect(JSON.parse(early!.data!)).toEqual({ calls: [], complete: true });
      for (const callId of ['CA-1', 'CA-2', 'CA-3', 'CA-4', 'CA-5', 'CA-6']) {
        await tracker.ingest(makeCallEvent({ callId }));
      }
      gate.resolve();
      // What the dropped events did is in a second snapshot, read after them.
      const [snapshot, members] = await reader.events(2);
      expect(snapshot?.event).toBe('snapshot');
      expect(JSON.parse(snapshot!.data!).calls).toHaveLength(6);
      expect(members?.event).toBe('presence');
      expect(
        JSON.parse(members!.data!).members.map((member: { userId: string }) => member.userId),
      ).toEqual(['u1']);
      expect(lists).toBe(2);
      const live = makeCallEvent({ callId: 'CA-live' });
      await tracker.ingest(live);
      const [frame] = await reader.events(1);
      expect(JSON.parse(frame!.data!).id).toBe(live.id);
      expect(withPresence.closed).toEqual([]);
      await close();
      await presence.stop();
    });

    it('gives an all-tenants stream that takes presence.* the members of every tenant, then every tenant’s presence.* events', async () => {
      let now = t0;
      const sse = await startSse(makeListener, { keepAliveMs: 0 });
      const tracker = createCallTracker({ bus: sse.bus, clock: testEventClock(), logger: {} });
      const presence = createPresence({
        bus: sse.bus,
        autoHeartbeat: false,
        leaveDelayMs: 5000,
        clock: { now: () => now },
      });
      const withPresence = await startSse(makeListener, {
        realBus: sse.bus,
        tracker,
        presence,
        keepAliveMs: 0,
      });
      const a = openEventSource(withPresence.url, 'tenant-a:u1');
      const b = openEventSource(withPresence.url, 'tenant-b:u1');
      await withPresence.untilOpened(2);
      const callsOnly = openEventSource(`${withPresence.url}?types=call.*`, '*:calls');
      await withPresence.untilOpened(3);
      const admin = openEventSource(withPresence.url, '*:admin');
      await withPresence.untilOpened(4);
      const marker = makeCallEvent();
      await sse.bus.publish(marker);
      for (const source of [admin, callsOnly, a]) {
        await source.until((events) => ids(events).includes(marker.id));
      }
      expect(framesOf(admin.received)).toEqual(['snapshot', 'presence']);
      const [snapshot] = admin.received.filter((event) => event.type === 'presence');
      expect(snapshot!.data.complete).toBe(true);
      expect(membersOf(snapshot!)).toEqual([
        // The console's own user, of its own tenant, is a member too.
        'tenant-a/admin',
        'tenant-a/calls',
        'tenant-a/u1',
        'tenant-b/u1',
      ]);
      expect(framesOf(callsOnly.received)).toEqual(['snapshot']);
      expect(framesOf(a.received)).toEqual(['snapshot', 'presence']);

      // Then every tenant's presence.* events, as a tenant's stream gets its own.
      const c = openEventSource(withPresence.url, 'tenant-c:u9');
      await admin.until((events) => presenceOf(events).includes('presence.online u9'));
      b.close();
      await withPresence.untilClosed(1);
      now += 5001;
      await presence.sweep();
      await admin.until((events) => presenceOf(events).includes('presence.offline u1'));
      expect(
        callEvents(admin.received)
          .filter((event) => String(event.data.type).startsWith('presence.'))
          .map((event) => `${event.data.type} ${event.data.tenantId}/${event.data.userId}`),
      ).toContain('presence.offline tenant-b/u1');
      for (const source of [admin, callsOnly, a, c]) source.close();
      await presence.stop();
    });

    it('gives an all-tenants stream the members of every tenant again after a reset: when it comes back, and in the middle of the stream', async () => {
      const poisoned = poisonBus(createMemoryBus());
      const tracker = createCallTracker({ bus: poisoned.bus, clock: testEventClock(), logger: {} });
      const presence = createPresence({ bus: poisoned.bus, autoHeartbeat: false });
      const sse = await startSse(makeListener, {
        realBus: poisoned.bus,
        tracker,
        presence,
        keepAliveMs: 0,
      });
      const before = await sse.bus.publish(makeCallEvent());
      // A user of another tenant, connected elsewhere (another transport, another process).
      await presence.connect({ tenantId: 'tenant-b', userId: 'u2' });
      const tenant = openEventSource(sse.url, 'tenant-a:u1');
      await sse.untilOpened(1);
      // Back with the last id it had: an all-tenants view cannot resume, it is told to reload.
      const admin = openEventSource(
        `${sse.url}?lastEventId=${encodeURIComponent(before.cursor)}`,
        '*:admin',
      );
      await sse.untilOpened(2);
      const poison = makeCallEvent();
      poisoned.poison(poison.id, 'toJSON');
      await sse.bus.publish(poison);
      const marker = makeCallEvent();
      await sse.bus.publish(marker);
      for (const source of [admin, tenant]) {
        await source.until((events) => ids(events).includes(marker.id));
      }
      expect(framesOf(admin.received)).toEqual([
        'reset',
        'snapshot',
        'presence',
        'reset',
        'snapshot',
        'presence',
      ]);
      expect(admin.received.filter((event) => event.type === 'reset').map((e) => e.data)).toEqual([
        { reason: 'reconnected' },
        { reason: 'event-skipped' },
      ]);
      for (const members of admin.received.filter((event) => event.type === 'presence')) {
        expect(membersOf(members)).toEqual(['tenant-a/admin', 'tenant-a/u1', 'tenant-b/u2']);
      }
      // A tenant's stream gets its own members again.
      expect(framesOf(tenant.received)).toEqual([
        'snapshot',
        'presence',
        'reset',
        'snapshot',
        'presence',
      ]);
      admin.close();
      tenant.close();
      await presence.stop();
    });

    it('cuts a members snapshot at 1,000 users, of a tenant or of every tenant, and says so', async () => {
      const sse = await startSse(makeListener, { keepAliveMs: 0 });
      const presence = createPresence({ bus: sse.bus, autoHeartbeat: false });
      for (let index = 0; index < 600; index += 1) {
        const id = String(index).padStart(4, '0');
        await presence.connect({ tenantId: 'tenant-a', userId: `a-${id}` });
        await presence.connect({ tenantId: 'tenant-b', userId: `b-${id}` });
      }
      const withPresence = await startSse(makeListener, {
        realBus: sse.bus,
        presence,
        keepAliveMs: 0,
      });
      const admin = openEventSource(`${withPresence.url}?types=presence.*`, '*:admin');
      const tenant = openEventSource(`${withPresence.url}?types=presence.*`, 'tenant-b:watcher');
      const first = (source: typeof admin) =>
        source
          .until((events) => events.some((event) => event.type === 'presence'))
          .then((events) => events.find((event) => event.type === 'presence')!.data);
      const all = await first(admin);
      expect(all.members).toHaveLength(1000);
      expect(all.complete).toBe(false);
      const one = await first(tenant);
      expect(one.members).toHaveLength(601);
      expect(one.complete).toBe(true);
      admin.close();
      tenant.close();
      await presence.stop();
    });

    it('cuts a members snapshot at presenceSnapshotLimit, of every tenant or of a tenant, and says so; refuses a limit out of 1–10,000', async () => {
      const sse = await startSse(makeListener, { keepAliveMs: 0 });
      const presence = createPresence({ bus: sse.bus, autoHeartbeat: false });
      for (const [tenantId, userId] of [
        ['tenant-a', 'a-1'],
        ['tenant-a', 'a-2'],
        ['tenant-b', 'b-1'],
        ['tenant-b', 'b-2'],
      ] as const) {
        await presence.connect({ tenantId, userId });
      }
      const withPresence = await startSse(makeListener, {
        realBus: sse.bus,
        presence,
        presenceSnapshotLimit: 3,
        keepAliveMs: 0,
      });
      const first = (source: ReturnType<typeof openEventSource>) =>
        source
          .until((events) => events.some((event) => event.type === 'presence'))
          .then((events) => events.find((event) => event.type === 'presence')!);
      // Every tenant: five users (the console's own, of tenant-a, included), cut at three.
      const admin = openEventSource(`${withPresence.url}?types=presence.*`, '*:admin');
      const all = await first(admin);
      expect(membersOf(all)).toEqual(['tenant-a/a-1', 'tenant-a/a-2', 'tenant-a/admin']);
      expect(all.data.complete).toBe(false);
      // One tenant of exactly three users (the watcher's own included): whole, and said so.
      const tenant = openEventSource(`${withPresence.url}?types=presence.*`, 'tenant-b:watcher');
      const one = await first(tenant);
      expect(membersOf(one)).toEqual(['tenant-b/b-1', 'tenant-b/b-2', 'tenant-b/watcher']);
      expect(one.data.complete).toBe(true);
      admin.close();
      tenant.close();
      await presence.stop();
      for (const presenceSnapshotLimit of [0, 1.5, 10_001, Number.NaN]) {
        await expect(startSse(makeListener, { presence, presenceSnapshotLimit })).rejects.toThrow(
          'presenceSnapshotLimit must be an integer from 1 to 10000',
        );
      }
    });

    it('tells an all-tenants stream that takes presence.* that no members come when presence cannot list every tenant', async () => {
      const sse = await startSse(makeListener, { keepAliveMs: 0 });
      const tracker = createCallTracker({ bus: sse.bus, clock: testEventClock(), logger: {} });
      const presence = createPresence({ bus: sse.bus, autoHeartbeat: false });
      // A presence of the app's own, with only what a tenant's stream needs.
      const perTenant: ConnectionPresence = {
        connect: (principal, options) => presence.connect(principal, options),
        listMembers: (tenantId, options) => presence.listMembers(tenantId, options),
      };
      const withPresence = await startSse(makeListener, {
        realBus: sse.bus,
        tracker,
        presence: perTenant,
        keepAliveMs: 0,
      });
      const admin = openEventSource(withPresence.url, '*:admin');
      const tenant = openEventSource(withPresence.url, 'tenant-a:u1');
      await withPresence.untilOpened(2);
      const marker = makeCallEvent();
      await sse.bus.publish(marker);
      for (const source of [admin, tenant]) {
        await source.until((events) => ids(events).includes(marker.id));
      }
      expect(framesOf(admin.received)).toEqual(['presence-unavailable', 'snapshot']);
      expect(admin.received[0]?.data).toEqual({ reason: 'all-tenants' });
      expect(framesOf(tenant.received)).toEqual(['snapshot', 'presence']);
      admin.close();
      tenant.close();
      await presence.stop();
    });

    it('heartbeats on its keepalive and answers 429 when presence refuses a connection', async () => {
      const sse = await startSse(makeListener, { keepAliveMs: 0 });
      const presence = createPresence({
        bus: sse.bus,
        autoHeartbeat: false,
        maxConnectionsPerUser: 1,
      });
      let heartbeats = 0;
      const notify = new Set<() => void>();
      const counting: ConnectionPresence = {
        listMembers: (tenantId) => presence.listMembers(tenantId),
        async connect(principal, options) {
          const connection = await presence.connect(principal, options);
          return {
            heartbeat: async () => {
              heartbeats += 1;
              for (const check of notify) check();
              await connection.heartbeat();
            },
            disconnect: () => connection.disconnect(),
          };
        },
      };
      const withPresence = await startSse(makeListener, {
        realBus: sse.bus,
        presence: counting,
        keepAliveMs: 5,
      });
      const first = await openRaw(withPresence.url, 'tenant-a:u1');
      expect(first.response.status).toBe(200);
      await new Promise<void>((resolve) => {
        const check = () => {
          if (heartbeats >= 2) {
            notify.delete(check);
            resolve();
          }
        };
        notify.add(check);
      });
      const second = await fetch(withPresence.url, {
        headers: { authorization: 'Bearer tenant-a:u1' },
      });
      expect(second.status).toBe(429);
      expect(await second.json()).toMatchObject({ error: { code: expect.any(String) } });
      await first.close();
      await presence.stop();
    });

    it('refuses a presence option without connect and listMembers', async () => {
      await expect(startSse(makeListener, { presence: {} as ConnectionPresence })).rejects.toThrow(
        /presence must have connect\(\) and listMembers\(\)/,
      );
    });
  });
}

import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { Principal } from '@calltrack/core';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestTracker, type TestTracker } from './__tests__/create-test-tracker';
import { createEventLog, type EventLog } from './__tests__/event-log';
import { type FaultyBus, faultyBus } from './__tests__/faulty-bus';
import { makeEvent } from './__tests__/make-event';
import {
  connected,
  disconnectAndWait,
  refused,
  startSocketServer,
  type TestSocketServer,
  verifyTestToken,
} from './__tests__/start-socket-server';
import type { ActiveCallsPayload, CallTrackAck, CallTrackDelivery } from './call-track-protocol';
import { allTenantsCallsRoom, tenantRoom, userRoom } from './call-track-rooms';

const servers: TestSocketServer[] = [];
const buses: EventBus[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

/**
 * The app's check in these tests: {@link verifyTestToken} (`admin:<tenant>:<user>` is a
 * super-admin), and `flag:<value>` returns `allTenants: <value>` as it is.
 */
function authenticate(token: unknown): Principal | null {
  if (typeof token === 'string' && token.startsWith('flag:')) {
    const value = token.slice('flag:'.length);
    return { tenantId: 'a', allTenants: value === 'false' ? false : value } as Principal;
  }
  return verifyTestToken(token);
}

async function setup(): Promise<{
  bus: FaultyBus;
  tracker: TestTracker;
  server: TestSocketServer;
  errors: unknown[];
}> {
  const bus = faultyBus(createMemoryBus());
  buses.push(bus);
  const tracker = createTestTracker(bus);
  const errors: unknown[] = [];
  const server = await startSocketServer(bus, {
    tracker: tracker.reader,
    authenticate: (handshake) => authenticate(handshake.auth.token),
    onError: (error) => errors.push(error),
  });
  servers.push(server);
  return { bus, tracker, server, errors };
}

function ack(socket: Socket, event: string, ...args: unknown[]): Promise<CallTrackAck> {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

async function client(server: TestSocketServer, auth: Record<string, unknown>) {
  const socket = server.client(auth);
  const log = createEventLog(socket);
  await connected(socket);
  return { socket, log };
}

const ids = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).event.id);

/** Every tenant id a client saw in deliveries, snapshots and call data. */
function tenantsSeen(log: EventLog): Set<string> {
  const seen = new Set<string>();
  for (const { payload } of log.events) {
    const value = payload as Partial<CallTrackDelivery & ActiveCallsPayload> & {
      call?: { tenantId: string };
    };
    if (value.event) seen.add(value.event.tenantId);
    for (const call of value.calls ?? []) seen.add(call.tenantId);
    if (value.call) seen.add(value.call.tenantId);
  }
  return seen;
}

describe('an all-tenants principal', () => {
  it('gets every tenant’s snapshot and events; tenant connections never do, whatever they send', async () => {
    const { tracker, server } = await setup();
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-a' }));
    await tracker.ingest(makeEvent('b', { type: 'call.initiated', callId: 'CA-b' }));

    const admin = await client(server, { token: 'admin:ops:root' });
    // Tenant a forges every way it can to reach b, or everyone.
    const forger = await client(server, {
      token: 'token:a:u1',
      tenantId: 'b',
      allTenants: true,
      tenant: '*',
    });
    const honestB = await client(server, { token: 'token:b:u2' });

    expect(await ack(admin.socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const [snapshot] = admin.log.named('active_calls');
    const payload = snapshot?.payload as ActiveCallsPayload;
    expect(payload.calls.map((call) => `${call.tenantId}/${call.callId}`).sort()).toEqual([
      'a/CA-a',
      'b/CA-b',
    ]);
    // No cursor: an all-tenants view has no position to resume from.
    expect(payload).not.toHaveProperty('cursor');

    expect(
      await ack(forger.socket, 'subscribe_to_calls', { allTenants: true, tenantId: 'b' }),
    ).toEqual({ ok: true });
    for (const payload of [
      { callId: 'CA-b', tenantId: 'b' },
      { callId: 'CA-b', tenantId: 'b', allTenants: true },
    ]) {
      expect(await ack(forger.socket, 'subscribe_to_call', payload)).toEqual({
        ok: false,
        error: { code: 'not_found', message: 'Call CA-b not found' },
      });
    }
    expect(await ack(honestB.socket, 'subscribe_to_calls')).toEqual({ ok: true });

    const published: string[] = [];
    for (let index = 0; index < 6; index += 1) {
      const tenant = index % 2 === 0 ? 'a' : 'b';
      const event = makeEvent(tenant, { id: `x-${tenant}-${index}`, callId: `CA-${tenant}` });
      published.push(event.id);
      await tracker.ingest(event);
    }
    // The bus keeps order per tenant only: across tenants the admin's may interleave.
    const seen = ids(await admin.log.waitFor('call_update', 6));
    for (const tenant of ['a', 'b']) {
      const ofTenant = (id: string) => id.startsWith(`x-${tenant}-`);
      expect(seen.filter(ofTenant)).toEqual(published.filter(ofTenant));
    }
    expect([...seen].sort()).toEqual([...published].sort());
    expect(ids(await forger.log.waitFor('call_update', 3))).toEqual(
      published.filter((id) => id.startsWith('x-a')),
    );
    expect(ids(await honestB.log.waitFor('call_update', 3))).toEqual(
      published.filter((id) => id.startsWith('x-b')),
    );
    // A last event of a's proves the forger has seen all it ever will.
    await tracker.ingest(makeEvent('a', { id: 'probe', callId: 'CA-a' }));
    await forger.log.waitFor('call_update', 4);
    expect(tenantsSeen(forger.log)).toEqual(new Set(['a']));
    expect(tenantsSeen(honestB.log)).toEqual(new Set(['b']));
    expect(tenantsSeen(admin.log)).toEqual(new Set(['a', 'b']));

    // The admin is in its own tenant's and user's rooms, like anyone; its stream is the
    // all-tenants room, which no tenant connection joined.
    const inAll = await server.io.in(allTenantsCallsRoom()).fetchSockets();
    expect(inAll.map((socket) => socket.id)).toEqual([admin.socket.id]);
    expect(await server.io.in(tenantRoom('ops')).fetchSockets()).toHaveLength(1);
    expect(await server.io.in(userRoom('ops', 'root')).fetchSockets()).toHaveLength(1);
    expect(inAll[0]?.data.calltrack).toEqual({
      tenantId: 'ops',
      userId: 'root',
      allTenants: true,
      roles: ['super-admin'],
    });
  });

  it('only when authenticate says allTenants: true', async () => {
    const { tracker, server } = await setup();
    await tracker.ingest(makeEvent('b', { type: 'call.initiated', callId: 'CA-b' }));
    const notAdmin = await client(server, { token: 'flag:false' });
    await ack(notAdmin.socket, 'subscribe_to_calls');
    expect(notAdmin.log.named('active_calls')[0]?.payload).toMatchObject({ calls: [] });
    // A truthy non-boolean is a broken principal, not a super-admin.
    const broken = await refused(server.client({ token: 'flag:yes' }));
    expect(broken.data).toEqual({ code: 'internal_error' });
  });

  it('follows one call of any tenant, named with tenantId', async () => {
    const { tracker, server } = await setup();
    await tracker.ingest(makeEvent('b', { type: 'call.initiated', callId: 'CA-1' }));
    await tracker.ingest(makeEvent('a', { type: 'call.initiated', callId: 'CA-1' }));
    const admin = await client(server, { token: 'admin:ops:root' });
    expect(await ack(admin.socket, 'subscribe_to_call', { callId: 'CA-1', tenantId: 'b' })).toEqual(
      { ok: true },
    );
    expect(admin.log.named('call_data')[0]?.payload).toMatchObject({
      call: { tenantId: 'b', callId: 'CA-1' },
    });
    // The same call id in another tenant (and in the admin's own, by default) is another call.
    expect(await ack(admin.socket, 'subscribe_to_call', { callId: 'CA-1' })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    await tracker.ingest(makeEvent('a', { id: 'a-call', callId: 'CA-1' }));
    await tracker.ingest(makeEvent('b', { id: 'b-call', callId: 'CA-1' }));
    expect(ids(await admin.log.waitFor('call_update'))).toEqual(['b-call']);
    expect(
      await ack(admin.socket, 'unsubscribe_from_call', { callId: 'CA-1', tenantId: 'b' }),
    ).toEqual({ ok: true });
    await ack(admin.socket, 'subscribe_to_calls', { types: ['call.ended'] });
    await tracker.ingest(makeEvent('b', { id: 'b-again', callId: 'CA-1' }));
    await tracker.ingest(makeEvent('a', { id: 'a-ended', type: 'call.ended', callId: 'CA-1' }));
    expect(ids(await admin.log.waitFor('call_update', 2))).toEqual(['b-call', 'a-ended']);
  });

  it('reloads after a reconnect: a cursor gets reset, then a fresh snapshot', async () => {
    const { tracker, server } = await setup();
    const admin = await client(server, { token: 'admin:ops:root' });
    await ack(admin.socket, 'subscribe_to_calls');
    await tracker.ingest(makeEvent('a', { id: 'seen', type: 'call.initiated', callId: 'CA-a' }));
    const [update] = await admin.log.waitFor('call_update');
    await disconnectAndWait(server.io, admin.socket);
    await tracker.ingest(makeEvent('b', { id: 'missed', type: 'call.initiated', callId: 'CA-b' }));

    const again = await client(server, {
      token: 'admin:ops:root',
      lastCursor: (update!.payload as CallTrackDelivery).cursor,
      calls: [{ callId: 'CA-b', tenantId: 'b' }],
    });
    expect((await again.log.waitFor('reset'))[0]?.payload).toEqual({ reason: 'reconnected' });
    // Its call subscriptions come back with fresh call data.
    expect((await again.log.waitFor('call_data'))[0]?.payload).toMatchObject({
      call: { tenantId: 'b', callId: 'CA-b' },
    });
    expect(await ack(again.socket, 'subscribe_to_calls')).toEqual({ ok: true });
    const snapshot = again.log.named('active_calls')[0]?.payload as ActiveCallsPayload;
    expect(snapshot.calls.map((call) => call.callId).sort()).toEqual(['CA-a', 'CA-b']);
    expect(again.log.named('call_update')).toEqual([]);
  });

  it('shares one all-tenants bus subscription per process, from the first admin to the last', async () => {
    const { bus, server } = await setup();
    const allTenantSubscriptions = () =>
      bus.subscribeCalls.filter((options) => options.allTenants === true).length;
    const first = await client(server, { token: 'admin:ops:one' });
    const second = await client(server, { token: 'admin:ops:two' });
    await Promise.all([
      ack(first.socket, 'subscribe_to_calls'),
      ack(second.socket, 'subscribe_to_calls'),
    ]);
    expect(allTenantSubscriptions()).toBe(1);
    expect(bus.open()).toBe(1);
    await disconnectAndWait(server.io, first.socket);
    expect(bus.open()).toBe(1);
    await disconnectAndWait(server.io, second.socket);
    expect(bus.open()).toBe(0);
  });

  it('restarts a lost all-tenants subscription and tells the rooms to reload', async () => {
    const { bus, tracker, server, errors } = await setup();
    const admin = await client(server, { token: 'admin:ops:root' });
    await ack(admin.socket, 'subscribe_to_calls');
    await tracker.ingest(makeEvent('a', { id: 'before', callId: 'CA-a' }));
    await admin.log.waitFor('call_update');
    expect(bus.endSubscriptions({ allTenants: true })).toBe(1);
    expect((await admin.log.waitFor('reset'))[0]?.payload).toEqual({ reason: 'reconnected' });
    await tracker.ingest(makeEvent('b', { id: 'after', callId: 'CA-b' }));
    expect(ids(await admin.log.waitFor('call_update', 2))).toEqual(['before', 'after']);
    expect(errors).toMatchObject([{ code: 'bus_subscription_lost', tenantId: undefined }]);
  });

  it('tells a connection with only call subscriptions to reload when the subscription is lost', async () => {
    const { bus, tracker, server } = await setup();
    await tracker.ingest(makeEvent('b', { type: 'call.initiated', callId: 'CA-1' }));
    const admin = await client(server, { token: 'admin:ops:root' });
    expect(await ack(admin.socket, 'subscribe_to_call', { callId: 'CA-1', tenantId: 'b' })).toEqual(
      { ok: true },
    );
    // The same call followed through tenant b's own channel, which loses nothing.
    const tenant = await client(server, { token: 'token:b:u1' });
    expect(await ack(tenant.socket, 'subscribe_to_call', { callId: 'CA-1' })).toEqual({
      ok: true,
    });
    expect(bus.endSubscriptions({ allTenants: true })).toBe(1);
    expect((await admin.log.waitFor('reset'))[0]?.payload).toEqual({ reason: 'reconnected' });
    await tracker.ingest(makeEvent('b', { id: 'after', callId: 'CA-1' }));
    expect(ids(await admin.log.waitFor('call_update'))).toEqual(['after']);
    expect(ids(await tenant.log.waitFor('call_update'))).toEqual(['after']);
    expect(tenant.log.named('reset')).toEqual([]);
  });

  it('skips a poisoned event of any tenant and keeps delivering', async () => {
    const { bus, server, errors } = await setup();
    const admin = await client(server, { token: 'admin:ops:root' });
    await ack(admin.socket, 'subscribe_to_calls');
    bus.poison('poison', 'toJSON');
    await bus.publish(makeEvent('b', { id: 'poison' }));
    await bus.publish(makeEvent('a', { id: 'fine' }));
    expect(ids(await admin.log.waitFor('call_update'))).toEqual(['fine']);
    expect(errors).toMatchObject([{ code: 'undeliverable_event', tenantId: 'b' }]);
    expect(admin.log.events.map((entry) => [entry.name, entry.payload])).toEqual([
      ['active_calls', expect.anything()],
      ['reset', { reason: 'event-skipped' }],
      ['call_update', expect.anything()],
    ]);
  });
});

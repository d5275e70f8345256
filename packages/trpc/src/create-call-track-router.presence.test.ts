import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { CallEvent, ConnectionPresence, Principal } from '@calltrack/core';
import { createPresence, type Presence } from '@calltrack/presence';
import { makeCallEvent, poisonBus } from '@calltrack/test-utils';
import { TRPCClientError } from '@trpc/client';
import type { CreateHTTPContextOptions } from '@trpc/server/adapters/standalone';
import { afterEach, describe, expect, it } from 'vitest';
import { type Collector, collectSubscription } from './__tests__/collect-subscription';
import {
  createTestClient,
  startTestServer,
  type TestContext,
  t,
} from './__tests__/start-test-server';
import type { CallStreamMessage } from './call-stream-message';
import { createCallTrackProcedures } from './create-call-track-procedures';
import { createCallTrackRouter } from './create-call-track-router';

type Received = { id: string; data: CallStreamMessage };

const t0 = Date.parse('2026-11-21T10:00:00.000Z');

/** `Bearer <tenant>:<user>`; `*:<user>` is a super-admin of tenant-a; `<tenant>:` has no user. */
function context({ req }: CreateHTTPContextOptions): TestContext {
  const match = /^Bearer ([^:\s]+):(\S*)$/.exec(req.headers.authorization ?? '');
  if (!match) return {};
  const [, tenant, user] = match as unknown as [string, string, string];
  const principal: Principal =
    tenant === '*'
      ? { tenantId: 'tenant-a', userId: user, allTenants: true }
      : { tenantId: tenant, ...(user === '' ? {} : { userId: user }) };
  return { principal };
}

const makeRouter = (
  bus: EventBus,
  presence?: ConnectionPresence,
  presenceHeartbeatMs?: number,
  presenceSnapshotLimit?: number,
) =>
  t.router({
    calltrack: createCallTrackRouter({
      t,
      bus,
      authenticate: (ctx) => ctx.principal,
      onError: () => {},
      ...(presence ? { presence } : {}),
      ...(presenceHeartbeatMs === undefined ? {} : { presenceHeartbeatMs }),
      ...(presenceSnapshotLimit === undefined ? {} : { presenceSnapshotLimit }),
    }),
  });
type AppRouter = ReturnType<typeof makeRouter>;

function messageFor(tenantId: string, userId: string): CallEvent {
  return makeCallEvent({
    type: 'user.message',
    tenantId,
    userId,
    provider: 'calltrack',
    callId: undefined,
    status: undefined,
    data: { audience: 'user', text: 'hi' },
  });
}

const eventIds = (collector: Collector<Received>): string[] =>
  collector.data.flatMap((m) => (m.data.type === 'event' ? [m.data.event.id] : []));
const presenceOf = (collector: Collector<Received>): string[] =>
  collector.data.flatMap((m) =>
    m.data.type === 'event' && m.data.event.type.startsWith('presence.')
      ? [`${m.data.event.type} ${m.data.event.tenantId}/${m.data.event.userId}`]
      : [],
  );

describe('createCallTrackRouter: user-addressed events and presence', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(
    options: {
      presence?: (bus: EventBus) => ConnectionPresence;
      heartbeatMs?: number;
      presenceSnapshotLimit?: number;
      bus?: EventBus;
    } = {},
  ) {
    const bus = options.bus ?? createMemoryBus();
    const presence = options.presence?.(bus);
    const router = makeRouter(bus, presence, options.heartbeatMs, options.presenceSnapshotLimit);
    const server = await startTestServer(router, { createContext: context });
    cleanups.push(
      () => bus.close(),
      () => server.close(),
    );
    const subscribe = (
      token: string,
      input: Parameters<
        ReturnType<typeof createTestClient<AppRouter>>['calltrack']['onCallEvent']['subscribe']
      >[0] = undefined,
    ) => {
      const collector = collectSubscription<Received>();
      const subscription = createTestClient<AppRouter>(
        server.url,
        token,
      ).calltrack.onCallEvent.subscribe(input, collector.callbacks);
      cleanups.push(() => subscription.unsubscribe());
      return { collector, subscription };
    };
    return { bus, server, subscribe };
  }

  it('gives a user-addressed event to that user only, live and on resume', async () => {
    const { bus, subscribe } = await setup();
    const clients = ['tenant-a:u1', 'tenant-a:u2', 'tenant-b:u1', '*:admin', 'tenant-a:'].map(
      (token) => subscribe(token).collector,
    );
    await Promise.all(
      clients.map((c) => c.until(() => c.data.some((m) => m.data.type === 'ready'))),
    );
    const [a, b, other, admin, service] = clients as [
      Collector<Received>,
      Collector<Received>,
      Collector<Received>,
      Collector<Received>,
      Collector<Received>,
    ];
    const before = await bus.publish(makeCallEvent());
    const message = messageFor('tenant-a', 'u1');
    const foreign = messageFor('tenant-b', 'u2');
    await bus.publish(message);
    await bus.publish(foreign);
    const markerA = makeCallEvent();
    const markerB = makeCallEvent({ tenantId: 'tenant-b' });
    await bus.publish(markerA);
    await bus.publish(markerB);
    for (const c of [a, b, service]) await c.until(() => eventIds(c).includes(markerA.id));
    for (const c of [other, admin]) await c.until(() => eventIds(c).includes(markerB.id));
    expect(eventIds(a)).toContain(message.id);
    for (const c of [b, other, admin, service]) {
      expect(eventIds(c)).not.toContain(message.id);
      expect(eventIds(c)).not.toContain(foreign.id);
    }

    const resumedA = subscribe('tenant-a:u1', { lastEventId: before.cursor }).collector;
    const resumedB = subscribe('tenant-a:u2', { lastEventId: before.cursor }).collector;
    await resumedA.until(() => eventIds(resumedA).includes(markerA.id));
    await resumedB.until(() => eventIds(resumedB).includes(markerA.id));
    expect(eventIds(resumedA)).toEqual([message.id, markerA.id]);
    expect(eventIds(resumedB)).toEqual([markerA.id]);
  });

  it('registers subscribers: members after ready, then online and offline, per tenant', async () => {
    let now = t0;
    let presence!: Presence;
    const { subscribe } = await setup({
      presence: (bus) => {
        presence = createPresence({
          bus,
          autoHeartbeat: false,
          leaveDelayMs: 5000,
          clock: { now: () => now },
        });
        return presence;
      },
    });
    cleanups.push(() => presence.stop());
    const { collector: watcher } = subscribe('tenant-a:boss');
    await watcher.until(() => watcher.data.some((m) => m.data.type === 'presence'));
    expect(watcher.data.map((m) => m.data.type).slice(0, 2)).toEqual(['ready', 'presence']);
    const members = watcher.data.find((m) => m.data.type === 'presence')!.data;
    expect(members.type === 'presence' && members.members.map((m) => m.userId)).toEqual(['boss']);
    const { collector: other } = subscribe('tenant-b:x');
    await other.until(() => other.data.some((m) => m.data.type === 'presence'));

    const agent = subscribe('tenant-a:u1');
    await watcher.until(() => presenceOf(watcher).includes('presence.online tenant-a/u1'));
    agent.subscription.unsubscribe();
    // The server sees the request end, disconnects; the leave delay runs out.
    await new Promise<void>((resolve) => {
      const check = async () => {
        const user = await presence.getPresence('tenant-a', 'u1');
        if (user.connections.every((connection) => connection.leaving)) resolve();
        else setImmediate(check);
      };
      void check();
    });
    now += 5001;
    await presence.sweep();
    await watcher.until(() => presenceOf(watcher).includes('presence.offline tenant-a/u1'));
    // The watcher's own online follows the members that already hold it (same version).
    expect(presenceOf(watcher)).toEqual([
      'presence.online tenant-a/boss',
      'presence.online tenant-a/u1',
      'presence.offline tenant-a/u1',
    ]);
    await presence.setState('tenant-b', 'x', 'break');
    await other.until(() => presenceOf(other).includes('presence.updated tenant-b/x'));
    expect(presenceOf(other).every((entry) => entry.includes(' tenant-b/'))).toBe(true);
  });

  it('gives an all-tenants subscriber taking presence.* the members of every tenant, then every tenant’s presence.* events', async () => {
    let presence!: Presence;
    const { bus, subscribe } = await setup({
      presence: (bus) => {
        presence = createPresence({ bus, autoHeartbeat: false, clock: { now: () => t0 } });
        return presence;
      },
    });
    cleanups.push(() => presence.stop());
    const { collector: tenant } = subscribe('tenant-a:u1');
    const { collector: other } = subscribe('tenant-b:x');
    const { collector: callsOnly } = subscribe('*:calls', { types: ['call.*'] });
    for (const c of [tenant, other, callsOnly]) {
      await c.until(() => c.data.some((m) => m.data.type === 'ready'));
    }
    const { collector: admin } = subscribe('*:admin');
    await admin.until(() => admin.data.some((m) => m.data.type === 'presence'));
    const members = admin.data.find((m) => m.data.type === 'presence')!.data;
    // The console's own user, of its own tenant, is a member too.
    expect(
      members.type === 'presence' && members.members.map((m) => `${m.tenantId}/${m.userId}`),
    ).toEqual(['tenant-a/admin', 'tenant-a/calls', 'tenant-a/u1', 'tenant-b/x']);
    expect(members).toMatchObject({ complete: true });

    await presence.setState('tenant-b', 'x', 'break');
    await admin.until(() => presenceOf(admin).includes('presence.updated tenant-b/x'));
    const marker = makeCallEvent();
    await bus.publish(marker);
    for (const c of [admin, callsOnly, tenant]) {
      await c.until(() => eventIds(c).includes(marker.id));
    }
    const kinds = (c: Collector<Received>) =>
      c.data.map((m) => m.data.type).filter((type) => type !== 'event');
    expect(kinds(admin)).toEqual(['ready', 'presence']);
    // Its own online follows the members that already hold it (same version), as on a tenant's.
    expect(presenceOf(admin)).toEqual([
      'presence.online tenant-a/admin',
      'presence.updated tenant-b/x',
    ]);
    expect(kinds(callsOnly)).toEqual(['ready']);
    expect(kinds(tenant)).toEqual(['ready', 'presence']);
  });

  it('cuts the members at presenceSnapshotLimit, of every tenant or of a tenant, and says so; refuses a limit out of 1–10,000', async () => {
    let presence!: Presence;
    const { subscribe } = await setup({
      presence: (bus) => {
        presence = createPresence({ bus, autoHeartbeat: false, clock: { now: () => t0 } });
        return presence;
      },
      presenceSnapshotLimit: 3,
    });
    cleanups.push(() => presence.stop());
    for (const [tenantId, userId] of [
      ['tenant-a', 'u1'],
      ['tenant-a', 'u2'],
      ['tenant-b', 'x'],
      ['tenant-b', 'y'],
    ] as const) {
      await presence.connect({ tenantId, userId });
    }
    const membersOf = async (collector: Collector<Received>) => {
      await collector.until(() => collector.data.some((m) => m.data.type === 'presence'));
      const members = collector.data.find((m) => m.data.type === 'presence')!.data;
      if (members.type !== 'presence') throw new Error('not a members snapshot');
      return {
        members: members.members.map((m) => `${m.tenantId}/${m.userId}`),
        complete: members.complete,
      };
    };
    // Every tenant: five users (the console's own, of tenant-a, included), cut at three.
    const { collector: admin } = subscribe('*:admin', { types: ['presence.*'] });
    expect(await membersOf(admin)).toEqual({
      members: ['tenant-a/admin', 'tenant-a/u1', 'tenant-a/u2'],
      complete: false,
    });
    // One tenant of exactly three users (the watcher's own included): whole, and said so.
    const { collector: tenant } = subscribe('tenant-b:watcher', { types: ['presence.*'] });
    expect(await membersOf(tenant)).toEqual({
      members: ['tenant-b/watcher', 'tenant-b/x', 'tenant-b/y'],
      complete: true,
    });
    const spare = createMemoryBus();
    cleanups.push(() => spare.close());
    for (const presenceSnapshotLimit of [0, 1.5, 10_001, Number.NaN]) {
      expect(() => makeRouter(spare, presence, undefined, presenceSnapshotLimit)).toThrow(
        'createCallTrackRouter: presenceSnapshotLimit must be an integer from 1 to 10000',
      );
      expect(() =>
        createCallTrackProcedures({
          procedure: t.procedure,
          bus: spare,
          authenticate: () => null,
          presence,
          presenceSnapshotLimit,
        }),
      ).toThrow(
        'createCallTrackProcedures: presenceSnapshotLimit must be an integer from 1 to 10000',
      );
    }
  });

  it('gives an all-tenants subscriber the members of every tenant again after a reset in the middle of the stream', async () => {
    const poisoned = poisonBus(createMemoryBus());
    let presence!: Presence;
    const { bus, subscribe } = await setup({
      bus: poisoned.bus,
      presence: (bus) => {
        presence = createPresence({ bus, autoHeartbeat: false, clock: { now: () => t0 } });
        return presence;
      },
    });
    cleanups.push(() => presence.stop());
    // A user of another tenant, connected elsewhere (another transport, another process).
    await presence.connect({ tenantId: 'tenant-b', userId: 'x' });
    const { collector: admin } = subscribe('*:admin');
    const { collector: tenant } = subscribe('tenant-a:u1');
    for (const c of [admin, tenant]) {
      await c.until(() => c.data.some((m) => m.data.type === 'ready'));
    }
    const poison = makeCallEvent();
    poisoned.poison(poison.id, 'toJSON');
    const { cursor } = await bus.publish(poison);
    const marker = makeCallEvent();
    await bus.publish(marker);
    for (const c of [admin, tenant]) await c.until(() => eventIds(c).includes(marker.id));
    const kinds = (c: Collector<Received>) =>
      c.data.map((m) => m.data.type).filter((type) => type !== 'event');
    expect(kinds(admin)).toEqual(['ready', 'presence', 'reset', 'presence']);
    const again = admin.data.at(-2)!;
    expect(again.id).toBe(cursor);
    expect(
      again.data.type === 'presence' && again.data.members.map((m) => `${m.tenantId}/${m.userId}`),
    ).toEqual(['tenant-a/admin', 'tenant-a/u1', 'tenant-b/x']);
    expect(kinds(tenant)).toEqual(['ready', 'presence', 'reset', 'presence']);
  });

  it('tells an all-tenants subscriber taking presence.* that no members come when presence cannot list every tenant', async () => {
    let presence!: Presence;
    const { bus, subscribe } = await setup({
      presence: (bus) => {
        presence = createPresence({ bus, autoHeartbeat: false, clock: { now: () => t0 } });
        // A presence of the app's own, with only what a tenant's stream needs.
        return {
          connect: (principal, options) => presence.connect(principal, options),
          listMembers: (tenantId, options) => presence.listMembers(tenantId, options),
        };
      },
    });
    cleanups.push(() => presence.stop());
    const { collector: admin } = subscribe('*:admin');
    const { collector: tenant } = subscribe('tenant-a:u1');
    for (const c of [admin, tenant]) {
      await c.until(() => c.data.some((m) => m.data.type === 'ready'));
    }
    const marker = makeCallEvent();
    await bus.publish(marker);
    for (const c of [admin, tenant]) await c.until(() => eventIds(c).includes(marker.id));
    const kinds = (c: Collector<Received>) =>
      c.data.map((m) => m.data.type).filter((type) => type !== 'event');
    expect(kinds(admin)).toEqual(['ready', 'presence-unavailable']);
    expect(admin.data[1]?.data).toEqual({ type: 'presence-unavailable', reason: 'all-tenants' });
    expect(kinds(tenant)).toEqual(['ready', 'presence']);
  });

  it('heartbeats on its own timer and fails with TOO_MANY_REQUESTS when presence refuses', async () => {
    let heartbeats = 0;
    const beat = new Set<() => void>();
    let presence!: Presence;
    const { subscribe } = await setup({
      heartbeatMs: 5,
      presence: (bus) => {
        presence = createPresence({ bus, autoHeartbeat: false, maxConnectionsPerUser: 1 });
        return {
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
      },
    });
    cleanups.push(() => presence.stop());
    const first = subscribe('tenant-a:u1').collector;
    await first.until(() => first.data.length > 0);
    await new Promise<void>((resolve) => {
      const check = () => {
        if (heartbeats < 2) return;
        beat.delete(check);
        resolve();
      };
      beat.add(check);
    });
    const second = subscribe('tenant-a:u1').collector;
    await second.until(() => second.errors.length > 0);
    const [error] = second.errors;
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe('TOO_MANY_REQUESTS');
  });

  it('releases the presence of a client that leaves while presence is registering it', async () => {
    let letConnect!: () => void;
    const connecting = new Promise<void>((resolve) => {
      letConnect = resolve;
    });
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    let markGone!: () => void;
    const gone = new Promise<void>((resolve) => {
      markGone = resolve;
    });
    const presence: ConnectionPresence = {
      async connect() {
        markStarted();
        await connecting; // a slow presence store
        return { heartbeat: async () => {}, disconnect: async () => markGone() };
      },
      listMembers: async () => [],
    };
    const { server } = await setup({ presence: () => presence });
    const controller = new AbortController();
    const request = fetch(`${server.url}/calltrack.onCallEvent?input=${encodeURIComponent('{}')}`, {
      headers: { authorization: 'Bearer tenant-a:u1', accept: 'text/event-stream' },
      signal: controller.signal,
    }).catch(() => undefined);
    await started;
    controller.abort(); // the tab closed while the subscription was being set up
    await request;
    // The server saw the client go before presence answered.
    const { socket } = server.subscriptionRequests.at(-1)!;
    if (!socket.destroyed) await new Promise((resolve) => socket.once('close', resolve));
    letConnect();
    // Resolves only once the registration is released: the test times out otherwise.
    await gone;
  });

  it('refuses a presence option without connect and listMembers', () => {
    expect(() => makeRouter(createMemoryBus(), {} as ConnectionPresence)).toThrow(
      /presence must have connect\(\) and listMembers\(\)/,
    );
  });
});

import type { CallEvent } from '@calltrack/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  allTenantsToken,
  createPresenceDeps,
  type PresenceTestDeps,
  type PresenceTransportServer,
  startSocketPresenceServer,
  startSsePresenceServer,
  startTrpcPresenceServer,
} from './__tests__/start-presence-servers';
import { until } from './__tests__/wait-for-state';
import { type CallTrackClient, createCallTrackClient } from './create-call-track-client';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const userIds = (client: CallTrackClient) =>
  client.getSnapshot().presence.members.map((member) => member.userId);

describe.each([
  ['sseTransport', startSsePresenceServer],
  ['socketIoTransport', startSocketPresenceServer],
  ['trpcTransport', startTrpcPresenceServer],
] as const)('%s with a presence server', (_name, start) => {
  async function setup() {
    const deps: PresenceTestDeps = createPresenceDeps();
    const server: PresenceTransportServer = await start(deps);
    cleanups.push(async () => {
      await server.close();
      await deps.presence.stop();
      await deps.bus.close();
    });
    const open = (token: string) => {
      const { transport, hangUp } = server.transportFor(token);
      const client = createCallTrackClient({ transport, userId: token.split(':')[1] });
      const received: CallEvent[] = [];
      client.onEvent((event) => received.push(event));
      const disconnect = client.connect();
      cleanups.push(disconnect);
      return {
        client,
        received,
        leave: () => {
          disconnect();
          hangUp();
        },
      };
    };
    return { deps, open };
  }

  it('members first, then online, state and offline of others; counts; tenant isolation', async () => {
    const { deps, open } = await setup();
    const boss = open('tenant-a:boss');
    await until(boss.client, (state) => state.presence.isLoaded);
    await until(boss.client, () => userIds(boss.client).includes('boss'));
    const other = open('tenant-b:x');
    await until(other.client, (state) => state.presence.members.length === 1);

    const agent = open('tenant-a:u1');
    await until(boss.client, () => userIds(boss.client).join() === 'boss,u1');
    expect(boss.client.getSnapshot().presence.count).toEqual({ online: 2, away: 0 });
    await until(agent.client, () => userIds(agent.client).join() === 'boss,u1');

    await deps.presence.setState('tenant-a', 'u1', 'break');
    await until(boss.client, (state) => state.presence.users.get('u1')?.state === 'break');

    // A user-addressed message reaches u1's client only.
    await deps.presence.send('tenant-a', 'u1', { text: 'call Jones back' });
    await until(agent.client, (state) => state.lastEvent?.type === 'user.message');

    agent.leave();
    // The server sees the connection go, then the leave delay runs out.
    for (;;) {
      const user = await deps.presence.getPresence('tenant-a', 'u1');
      if (user.connections.every((connection) => connection.leaving)) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    deps.advance(5001);
    await deps.presence.sweep();
    const state = await until(boss.client, () => userIds(boss.client).join() === 'boss');
    expect(state.presence.users.get('u1')?.status).toBe('offline');
    expect(state.presence.count).toEqual({ online: 1, away: 0 });
    expect(boss.received.some((event) => event.type === 'user.message')).toBe(false);
    expect(userIds(other.client)).toEqual(['x']);
    expect(other.received.every((event) => event.tenantId === 'tenant-b')).toBe(true);
  });

  it('a console of every tenant gets every tenant’s members, by tenant, and follows them', async () => {
    const { deps, open } = await setup();
    // One user id in two tenants: two users.
    const a = open('tenant-a:u1');
    open('tenant-b:u1');
    open('tenant-b:u2');
    await until(a.client, (state) => state.presence.isLoaded);
    for (const [tenantId, userId] of [
      ['tenant-b', 'u1'],
      ['tenant-b', 'u2'],
    ] as const) {
      while ((await deps.presence.getPresence(tenantId, userId)).status !== 'online') {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    const ops = open(allTenantsToken);
    const tenantMembers = (tenantId: string) =>
      ops.client
        .getSnapshot()
        .presence.byTenant.get(tenantId)
        ?.members.map((member) => member.userId)
        .join();
    await until(ops.client, (state) => state.presence.isLoaded);
    expect(ops.client.getSnapshot().presence).toMatchObject({
      isAvailable: true,
      isComplete: true,
      count: { online: 3, away: 0 },
    });
    expect(
      ops.client
        .getSnapshot()
        .presence.members.map((member) => `${member.tenantId}/${member.userId}`),
    ).toEqual(['tenant-a/u1', 'tenant-b/u1', 'tenant-b/u2']);
    expect(tenantMembers('tenant-a')).toBe('u1');
    expect(tenantMembers('tenant-b')).toBe('u1,u2');
    expect(ops.client.getSnapshot().presence.byTenant.get('tenant-b')?.count).toEqual({
      online: 2,
      away: 0,
    });

    // Then every tenant's events, each applied to its own tenant's user.
    const tenantB = ops.client.getSnapshot().presence.byTenant.get('tenant-b');
    await deps.presence.setState('tenant-a', 'u1', 'break');
    await until(
      ops.client,
      (state) => state.presence.byTenant.get('tenant-a')?.users.get('u1')?.state === 'break',
    );
    expect(ops.client.getSnapshot().presence.byTenant.get('tenant-b')?.users.get('u1')?.state).toBe(
      'available',
    );
    // A tenant whose users did not change keeps its object.
    expect(ops.client.getSnapshot().presence.byTenant.get('tenant-b')).toBe(tenantB);

    open('tenant-c:u9');
    await until(ops.client, () => tenantMembers('tenant-c') === 'u9');
    a.leave();
    for (;;) {
      const user = await deps.presence.getPresence('tenant-a', 'u1');
      if (user.connections.every((connection) => connection.leaving)) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    deps.advance(5001);
    await deps.presence.sweep();
    const state = await until(ops.client, () => tenantMembers('tenant-a') === '');
    expect(state.presence.byTenant.get('tenant-a')?.users.get('u1')?.status).toBe('offline');
    expect(state.presence.byTenant.get('tenant-b')?.users.get('u1')?.status).toBe('online');
    expect(state.presence.count).toEqual({ online: 3, away: 0 });
  });
});

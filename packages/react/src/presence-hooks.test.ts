// @vitest-environment jsdom
import { act, cleanup, renderHook, waitFor } from '@testing-library/react';
import { createElement, type ReactNode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import {
  allTenantsToken,
  createPresenceDeps,
  type PresenceTestDeps,
  startSsePresenceServer,
} from './__tests__/start-presence-servers';
import { callEvent } from './__tests__/start-sse-server';
import { CallTrackProvider } from './call-track-provider';
import type { CallTrackState } from './call-track-state';
import { createCallTrackClient } from './create-call-track-client';
import { useCallTrackState } from './use-call-track-state';
import { useMemberCount } from './use-member-count';
import { useOnlineMembers } from './use-online-members';
import { usePresence } from './use-presence';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  cleanup();
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function setup() {
  const deps: PresenceTestDeps = createPresenceDeps();
  const server = await startSsePresenceServer(deps);
  cleanups.push(async () => {
    await server.close();
    await deps.presence.stop();
    await deps.bus.close();
  });
  const client = createCallTrackClient({
    transport: server.transportFor('tenant-a:boss').transport,
    userId: 'boss',
  });
  const wrapper = ({ children }: { children?: ReactNode }) =>
    createElement(CallTrackProvider, { client }, children);
  /** Another user's connection (a second client, outside React). */
  const connectAgent = (userId: string) => {
    const agent = createCallTrackClient({
      transport: server.transportFor(`tenant-a:${userId}`).transport,
    });
    const disconnect = agent.connect();
    cleanups.push(disconnect);
    return disconnect;
  };
  return { deps, server, wrapper, connectAgent };
}

describe('presence hooks against a real @calltrack/sse server with presence', () => {
  it('useOnlineMembers and useMemberCount follow agents coming, changing state and leaving', async () => {
    const { deps, wrapper, connectAgent } = await setup();
    let countRenders = 0;
    const { result } = renderHook(
      () => {
        const count = useMemberCount();
        countRenders += 1;
        return {
          members: useOnlineMembers(),
          available: useOnlineMembers(
            (members) => members.filter((m) => m.state === 'available').map((m) => m.userId),
            (a, b) => a.join() === b.join(),
          ),
          count,
        };
      },
      { wrapper },
    );
    await waitFor(() => expect(result.current.members.map((m) => m.userId)).toEqual(['boss']));
    const leave = connectAgent('u1');
    await waitFor(() => expect(result.current.count).toEqual({ online: 2, away: 0 }));
    expect(result.current.available).toEqual(['boss', 'u1']);

    const rendersBefore = countRenders;
    const countBefore = result.current.count;
    await act(async () => {
      await deps.presence.setState('tenant-a', 'u1', 'break');
    });
    await waitFor(() => expect(result.current.available).toEqual(['boss']));
    // A state change keeps the counts object: its readers need not re-render for it.
    expect(result.current.count).toBe(countBefore);
    expect(countRenders).toBeGreaterThan(rendersBefore);

    leave();
    for (;;) {
      const user = await deps.presence.getPresence('tenant-a', 'u1');
      if (user.connections.every((connection) => connection.leaving)) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    deps.advance(5001);
    await act(async () => {
      await deps.presence.sweep();
    });
    await waitFor(() => expect(result.current.members.map((m) => m.userId)).toEqual(['boss']));
    expect(result.current.count).toEqual({ online: 1, away: 0 });
  });

  it('usePresence: the signed-in user by default, another by id, with the calls they are on', async () => {
    const { deps, wrapper, connectAgent } = await setup();
    const { result } = renderHook(
      () => ({
        me: usePresence(),
        agent: usePresence('u7'),
        // A user of that id in another tenant: not this tenant's u7.
        elsewhere: usePresence('u7', { tenantId: 'tenant-b' }),
      }),
      { wrapper },
    );
    await waitFor(() => expect(result.current.me.status).toBe('online'));
    expect(result.current.me).toMatchObject({
      state: 'available',
      onCall: false,
      isLoaded: true,
      isAvailable: true,
    });
    expect(result.current.agent).toMatchObject({ status: 'offline', presence: undefined });

    connectAgent('u7');
    await waitFor(() => expect(result.current.agent.status).toBe('online'));
    await act(async () => {
      await deps.tracker.ingest(callEvent('CA-7', { agentId: 'u7' }));
    });
    await waitFor(() => expect(result.current.agent.onCall).toBe(true));
    expect(result.current.agent.calls).toEqual([{ tenantId: 'tenant-a', callId: 'CA-7' }]);
    expect(result.current.elsewhere).toMatchObject({
      presence: undefined,
      status: 'offline',
      calls: [],
      onCall: false,
    });
    expect(result.current.me.onCall).toBe(false);
    const me = result.current.me.presence;
    await act(async () => {
      await deps.presence.setState('tenant-a', 'u7', 'wrap-up');
    });
    await waitFor(() => expect(result.current.agent.state).toBe('wrap-up'));
    // Another user's change leaves this user's snapshot object as it was.
    expect(result.current.me.presence).toBe(me);
  });

  it('usePresence, useOnlineMembers and useMemberCount on a console of every tenant tell two tenants’ users of one id apart', async () => {
    const { deps, server } = await setup();
    const allTenantsClient = createCallTrackClient({
      transport: server.transportFor(allTenantsToken).transport,
    });
    const wrapper = ({ children }: { children?: ReactNode }) =>
      createElement(CallTrackProvider, { client: allTenantsClient }, children);
    await deps.presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await deps.presence.connect({ tenantId: 'tenant-b', userId: 'u1' });
    await deps.presence.connect({ tenantId: 'tenant-b', userId: 'u2' });
    await deps.presence.setState('tenant-b', 'u1', 'break');
    await deps.tracker.ingest(callEvent('CA-1', { tenantId: 'tenant-a', agentId: 'u1' }));
    await deps.tracker.ingest(callEvent('CA-1', { tenantId: 'tenant-b', agentId: 'u1' }));
    await deps.tracker.ingest(callEvent('CA-2', { tenantId: 'tenant-b', agentId: 'u2' }));
    const { result } = renderHook(
      () => ({
        anyTenant: usePresence('u1'),
        a: usePresence('u1', { tenantId: 'tenant-a' }),
        b: usePresence('u1', { tenantId: 'tenant-b' }),
        everyone: useOnlineMembers(),
        inB: useOnlineMembers({ tenantId: 'tenant-b' }),
        inBIds: useOnlineMembers(
          { tenantId: 'tenant-b' },
          (members) => members.map((member) => member.userId),
          (x, y) => x.join() === y.join(),
        ),
        count: useMemberCount(),
        countB: useMemberCount({ tenantId: 'tenant-b' }),
        countNone: useMemberCount({ tenantId: 'tenant-z' }),
      }),
      { wrapper },
    );
    await waitFor(() => expect(result.current.a.isLoaded).toBe(true));
    await waitFor(() => expect(result.current.anyTenant.calls).toHaveLength(2));
    expect(result.current.a).toMatchObject({
      status: 'online',
      state: 'available',
      isAvailable: true,
      calls: [{ tenantId: 'tenant-a', callId: 'CA-1' }],
    });
    expect(result.current.b).toMatchObject({
      status: 'online',
      state: 'break',
      calls: [{ tenantId: 'tenant-b', callId: 'CA-1' }],
    });
    expect(result.current.a.presence?.tenantId).toBe('tenant-a');
    expect(result.current.b.presence?.tenantId).toBe('tenant-b');
    expect(result.current.everyone.map((m) => `${m.tenantId}/${m.userId}`)).toEqual([
      'tenant-a/u1',
      'tenant-b/u1',
      'tenant-b/u2',
    ]);
    expect(result.current.inB.map((m) => m.userId)).toEqual(['u1', 'u2']);
    expect(result.current.inBIds).toEqual(['u1', 'u2']);
    expect(result.current.count).toEqual({ online: 3, away: 0 });
    expect(result.current.countB).toEqual({ online: 2, away: 0 });
    expect(result.current.countNone).toEqual({ online: 0, away: 0 });

    // Tenant A's u1 changes state and hangs up: tenant B's u1 is as it was.
    const inB = result.current.inB;
    await act(async () => {
      await deps.presence.setState('tenant-a', 'u1', 'wrap-up');
      await deps.tracker.ingest(
        callEvent('CA-1', { tenantId: 'tenant-a', type: 'call.ended', status: 'completed' }),
      );
    });
    await waitFor(() => expect(result.current.a.state).toBe('wrap-up'));
    await waitFor(() => expect(result.current.a.onCall).toBe(false));
    expect(result.current.b).toMatchObject({
      state: 'break',
      onCall: true,
      calls: [{ tenantId: 'tenant-b', callId: 'CA-1' }],
    });
    expect(result.current.inB).toBe(inB);
    expect(result.current.anyTenant.calls).toEqual([{ tenantId: 'tenant-b', callId: 'CA-1' }]);
  });

  it('forgets users offline for longer than offlineRetentionMs, and keeps at most maxOfflineUsers', async () => {
    const deps: PresenceTestDeps = createPresenceDeps();
    const server = await startSsePresenceServer(deps);
    cleanups.push(async () => {
      await server.close();
      await deps.presence.stop();
      await deps.bus.close();
    });
    let now = 0;
    const client = createCallTrackClient({
      transport: server.transportFor('tenant-a:boss').transport,
      presence: { offlineRetentionMs: 60_000, maxOfflineUsers: 2 },
      clock: { now: () => now },
    });
    const wrapper = ({ children }: { children?: ReactNode }) =>
      createElement(CallTrackProvider, { client }, children);
    const { result } = renderHook(
      () => ({ u1: usePresence('u1'), users: useCallTrackStateUsers() }),
      { wrapper },
    );
    const agents = await Promise.all(
      ['u1', 'u2', 'u3', 'u4'].map((userId) =>
        deps.presence.connect({ tenantId: 'tenant-a', userId }),
      ),
    );
    await waitFor(() => expect(result.current.users).toEqual(['boss', 'u1', 'u2', 'u3', 'u4']));
    await act(async () => {
      await agents[0]!.disconnect({ immediate: true });
    });
    await waitFor(() => expect(result.current.u1.status).toBe('offline'));
    // Kept, as offline: a late event of theirs cannot bring them back.
    expect(result.current.u1.presence?.status).toBe('offline');

    // Past the retention, the next presence change drops them.
    now += 60_000;
    await act(async () => {
      await deps.presence.setState('tenant-a', 'u2', 'break');
    });
    await waitFor(() => expect(result.current.users).toEqual(['boss', 'u2', 'u3', 'u4']));
    expect(result.current.u1).toMatchObject({ status: 'offline', presence: undefined });

    // Three offline at once: the two who left last are kept.
    for (const agent of agents.slice(1)) {
      now += 1;
      await act(async () => {
        await agent.disconnect({ immediate: true });
      });
    }
    await waitFor(() => expect(result.current.users).toEqual(['boss', 'u3', 'u4']));
  });
});

const selectUserIds = (state: CallTrackState) => state.presence.users;

/** The user ids `state.presence.users` holds, offline ones included. */
function useCallTrackStateUsers(): string[] {
  return [...useCallTrackState(selectUserIds).keys()];
}

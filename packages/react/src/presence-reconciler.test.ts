import type { CallEvent, UserPresence } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { createPresenceReconciler } from './presence-reconciler';

function user(userId: string, version: number, status: UserPresence['status'] = 'online') {
  return {
    tenantId: 'acme',
    userId,
    status,
    state: 'available',
    version,
    connections: [],
  } satisfies UserPresence;
}

function diff(presence: UserPresence): CallEvent {
  return {
    id: `presence:${presence.userId}:1:${presence.version}`,
    type: presence.status === 'offline' ? 'presence.offline' : 'presence.online',
    tenantId: presence.tenantId,
    userId: presence.userId,
    provider: 'calltrack',
    occurredAt: '2026-11-21T10:00:00.000Z',
    receivedAt: '2026-11-21T10:00:00.000Z',
    data: { presence, previousStatus: 'offline' } as unknown as CallEvent['data'],
  };
}

const ids = (members: UserPresence[]) =>
  members.map((member) => `${member.userId}@${member.version}`);

describe('createPresenceReconciler', () => {
  it('holds diffs until the snapshot, then keeps the higher version per user', () => {
    const reconciler = createPresenceReconciler();
    expect(reconciler.applyEvent(diff(user('b', 3)))).toBe(false);
    expect(reconciler.applyEvent(diff(user('a', 1)))).toBe(false);
    expect(reconciler.members()).toEqual([]);
    reconciler.applySnapshot([user('a', 2), user('b', 2)]);
    // a@1 is older than the snapshot's a@2; b@3 is newer than b@2.
    expect(ids(reconciler.members())).toEqual(['a@2', 'b@3']);
    expect(reconciler.isLoaded).toBe(true);
  });

  it('removes users who went offline and does not let an older event bring them back', () => {
    const reconciler = createPresenceReconciler();
    reconciler.applySnapshot([user('a', 1)]);
    expect(reconciler.applyEvent(diff(user('a', 2, 'offline')))).toBe(true);
    expect(reconciler.members()).toEqual([]);
    expect(reconciler.get('acme', 'a')?.status).toBe('offline');
    expect(reconciler.applyEvent(diff(user('a', 1)))).toBe(false);
    expect(reconciler.members()).toEqual([]);
    // A snapshot read later without them keeps the tombstone.
    reconciler.applySnapshot([user('b', 1)]);
    expect(reconciler.applyEvent(diff(user('a', 1)))).toBe(false);
    expect(ids(reconciler.members())).toEqual(['b@1']);
  });

  it('keeps the object of an unchanged user across snapshots, and ignores other events', () => {
    const reconciler = createPresenceReconciler();
    reconciler.applySnapshot([user('a', 1)]);
    const held = reconciler.get('acme', 'a');
    reconciler.applySnapshot([user('a', 1)]);
    expect(reconciler.get('acme', 'a')).toBe(held);
    const call = { ...diff(user('a', 5)), type: 'call.ringing' };
    expect(reconciler.applyEvent(call)).toBe(false);
    const malformed = { ...diff(user('a', 5)), data: { presence: { userId: 'a' } } };
    expect(reconciler.applyEvent(malformed as CallEvent)).toBe(false);
  });

  it('holds diffs again after a reset, and at most maxBuffered of them', () => {
    const reconciler = createPresenceReconciler({ maxBuffered: 2 });
    reconciler.applySnapshot([]);
    reconciler.beginReload();
    expect(reconciler.isLoaded).toBe(false);
    for (const name of ['a', 'b', 'c']) reconciler.applyEvent(diff(user(name, 1)));
    reconciler.applySnapshot([]);
    expect(ids(reconciler.members())).toEqual(['b@1', 'c@1']);
  });

  it('holds the newest diff of each user, so many diffs of few users take little', () => {
    const reconciler = createPresenceReconciler({ maxBuffered: 2 });
    for (let version = 1; version <= 50; version += 1) {
      reconciler.applyEvent(diff(user('a', version)));
      reconciler.applyEvent(diff(user('b', version)));
    }
    reconciler.applySnapshot([]);
    expect(ids(reconciler.members())).toEqual(['a@50', 'b@50']);
  });

  it('tells two tenants’ users of one id apart', () => {
    const reconciler = createPresenceReconciler();
    reconciler.applyEvent(diff({ ...user('a', 5), tenantId: 'other' }));
    reconciler.applySnapshot([user('a', 1)]);
    expect(reconciler.get('acme', 'a')?.version).toBe(1);
    expect(reconciler.get('other', 'a')?.version).toBe(5);
  });

  it('keeps every tenant’s users by tenant: members by tenant then user, users by id of the first tenant', () => {
    const reconciler = createPresenceReconciler();
    const of = (tenantId: string, userId: string, version: number) => ({
      ...user(userId, version),
      tenantId,
    });
    reconciler.applySnapshot([of('t2', 'a', 1), of('t1', 'b', 1), of('t1', 'a', 2)], true);
    expect(reconciler.isComplete).toBe(true);
    expect(reconciler.members().map((m) => `${m.tenantId}/${m.userId}`)).toEqual([
      't1/a',
      't1/b',
      't2/a',
    ]);
    expect(reconciler.users().get('a')?.tenantId).toBe('t1');
    expect([...reconciler.tenants()].map(([tenantId, users]) => [tenantId, ids(users)])).toEqual([
      ['t1', ['a@2', 'b@1']],
      ['t2', ['a@1']],
    ]);
    reconciler.applyEvent(diff(of('t2', 'a', 3)));
    expect(reconciler.get('t2', 'a')?.version).toBe(3);
    expect(reconciler.get('t1', 'a')?.version).toBe(2);
  });

  it('says whether the last snapshot was cut: as the server said, else by its length', () => {
    const reconciler = createPresenceReconciler();
    expect(reconciler.isComplete).toBe(true);
    reconciler.applySnapshot([user('a', 1)], false);
    expect(reconciler.isComplete).toBe(false);
    reconciler.applySnapshot([user('a', 1)]);
    expect(reconciler.isComplete).toBe(true);
    reconciler.applySnapshot(Array.from({ length: 1000 }, (_, index) => user(`u${index}`, 1)));
    expect(reconciler.isComplete).toBe(false);
  });

  it('holds and applies nothing once the stream is said to have no members', () => {
    const reconciler = createPresenceReconciler();
    reconciler.applyEvent(diff(user('a', 1)));
    reconciler.markUnavailable();
    expect(reconciler.isAvailable).toBe(false);
    expect(reconciler.applyEvent(diff(user('b', 1)))).toBe(false);
    reconciler.beginReload();
    expect(reconciler.applyEvent(diff(user('c', 1)))).toBe(false);
    expect(reconciler.isLoaded).toBe(false);
    expect(reconciler.members()).toEqual([]);
    // Members after all (new credentials on the same stream): available again.
    reconciler.applySnapshot([user('d', 1)]);
    expect(reconciler.isAvailable).toBe(true);
    expect(ids(reconciler.members())).toEqual(['d@1']);
  });

  it('drops an offline user at the first change after offlineRetentionMs, reporting it as a change', () => {
    let now = 0;
    const reconciler = createPresenceReconciler({ offlineRetentionMs: 60_000, now: () => now });
    reconciler.applySnapshot([user('a', 1), user('b', 1)]);
    reconciler.applyEvent(diff(user('a', 2, 'offline')));
    now = 59_999;
    // Still kept: a late, older event of theirs cannot bring them back.
    expect(reconciler.applyEvent(diff(user('a', 1)))).toBe(false);
    expect(reconciler.get('acme', 'a')?.status).toBe('offline');
    now = 60_000;
    // Another user's event that changes nothing still drops them, and says the state changed.
    expect(reconciler.applyEvent(diff(user('b', 1)))).toBe(true);
    expect(reconciler.get('acme', 'a')).toBeUndefined();
    expect([...reconciler.users().keys()]).toEqual(['b']);
    expect(reconciler.takeChangedTenants()).toEqual(new Set(['acme']));
  });

  it('keeps at most maxOfflineUsers offline users, the longest offline dropped first', () => {
    let now = 0;
    const reconciler = createPresenceReconciler({ maxOfflineUsers: 2, now: () => now });
    reconciler.applySnapshot(['a', 'b', 'c', 'd'].map((id) => user(id, 1)));
    for (const id of ['c', 'a', 'd']) {
      now += 1;
      reconciler.applyEvent(diff(user(id, 2, 'offline')));
    }
    expect(reconciler.get('acme', 'c')).toBeUndefined();
    expect([...reconciler.users().keys()]).toEqual(['a', 'b', 'd']);
    expect(ids(reconciler.members())).toEqual(['b@1']);
    // Back online, a user no longer counts as offline; offline again, they are the newest.
    reconciler.applyEvent(diff(user('a', 3)));
    reconciler.applyEvent(diff(user('b', 2, 'offline')));
    reconciler.applyEvent(diff(user('a', 4, 'offline')));
    expect([...reconciler.users().keys()]).toEqual(['a', 'b']);
  });

  it('a snapshot keeps offline users only while retained, from when they went offline', () => {
    let now = 0;
    const reconciler = createPresenceReconciler({ offlineRetentionMs: 1_000, now: () => now });
    reconciler.applySnapshot([user('a', 1), user('b', 1)]);
    reconciler.applyEvent(diff(user('a', 2, 'offline')));
    now = 500;
    reconciler.applySnapshot([user('b', 1)]);
    expect(reconciler.get('acme', 'a')?.status).toBe('offline');
    now = 1_000;
    reconciler.applySnapshot([user('b', 1)]);
    expect(reconciler.get('acme', 'a')).toBeUndefined();
  });

  it('keeps users in tenant and user id order as they come, and says which tenants changed', () => {
    const reconciler = createPresenceReconciler();
    const of = (tenantId: string, userId: string, version = 1) => ({
      ...user(userId, version),
      tenantId,
    });
    reconciler.applySnapshot([of('t2', 'm'), of('t1', 'k')]);
    expect(reconciler.takeChangedTenants()).toEqual(new Set(['t1', 't2']));
    for (const [tenantId, userId] of [
      ['t2', 'z'],
      ['t3', 'b'],
      ['t1', 'a'],
      ['t2', 'a'],
      ['t1', 'z'],
    ] as const) {
      reconciler.applyEvent({ ...diff(of(tenantId, userId)), tenantId });
    }
    expect(reconciler.members().map((m) => `${m.tenantId}/${m.userId}`)).toEqual([
      't1/a',
      't1/k',
      't1/z',
      't2/a',
      't2/m',
      't2/z',
      't3/b',
    ]);
    expect(reconciler.tenantIds()).toEqual(['t1', 't2', 't3']);
    reconciler.takeChangedTenants();
    reconciler.applyEvent({ ...diff(of('t2', 'm', 2)), tenantId: 't2' });
    expect(reconciler.takeChangedTenants()).toEqual(new Set(['t2']));
    expect(reconciler.usersOf('t2').map((u) => `${u.userId}@${u.version}`)).toEqual([
      'a@1',
      'm@2',
      'z@1',
    ]);
  });
});

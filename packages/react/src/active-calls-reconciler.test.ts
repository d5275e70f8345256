import type { CallEvent, CallSnapshot } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { createActiveCallsReconciler } from './active-calls-reconciler';

function snapshot(callId: string, version: number, overrides: Partial<CallSnapshot> = {}) {
  const minute = String(10 + Number(callId.replace(/\D/g, '') || 0)).padStart(2, '0');
  return {
    tenantId: 'tenant-a',
    callId,
    provider: 'twilio',
    status: 'ringing',
    active: true,
    startedAt: `2026-11-21T10:${minute}:00.000Z`,
    createdAt: `2026-11-21T10:${minute}:00.000Z`,
    updatedAt: `2026-11-21T10:${minute}:00.000Z`,
    version,
    ...overrides,
  } satisfies CallSnapshot as CallSnapshot;
}

function ended(callId: string, version: number): CallSnapshot {
  return snapshot(callId, version, { status: 'completed', active: false });
}

let counter = 0;
function event(
  type: string,
  callId: string,
  call?: CallSnapshot,
  tenantId = 'tenant-a',
): CallEvent {
  counter += 1;
  return {
    id: `event-${counter}`,
    type,
    tenantId,
    provider: 'twilio',
    callId,
    occurredAt: '2026-11-21T10:00:00.000Z',
    receivedAt: '2026-11-21T10:00:00.000Z',
    data: call ? { call } : {},
  };
}

const ids = (calls: readonly CallSnapshot[]) => calls.map((call) => call.callId);

describe('createActiveCallsReconciler', () => {
  it('lists active calls newest first, by startedAt then createdAt', () => {
    const reconciler = createActiveCallsReconciler();
    reconciler.applySnapshot([
      snapshot('CA-1', 1),
      snapshot('CA-3', 1),
      snapshot('CA-2', 1, { startedAt: undefined }),
    ]);
    expect(ids(reconciler.list())).toEqual(['CA-3', 'CA-2', 'CA-1']);
  });

  it('keeps the higher version of a call, and the object already held at an equal version', () => {
    const reconciler = createActiveCallsReconciler();
    const held = snapshot('CA-1', 3);
    expect(reconciler.applyEvent(event('call.answered', 'CA-1', held))).toEqual({
      call: held,
      changed: true,
    });
    // An older event and an equal-version snapshot do not replace it.
    expect(reconciler.applyEvent(event('call.ringing', 'CA-1', snapshot('CA-1', 2))).changed).toBe(
      false,
    );
    reconciler.applySnapshot([snapshot('CA-1', 3)]);
    expect(reconciler.get('CA-1')).toBe(held);
    // An older snapshot (read before the event) does not roll it back.
    reconciler.applySnapshot([snapshot('CA-1', 1)]);
    expect(reconciler.get('CA-1')).toBe(held);
    // A newer one wins.
    const newer = snapshot('CA-1', 4, { status: 'in-progress' });
    reconciler.applySnapshot([newer]);
    expect(reconciler.get('CA-1')).toBe(newer);
  });

  it('removes an ended call and keeps an older snapshot from bringing it back (tombstone)', () => {
    const reconciler = createActiveCallsReconciler();
    reconciler.applySnapshot([snapshot('CA-1', 2), snapshot('CA-2', 1)]);
    expect(reconciler.applyEvent(event('call.ended', 'CA-1', ended('CA-1', 3))).changed).toBe(true);
    expect(ids(reconciler.list())).toEqual(['CA-2']);

    // The snapshot was read before the end: it still lists CA-1 at version 2 (or 3).
    reconciler.applySnapshot([snapshot('CA-1', 2), snapshot('CA-2', 1)]);
    reconciler.applySnapshot([snapshot('CA-1', 3), snapshot('CA-2', 1)]);
    expect(ids(reconciler.list())).toEqual(['CA-2']);
    // Late enrichment of the ended call changes nothing.
    expect(reconciler.applyEvent(event('call.analyzed', 'CA-1', ended('CA-1', 4))).changed).toBe(
      false,
    );
    expect(ids(reconciler.list())).toEqual(['CA-2']);
  });

  it('drops inactive calls from snapshots and events (ended before this client saw them)', () => {
    const reconciler = createActiveCallsReconciler();
    reconciler.applySnapshot([snapshot('CA-1', 1), ended('CA-2', 5)]);
    expect(ids(reconciler.list())).toEqual(['CA-1']);
    expect(reconciler.applyEvent(event('call.recording', 'CA-3', ended('CA-3', 6))).changed).toBe(
      false,
    );
    expect(reconciler.get('CA-3')).toBeUndefined();
  });

  it('keeps calls that live events brought in while a reload was loading', () => {
    const reconciler = createActiveCallsReconciler();
    reconciler.applySnapshot([snapshot('CA-1', 1)]);
    reconciler.beginReload();
    reconciler.applyEvent(event('call.initiated', 'CA-2', snapshot('CA-2', 1)));
    // The snapshot was read before CA-2 started.
    reconciler.applySnapshot([snapshot('CA-1', 1)]);
    expect(ids(reconciler.list())).toEqual(['CA-2', 'CA-1']);
    // The next reload without CA-2 drops it: it is gone from the server.
    reconciler.beginReload();
    reconciler.applySnapshot([snapshot('CA-1', 1)]);
    expect(ids(reconciler.list())).toEqual(['CA-1']);
  });

  it('removes a call on a call.ended without a snapshot', () => {
    const reconciler = createActiveCallsReconciler();
    reconciler.applySnapshot([snapshot('CA-1', 1)]);
    expect(reconciler.applyEvent(event('call.ended', 'CA-1'))).toEqual({
      call: undefined,
      changed: true,
    });
    expect(reconciler.list()).toEqual([]);
    expect(reconciler.applyEvent(event('call.ended', 'CA-1')).changed).toBe(false);
  });

  it('ignores a data.call it cannot use (no callId or version)', () => {
    const reconciler = createActiveCallsReconciler();
    const broken = { ...event('call.ringing', 'CA-1'), data: { call: { callId: 'CA-1' } } };
    expect(reconciler.applyEvent(broken as unknown as CallEvent)).toEqual({
      call: undefined,
      changed: false,
    });
    expect(reconciler.list()).toEqual([]);
  });

  it('forgets the oldest tombstones beyond maxTombstones', () => {
    const reconciler = createActiveCallsReconciler({ maxTombstones: 2 });
    for (const callId of ['CA-1', 'CA-2', 'CA-3']) {
      reconciler.applyEvent(event('call.initiated', callId, snapshot(callId, 1)));
      reconciler.applyEvent(event('call.ended', callId, ended(callId, 2)));
    }
    // CA-1's tombstone was evicted: a stale snapshot brings it back; CA-2 and CA-3 stay buried.
    reconciler.applySnapshot([snapshot('CA-1', 1), snapshot('CA-2', 1), snapshot('CA-3', 1)]);
    expect(ids(reconciler.list())).toEqual(['CA-1']);
  });

  it('remembers the live touches of held calls only: ended calls leave nothing behind', () => {
    const reconciler = createActiveCallsReconciler();
    reconciler.applySnapshot([]);
    // A long session without a reload: 3,000 calls start and end, one with a bare call.ended.
    for (let index = 0; index < 3_000; index += 1) {
      const callId = `CA-${index}`;
      reconciler.applyEvent(event('call.initiated', callId, snapshot(callId, 1)));
      if (index === 0) reconciler.applyEvent(event('call.ended', callId));
      else reconciler.applyEvent(event('call.ended', callId, ended(callId, 2)));
    }
    reconciler.applyEvent(event('call.initiated', 'CA-live', snapshot('CA-live', 1)));
    expect(reconciler.touchedCount()).toBe(1);
    // Still correct: the live call, touched since the reload, survives a snapshot read before it.
    reconciler.applySnapshot([]);
    expect(ids(reconciler.list())).toEqual(['CA-live']);
  });

  describe('with the calls of two tenants (an all-tenants console)', () => {
    const ofTenant = (tenantId: string, callId: string, version: number, active = true) =>
      snapshot(callId, version, active ? { tenantId } : { tenantId, status: 'completed', active });
    const keys = (calls: readonly CallSnapshot[]) =>
      calls.map((call) => `${call.tenantId}/${call.callId}`).sort();

    it('holds two tenants’ calls with the same id apart', () => {
      const reconciler = createActiveCallsReconciler();
      reconciler.applySnapshot([ofTenant('t-a', 'CA1', 1), ofTenant('t-b', 'CA1', 2)]);
      expect(keys(reconciler.list())).toEqual(['t-a/CA1', 't-b/CA1']);
      expect(reconciler.get('CA1', 't-a')?.tenantId).toBe('t-a');
      expect(reconciler.get('CA1', 't-b')?.tenantId).toBe('t-b');
      // Without a tenant (a single-tenant client): the call of that id, whichever tenant.
      expect(reconciler.get('CA1')?.callId).toBe('CA1');
    });

    it('ends one tenant’s call only, and buries it only for that tenant', () => {
      const reconciler = createActiveCallsReconciler();
      reconciler.applySnapshot([ofTenant('t-a', 'CA1', 1), ofTenant('t-b', 'CA1', 2)]);
      const end = event('call.ended', 'CA1', ofTenant('t-a', 'CA1', 4, false), 't-a');
      expect(reconciler.applyEvent(end).changed).toBe(true);
      expect(keys(reconciler.list())).toEqual(['t-b/CA1']);
      // Tenant B's call, newer in the next snapshot (version 3 < the end's 4), stays.
      reconciler.beginReload();
      reconciler.applySnapshot([ofTenant('t-a', 'CA1', 1), ofTenant('t-b', 'CA1', 3)]);
      expect(keys(reconciler.list())).toEqual(['t-b/CA1']);
      expect(reconciler.get('CA1', 't-b')?.version).toBe(3);
    });

    it('a bare call.ended removes its own tenant’s call only', () => {
      const reconciler = createActiveCallsReconciler();
      reconciler.applySnapshot([ofTenant('t-a', 'CA1', 1), ofTenant('t-b', 'CA1', 2)]);
      expect(reconciler.applyEvent(event('call.ended', 'CA1', undefined, 't-b')).changed).toBe(
        true,
      );
      expect(keys(reconciler.list())).toEqual(['t-a/CA1']);
    });

    it('a live touch keeps its own tenant’s call through a reload, not the other’s', () => {
      const reconciler = createActiveCallsReconciler();
      reconciler.applySnapshot([ofTenant('t-a', 'CA1', 1), ofTenant('t-b', 'CA1', 1)]);
      reconciler.beginReload();
      reconciler.applyEvent(event('call.answered', 'CA1', ofTenant('t-b', 'CA1', 2), 't-b'));
      reconciler.applySnapshot([]);
      expect(keys(reconciler.list())).toEqual(['t-b/CA1']);
    });
  });
});

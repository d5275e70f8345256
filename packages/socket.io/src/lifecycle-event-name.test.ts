import type { CallSnapshot } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { makeEvent } from './__tests__/make-event';
import { lifecycleEventName } from './lifecycle-event-name';

const snapshot = (version: number): CallSnapshot => ({
  tenantId: 'acme',
  callId: 'a',
  provider: 'twilio',
  active: true,
  createdAt: '2026-11-21T10:00:00.000Z',
  updatedAt: '2026-11-21T10:00:00.000Z',
  version,
});

describe('lifecycleEventName', () => {
  it('starts a call on its first status change (tracker snapshot version 1)', () => {
    for (const type of ['call.initiated', 'call.ringing', 'call.answered']) {
      expect(lifecycleEventName(makeEvent('a', { type, data: { call: snapshot(1) } }))).toBe(
        'call:started',
      );
      expect(lifecycleEventName(makeEvent('a', { type, data: { call: snapshot(2) } }))).toBe(
        'call:status_updated',
      );
    }
  });

  it('without a snapshot, call.initiated starts and the other status events update', () => {
    expect(lifecycleEventName(makeEvent('a', { type: 'call.initiated' }))).toBe('call:started');
    expect(lifecycleEventName(makeEvent('a', { type: 'call.ringing' }))).toBe(
      'call:status_updated',
    );
    expect(lifecycleEventName(makeEvent('a', { type: 'call.status_changed' }))).toBe(
      'call:status_updated',
    );
  });

  it('completes on call.ended and has nothing for enrichment or alert events', () => {
    expect(lifecycleEventName(makeEvent('a', { type: 'call.ended' }))).toBe('call:completed');
    for (const type of ['call.recording', 'call.analyzed', 'call.transcript', 'alert.long_call']) {
      expect(lifecycleEventName(makeEvent('a', { type }))).toBeUndefined();
    }
  });
});

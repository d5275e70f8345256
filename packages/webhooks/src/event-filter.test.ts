import { type CallEvent, callEventTypes } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { checkEventFilter, endpointTakesEvent, matchesEventFilter } from './event-filter';

describe('checkEventFilter', () => {
  it('accepts exact known types, covered wildcards and "*"', () => {
    expect(checkEventFilter(['call.ended', 'alert.*', '*'], callEventTypes)).toBeUndefined();
  });
  it('names what it refuses', () => {
    expect(checkEventFilter([], callEventTypes)).toMatch(/at least one/);
    expect(checkEventFilter(['call.endd'], callEventTypes)).toMatch(/"call.endd" is not a known/);
    expect(checkEventFilter(['calls.*'], callEventTypes)).toMatch(/matches no known/);
    expect(checkEventFilter([42], callEventTypes)).toMatch(/1 to 64/);
    expect(checkEventFilter(Array(65).fill('*'), callEventTypes)).toMatch(/at most 64/);
  });
  it('takes extra known types', () => {
    expect(checkEventFilter(['crm.synced'], [...callEventTypes, 'crm.synced'])).toBeUndefined();
  });
});

describe('matchesEventFilter', () => {
  it('matches exact types, prefixes and everything', () => {
    expect(matchesEventFilter(['call.*'], 'call.ended')).toBe(true);
    expect(matchesEventFilter(['call.*'], 'alert.long_call')).toBe(false);
    expect(matchesEventFilter(['call.ended'], 'call.ended')).toBe(true);
    expect(matchesEventFilter(['call.ended'], 'call.ringing')).toBe(false);
    expect(matchesEventFilter(['*'], 'presence.online')).toBe(true);
  });
});

describe('endpointTakesEvent', () => {
  const event = (type: string, userId?: string, audience?: string): CallEvent => ({
    id: 'e1',
    type,
    tenantId: 'acme',
    provider: 'calltrack',
    occurredAt: '2026-01-01T00:00:00.000Z',
    receivedAt: '2026-01-01T00:00:00.000Z',
    ...(userId === undefined ? {} : { userId }),
    data: audience === undefined ? {} : { audience },
  });

  it('gives a user-addressed event only to a filter that names its type exactly', () => {
    const message = event('user.message', 'agent-7', 'user');
    expect(endpointTakesEvent(['user.message'], message)).toBe(true);
    expect(endpointTakesEvent(['*'], message)).toBe(false);
    expect(endpointTakesEvent(['user.*'], message)).toBe(false);
    // Any type may be user-addressed.
    const addressedCall = event('call.ended', 'agent-7', 'user');
    expect(endpointTakesEvent(['call.*', '*'], addressedCall)).toBe(false);
    expect(endpointTakesEvent(['call.ended'], addressedCall)).toBe(true);
  });

  it('matches every other event by the filter, a userId or an audience alone included', () => {
    expect(endpointTakesEvent(['*'], event('presence.online', 'agent-7'))).toBe(true);
    expect(endpointTakesEvent(['user.*'], event('user.message', undefined, 'user'))).toBe(true);
    expect(endpointTakesEvent(['call.*'], event('call.ended'))).toBe(true);
  });
});

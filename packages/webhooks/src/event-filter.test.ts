import { callEventTypes } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { checkEventFilter, matchesEventFilter } from './event-filter';

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

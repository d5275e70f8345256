import { InvalidArgumentError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { matchTrackerRoute, normalizeBasePath } from './match-tracker-route';

describe('matchTrackerRoute', () => {
  it('matches each route under the base path, with or without a trailing slash', () => {
    expect(matchTrackerRoute('/api/calls/active', '/api')).toEqual({ name: 'list' });
    expect(matchTrackerRoute('/api/calls/active/', '/api')).toEqual({ name: 'list' });
    expect(matchTrackerRoute('/api/calls/active/count', '/api')).toEqual({ name: 'count' });
    expect(matchTrackerRoute('/api/calls/recent', '/api')).toEqual({ name: 'recent' });
    expect(matchTrackerRoute('/api/calls/analytics', '/api')).toEqual({ name: 'analytics' });
    expect(matchTrackerRoute('/calls/active/CA%20h%2F4', '')).toEqual({
      name: 'call',
      callId: 'CA h/4',
    });
    expect(matchTrackerRoute('/api/calls', '/api')).toEqual({ name: 'place' });
    expect(matchTrackerRoute('/api/calls/CA%2F1/terminate/', '/api')).toEqual({
      name: 'terminate',
      callId: 'CA/1',
    });
  });

  it('matches nothing else, and refuses a call id that is not valid URL encoding', () => {
    for (const path of [
      '/calls/active',
      '/api',
      '/api/calls/CA1',
      '/api/calls/CA1/terminate/now',
      '/api/calls/active/a/b',
      '/apix/calls/active',
    ]) {
      expect(matchTrackerRoute(path, '/api'), path).toBeUndefined();
    }
    for (const path of ['/calls/active/%E0%A4%A', '/calls/%E0%A4%A/terminate']) {
      let caught: unknown;
      try {
        matchTrackerRoute(path, '');
      } catch (error) {
        caught = error;
      }
      expect(InvalidArgumentError.isInstance(caught), path).toBe(true);
    }
  });

  it('normalizes the base path', () => {
    expect(normalizeBasePath(undefined)).toBe('');
    expect(normalizeBasePath('/')).toBe('');
    expect(normalizeBasePath('/api//')).toBe('/api');
    expect(() => normalizeBasePath('api')).toThrowError(/basePath/);
  });
});

import { InvalidArgumentError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import {
  parseGranularityParam,
  parseLimitParam,
  parseTimeParam,
  readTrackerQuery,
} from './read-tracker-query';

const refused = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('read API query parameters', () => {
  it('reads the allowed parameters, and refuses unknown, repeated and empty ones', () => {
    const allowed = ['branchId', 'limit'];
    expect(readTrackerQuery(new URLSearchParams('branchId=north&limit=5'), allowed)).toEqual({
      branchId: 'north',
      limit: '5',
    });
    expect(refused(() => readTrackerQuery(new URLSearchParams('colour=red'), allowed))).toMatch(
      /Unknown query parameter "colour"/,
    );
    expect(
      refused(() => readTrackerQuery(new URLSearchParams('limit=1&limit=2'), allowed)),
    ).toMatch(/twice/);
    expect(refused(() => readTrackerQuery(new URLSearchParams('branchId='), allowed))).toMatch(
      /empty/,
    );
    expect(refused(() => readTrackerQuery(new URLSearchParams('tenantId=b'), allowed))).toMatch(
      /comes from your credentials/,
    );
    expect(readTrackerQuery(new URLSearchParams('tenantId=b'), ['tenantId'])).toEqual({
      tenantId: 'b',
    });
  });

  it('parses limits, granularities and times', () => {
    expect(parseLimitParam('10000')).toBe(10_000);
    expect(refused(() => parseLimitParam('10001'))).toMatch(/1 to 10000/);
    expect(refused(() => parseLimitParam('1001', 1000))).toMatch(/1 to 1000/);
    for (const value of ['0', '-1', '1.5', 'abc', '0x10'])
      expect(() => parseLimitParam(value)).toThrow();
    expect(parseGranularityParam(undefined)).toBe('hour');
    expect(parseGranularityParam('day')).toBe('day');
    expect(refused(() => parseGranularityParam('week'))).toMatch(/granularity/);
    expect(parseTimeParam('1764000000000', 'from')).toBe(1_764_000_000_000);
    expect(parseTimeParam('2026-11-21T10:00:00Z', 'from')).toBe(Date.parse('2026-11-21T10:00:00Z'));
    expect(refused(() => parseTimeParam('yesterday', 'to'))).toMatch(/"to"/);
  });
});

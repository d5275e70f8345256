import { InvalidArgumentError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { checkBranchId, checkLimit, checkTenantId } from './tracker-query-checks';

const invalid = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('tracker query checks', () => {
  it('accepts a tenant id core accepts, and refuses one it does not', () => {
    expect(() => checkTenantId('tenant-a')).not.toThrow();
    for (const tenantId of ['', 'a b', 'a{b}', 'x'.repeat(129), 7 as never]) {
      expect(invalid(() => checkTenantId(tenantId))).toMatch(/Invalid tenantId/);
    }
  });

  it('accepts no branch or a non-empty one', () => {
    expect(() => checkBranchId(undefined)).not.toThrow();
    expect(() => checkBranchId('north')).not.toThrow();
    expect(invalid(() => checkBranchId(''))).toMatch(/branchId/);
    expect(invalid(() => checkBranchId(3 as never))).toMatch(/branchId/);
  });

  it('fills in the default limit and refuses one out of range', () => {
    const bounds = { fallback: 50, max: 1000 };
    expect(checkLimit(undefined, bounds)).toBe(50);
    expect(checkLimit(1, bounds)).toBe(1);
    expect(checkLimit(1000, bounds)).toBe(1000);
    for (const limit of [0, 1001, 1.5, Number.NaN, '5' as never]) {
      expect(invalid(() => checkLimit(limit, bounds))).toBe(
        'limit must be an integer from 1 to 1000.',
      );
    }
  });
});

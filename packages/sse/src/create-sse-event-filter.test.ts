import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createSseEventFilter } from './create-sse-event-filter';

describe('createSseEventFilter', () => {
  it('is undefined for a stream without filters', () => {
    expect(createSseEventFilter({ callIds: [], types: [] })).toBeUndefined();
  });

  it('matches call ids, exact types, type prefixes and the branch, all at once', () => {
    const filter = createSseEventFilter({
      callIds: ['CA-1', 'CA-2'],
      types: ['call.ended', 'call.an.*'],
      branchId: 'north',
    });
    const event = (overrides: Parameters<typeof makeCallEvent>[0]) =>
      makeCallEvent({ callId: 'CA-1', type: 'call.ended', branchId: 'north', ...overrides });
    expect(filter?.(event({}))).toBe(true);
    expect(filter?.(event({ callId: 'CA-2', type: 'call.an.other' }))).toBe(true);
    expect(filter?.(event({ callId: 'CA-3' }))).toBe(false);
    expect(filter?.(event({ type: 'call.answered' }))).toBe(false);
    expect(filter?.(event({ branchId: 'south' }))).toBe(false);
    expect(filter?.(event({ branchId: undefined }))).toBe(false);
    expect(
      createSseEventFilter({ callIds: ['CA-1'], types: [] })?.(event({ callId: undefined })),
    ).toBe(false);
  });
});

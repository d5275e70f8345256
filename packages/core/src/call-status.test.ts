import { describe, expect, it } from 'vitest';
import { callStatuses, isTerminalStatus, terminalCallStatuses } from './call-status';

describe('isTerminalStatus', () => {
  it('is true exactly for the five terminal statuses', () => {
    expect(callStatuses.filter(isTerminalStatus)).toEqual([...terminalCallStatuses]);
    expect(terminalCallStatuses).toEqual(['completed', 'busy', 'no-answer', 'failed', 'canceled']);
  });

  it('is false for unknown values, null and undefined', () => {
    expect(isTerminalStatus('ended')).toBe(false);
    expect(isTerminalStatus(null)).toBe(false);
    expect(isTerminalStatus(undefined)).toBe(false);
  });
});

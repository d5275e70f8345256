import { describe, expect, it } from 'vitest';
import { parseCallerDeskDuration } from './parse-callerdesk-duration';

describe('parseCallerDeskDuration', () => {
  it('reads seconds and clock durations in milliseconds', () => {
    expect(parseCallerDeskDuration('65')).toBe(65_000);
    expect(parseCallerDeskDuration('65.5')).toBe(65_500);
    expect(parseCallerDeskDuration('01:05')).toBe(65_000);
    expect(parseCallerDeskDuration('1:00:05')).toBe(3_605_000);
    expect(parseCallerDeskDuration('0')).toBe(0);
    expect(parseCallerDeskDuration('00:00:00')).toBe(0);
  });

  it('gives undefined for anything else', () => {
    for (const value of [undefined, '', '-5', '1e3', 'N/A', '1:2', '2000000000']) {
      expect(parseCallerDeskDuration(value)).toBeUndefined();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { boundedEventId } from './bounded-event-id';

describe('boundedEventId', () => {
  it('keeps ids that fit and shortens longer ones stably and distinctly', () => {
    expect(boundedEventId('calltrack:CA1:stale')).toBe('calltrack:CA1:stale');
    const long = `calltrack:${'x'.repeat(300)}:stale`;
    const other = `calltrack:${'x'.repeat(300)}:stalf`;
    expect(boundedEventId(long)).toHaveLength(217);
    expect(boundedEventId(long)).toBe(boundedEventId(long));
    expect(boundedEventId(long)).not.toBe(boundedEventId(other));
  });
});

import { describe, expect, it } from 'vitest';
import { createTypeMatcher } from './create-type-matcher';

describe('createTypeMatcher', () => {
  it('matches everything without types', () => {
    for (const types of [undefined, []]) {
      const matcher = createTypeMatcher(types);
      expect(matcher.key).toBe('');
      expect(matcher.matches('call.ended')).toBe(true);
    }
  });

  it('matches exact types and `.*` prefixes, with a key independent of order and repeats', () => {
    const matcher = createTypeMatcher(['call.ended', 'alert.*', 'call.ended']);
    expect(matcher.key).toBe('alert.*,call.ended');
    expect(createTypeMatcher(['alert.*', 'call.ended']).key).toBe(matcher.key);
    expect(matcher.matches('call.ended')).toBe(true);
    expect(matcher.matches('alert.long_call')).toBe(true);
    expect(matcher.matches('call.ringing')).toBe(false);
    expect(matcher.matches('alerting.x')).toBe(false);
  });
});

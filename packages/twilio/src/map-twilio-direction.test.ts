import { describe, expect, it } from 'vitest';
import { mapTwilioDirection } from './map-twilio-direction';

describe('mapTwilioDirection', () => {
  it.each([
    ['inbound', 'inbound'],
    ['outbound-api', 'outbound'],
    ['outbound-dial', 'outbound'],
    ['trunking-terminating', 'outbound'],
    ['trunking-originating', 'inbound'],
    ['OUTBOUND-API', 'outbound'],
  ])('%s → %s', (twilio, direction) => {
    expect(mapTwilioDirection(twilio)).toBe(direction);
  });

  it('returns undefined for unknown values', () => {
    for (const value of ['', 'sideways', 'constructor', undefined, null]) {
      expect(mapTwilioDirection(value)).toBeUndefined();
    }
  });
});

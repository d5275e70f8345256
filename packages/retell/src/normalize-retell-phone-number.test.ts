import { describe, expect, it } from 'vitest';
import { normalizeRetellPhoneNumber } from './normalize-retell-phone-number';

describe('normalizeRetellPhoneNumber', () => {
  it('keeps E.164 and strips formatting', () => {
    expect(normalizeRetellPhoneNumber('+14157774444')).toBe('+14157774444');
    expect(normalizeRetellPhoneNumber(' +1 (415) 777-4444 ')).toBe('+14157774444');
    expect(normalizeRetellPhoneNumber('415.777.4444')).toBe('4157774444');
  });

  it('keeps SIP addresses and drops empty values', () => {
    expect(normalizeRetellPhoneNumber('sip:agent@example.com;transport=tls')).toBe(
      'sip:agent@example.com;transport=tls',
    );
    expect(normalizeRetellPhoneNumber('')).toBeUndefined();
    expect(normalizeRetellPhoneNumber('  ')).toBeUndefined();
    expect(normalizeRetellPhoneNumber('+')).toBeUndefined();
    expect(normalizeRetellPhoneNumber(null)).toBeUndefined();
    expect(normalizeRetellPhoneNumber(undefined)).toBeUndefined();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeTwilioPhoneNumber } from './normalize-twilio-phone-number';

describe('normalizeTwilioPhoneNumber', () => {
  it.each([
    ['+14155550100', '+14155550100'],
    [' +1 (415) 555-0100 ', '+14155550100'],
    ['+44 20.7183.8750', '+442071838750'],
    ['client:alice', 'client:alice'],
    ['sip:bob@example.com', 'sip:bob@example.com'],
    ['Anonymous', 'Anonymous'],
    ['+0123456789', '+0123456789'],
    ['+123', '+123'],
    ['12345', '12345'],
  ])('%s → %s', (input, output) => {
    expect(normalizeTwilioPhoneNumber(input)).toBe(output);
  });

  it('gives undefined for empty, missing or over-long values', () => {
    expect(normalizeTwilioPhoneNumber('')).toBeUndefined();
    expect(normalizeTwilioPhoneNumber('   ')).toBeUndefined();
    expect(normalizeTwilioPhoneNumber(undefined)).toBeUndefined();
    expect(normalizeTwilioPhoneNumber(`sip:${'a'.repeat(300)}@x`)).toBeUndefined();
  });

  it('answers E.164 input as the general rule does (digits kept after the +)', () => {
    const general = (value: string): string => {
      const trimmed = value.trim();
      if (/^\+[\d\s().-]+$/.test(trimmed)) {
        const digits = trimmed.replace(/\D/g, '');
        if (digits.length >= 7 && digits.length <= 15 && digits[0] !== '0') return `+${digits}`;
      }
      return trimmed;
    };
    fc.assert(
      fc.property(fc.stringMatching(/^ ?\+?[0-9]{0,17} ?$/), (value) => {
        fc.pre(value.trim() !== '');
        expect(normalizeTwilioPhoneNumber(value)).toBe(general(value));
      }),
    );
  });
});

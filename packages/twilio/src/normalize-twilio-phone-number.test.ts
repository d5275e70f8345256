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
});

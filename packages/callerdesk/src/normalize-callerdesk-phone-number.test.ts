import { describe, expect, it } from 'vitest';
import { normalizeCallerDeskPhoneNumber } from './normalize-callerdesk-phone-number';

describe('normalizeCallerDeskPhoneNumber', () => {
  it.each([
    ['9876543210', '+919876543210'],
    ['09876543210', '+919876543210'],
    ['919876543210', '+919876543210'],
    ['0919876543210', '+919876543210'],
    ['00919876543210', '+919876543210'],
    ['+919876543210', '+919876543210'],
    ['+91 98765-43210', '+919876543210'],
    [' (0120) 456 7890 ', '+911204567890'],
    ['08047112233', '+918047112233'],
    ['8047112233', '+918047112233'],
    ['+14155550100', '+14155550100'],
    ['+971501234567', '+971501234567'],
  ])('normalizes %j to %j', (input, expected) => {
    expect(normalizeCallerDeskPhoneNumber(input)).toBe(expected);
  });

  it('accepts numbers sent as JSON numbers', () => {
    expect(normalizeCallerDeskPhoneNumber(9876543210)).toBe('+919876543210');
  });

  it.each([
    ['18001234567', '18001234567'],
    ['99xxxxx', '99xxxxx'],
    ['12345', '12345'],
    ['0000000000', '0000000000'],
    ['sip:agent@pbx.example', 'sip:agent@pbx.example'],
    ['+0123', '+0123'],
  ])('keeps %j as sent', (input, expected) => {
    expect(normalizeCallerDeskPhoneNumber(input)).toBe(expected);
  });

  it.each([[''], ['   '], ['-'], [null], [undefined], [{}], [-5]])(
    'gives undefined for %j',
    (input) => {
      expect(normalizeCallerDeskPhoneNumber(input)).toBeUndefined();
    },
  );
});

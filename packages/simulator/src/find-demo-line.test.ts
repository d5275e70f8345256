import { describe, expect, it } from 'vitest';
import { demoLines } from './demo-lines';
import { findDemoLine } from './find-demo-line';

describe('demoLines', () => {
  it('are the five documented lines of tenant demo', () => {
    expect(demoLines).toEqual([
      { provider: 'twilio', number: '+14155550100', tenantId: 'demo', branchId: 'north' },
      { provider: 'twilio', number: '+14155550101', tenantId: 'demo', branchId: 'south' },
      { provider: 'retell', number: '+14155550110', tenantId: 'demo', branchId: 'north' },
      { provider: 'retell', number: '+14155550111', tenantId: 'demo', branchId: 'south' },
      { provider: 'callerdesk', number: '+918041234567', tenantId: 'demo', branchId: 'bengaluru' },
    ]);
    expect(Object.isFrozen(demoLines)).toBe(true);
    expect(Object.isFrozen(demoLines[0])).toBe(true);
  });
});

describe('findDemoLine', () => {
  it.each([
    ['+14155550100', '+14155550100'],
    ['14155550101', '+14155550101'],
    ['4155550110', '+14155550110'],
    ['+1 (415) 555-0111', '+14155550111'],
    ['08041234567', '+918041234567'],
    ['918041234567', '+918041234567'],
    ['8041234567', '+918041234567'],
    ['+91 80 4123 4567', '+918041234567'],
    ['0091 8041234567', '+918041234567'],
  ])('finds %s', (input, number) => {
    expect(findDemoLine(input)?.number).toBe(number);
  });

  it.each([
    [undefined],
    [null],
    [''],
    ['+14155550199'],
    ['client:alice'],
    ['sip:+14155550100@example.com'],
    ['12345'],
  ])('finds nothing for %s', (input) => {
    expect(findDemoLine(input)).toBeUndefined();
  });

  it('searches other lines when given', () => {
    const lines = [{ provider: 'twilio' as const, number: '+442071838750', tenantId: 'acme' }];
    expect(findDemoLine('+442071838750', lines)).toBe(lines[0]);
    expect(findDemoLine('+14155550100', lines)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { parseCallerDeskTime } from './parse-callerdesk-time';

describe('parseCallerDeskTime', () => {
  it.each([
    ['2024-05-02 10:15:30', '2024-05-02T04:45:30.000Z'],
    ['2024-05-02 04:00:00', '2024-05-01T22:30:00.000Z'],
    ['2024-01-01 00:10:00', '2023-12-31T18:40:00.000Z'],
    ['2024-02-29 23:59:59', '2024-02-29T18:29:59.000Z'],
    ['2024-05-02T10:15:30', '2024-05-02T04:45:30.000Z'],
    ['2024-05-02 10:15', '2024-05-02T04:45:00.000Z'],
    [' 2024-05-02 10:15:30 ', '2024-05-02T04:45:30.000Z'],
  ])('reads the IST time %j as %j', (input, expected) => {
    expect(parseCallerDeskTime(input)).toBe(expected);
  });

  it('honours an explicit zone', () => {
    expect(parseCallerDeskTime('2024-05-02T10:15:30+05:30')).toBe('2024-05-02T04:45:30.000Z');
    expect(parseCallerDeskTime('2024-05-02T04:45:30.250Z')).toBe('2024-05-02T04:45:30.250Z');
  });

  it.each([[undefined], [''], ['  '], ['0000-00-00 00:00:00'], ['0000-00-00']])(
    'treats %j as absent',
    (input) => {
      expect(parseCallerDeskTime(input)).toBeUndefined();
    },
  );

  it.each([
    ['2024-02-30 10:00:00'],
    ['2023-02-29 10:00:00'],
    ['2024-13-01 10:00:00'],
    ['2024-05-02 24:00:00'],
    ['2024-05-02 10:60:00'],
    ['2024-05-02 10:15:61'],
    ['02-05-2024 10:15:30'],
    ['yesterday'],
    ['1714625130'],
    ['1900-01-01 00:00:00'],
    ['9999-99-99T99:99Z'],
  ])('refuses %j', (input) => {
    expect(parseCallerDeskTime(input)).toBeNull();
  });
});

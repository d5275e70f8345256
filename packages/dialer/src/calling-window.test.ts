import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCallingWindow } from './calling-window';
import { fromZonedTime, toZonedParts } from './zoned-time';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

describe('createCallingWindow', () => {
  const window = createCallingWindow();

  it("opens 09:00–21:00 in the lead's zone, whatever the server's", () => {
    // New York, EST (UTC-5): 08:59 closed, 09:00 open, 20:59 open, 21:00 closed.
    expect(window.check(at('2026-03-02T13:59:00Z'), 'America/New_York')).toEqual({
      open: false,
      retryAt: at('2026-03-02T14:00:00Z'),
    });
    expect(window.check(at('2026-03-02T14:00:00Z'), 'America/New_York')).toEqual({ open: true });
    expect(window.check(at('2026-03-03T01:59:00Z'), 'America/New_York')).toEqual({ open: true });
    expect(iso(closed(window.check(at('2026-03-03T02:00:00Z'), 'America/New_York')))).toBe(
      '2026-03-03T14:00:00.000Z',
    );
    // The same instant is 23:00 in Tokyo and 08:30 in Kolkata (UTC+5:30, no DST).
    expect(iso(closed(window.check(at('2026-03-02T14:00:00Z'), 'Asia/Tokyo')))).toBe(
      '2026-03-03T00:00:00.000Z',
    );
    expect(iso(closed(window.check(at('2026-03-02T03:00:00Z'), 'Asia/Kolkata')))).toBe(
      '2026-03-02T03:30:00.000Z',
    );
    expect(window.check(at('2026-03-02T03:30:00Z'), 'Asia/Kolkata')).toEqual({ open: true });
  });

  it('follows DST: the window moves with the clocks on both sides of a change', () => {
    // US spring forward, Sunday 2026-03-08 02:00 EST → 03:00 EDT.
    expect(iso(closed(window.check(at('2026-03-08T06:00:00Z'), 'America/New_York')))).toBe(
      '2026-03-08T13:00:00.000Z', // 09:00 EDT, one hour earlier in UTC than the day before
    );
    expect(window.check(at('2026-03-07T13:30:00Z'), 'America/New_York').open).toBe(false); // 08:30 EST
    expect(window.check(at('2026-03-08T13:30:00Z'), 'America/New_York').open).toBe(true); // 09:30 EDT
    // US fall back, 2026-11-01: 21:00 EST is 02:00 UTC the next day.
    expect(window.check(at('2026-11-02T01:30:00Z'), 'America/New_York').open).toBe(true); // 20:30 EST
    expect(window.check(at('2026-11-02T02:00:00Z'), 'America/New_York').open).toBe(false);
    // London enters BST on 2026-03-29; Sydney leaves AEDT on 2026-04-05.
    expect(iso(closed(window.check(at('2026-03-29T07:00:00Z'), 'Europe/London')))).toBe(
      '2026-03-29T08:00:00.000Z',
    );
    expect(iso(closed(window.check(at('2026-04-03T11:00:00Z'), 'Australia/Sydney')))).toBe(
      '2026-04-03T22:00:00.000Z', // 09:00 AEDT (UTC+11) on the 4th
    );
    expect(iso(closed(window.check(at('2026-04-04T11:00:00Z'), 'Australia/Sydney')))).toBe(
      '2026-04-04T23:00:00.000Z', // 09:00 AEST (UTC+10) on the 5th, after the 03:00 change
    );
  });

  it('has hours per weekday and days without calls', () => {
    const weekdays = createCallingWindow({
      hours: { start: '08:00', end: '20:00' },
      weekdays: { saturday: { start: '10:00', end: '14:00' }, sunday: null },
    });
    // Saturday 2026-03-07 15:00 in Chicago (CST): next opening Monday 08:00 CST.
    expect(iso(closed(weekdays.check(at('2026-03-07T21:00:00Z'), 'America/Chicago')))).toBe(
      '2026-03-09T13:00:00.000Z',
    );
    expect(weekdays.check(at('2026-03-07T17:00:00Z'), 'America/Chicago')).toEqual({ open: true });
    expect(weekdays.check(at('2026-03-08T17:00:00Z'), 'America/Chicago').open).toBe(false);
    const never = createCallingWindow({
      weekdays: {
        sunday: null,
        monday: null,
        tuesday: null,
        wednesday: null,
        thursday: null,
        friday: null,
        saturday: null,
      },
    });
    expect(never.check(at('2026-03-02T15:00:00Z'), 'UTC')).toEqual({ open: false });
  });

  it('refuses hours that are not HH:MM or end before they start', () => {
    expect(() => createCallingWindow({ hours: { start: '9am', end: '21:00' } })).toThrow(
      /callingWindow.hours.start must be "HH:MM"/,
    );
    expect(() =>
      createCallingWindow({ weekdays: { friday: { start: '18:00', end: '10:00' } } }),
    ).toThrow(/end must be after start/);
  });

  it('refuses a setting it does not know, which it would ignore: calls would go out when the rule meant none', () => {
    // Each would have left the default 09:00–21:00 every day in force.
    const mistaken: unknown[] = [
      { start: '08:00', end: '20:00' }, // the hours, not under `hours`
      { weekdays: { Sunday: null } }, // a capital
      { weekdays: { sun: null } },
      { weekdays: { saturday: { start: '10:00', end: '14:00', from: '10:00' } } },
      { hours: { start: '09:00', end: '20:00', timeZone: 'America/New_York' } },
      { weekday: { sunday: null } },
    ];
    for (const options of mistaken) {
      expect(
        () => createCallingWindow(options as Parameters<typeof createCallingWindow>[0]),
        JSON.stringify(options),
      ).toThrow(/callingWindow.* has no setting "\w+"/);
    }
    expect(() =>
      createCallingWindow({ weekdays: { sunday: null, saturday: undefined } }),
    ).not.toThrow();
  });

  it('holds for any instant and zone: open exactly within the local hours; the next opening is open and a minute before it is not', () => {
    const zones = [
      'America/New_York',
      'America/Los_Angeles',
      'America/Sao_Paulo',
      'Europe/London',
      'Europe/Berlin',
      'Asia/Kolkata',
      'Asia/Kathmandu',
      'Australia/Sydney',
      'Australia/Lord_Howe',
      'Pacific/Chatham',
      'UTC',
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: at('2025-01-01T00:00:00Z'), max: at('2028-01-01T00:00:00Z') }),
        fc.constantFrom(...zones),
        (instant, zone) => {
          const local = toZonedParts(instant, zone);
          const minute = local.hour * 60 + local.minute;
          const result = window.check(instant, zone);
          expect(result.open).toBe(minute >= 9 * 60 && minute < 21 * 60);
          if (!result.open) {
            const retryAt = result.retryAt!;
            expect(retryAt).toBeGreaterThan(instant);
            expect(retryAt - instant).toBeLessThanOrEqual(13 * 3_600_000);
            expect(window.check(retryAt, zone).open).toBe(true);
            expect(window.check(retryAt - 60_000, zone).open).toBe(false);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('converts wall-clock times back to instants through gaps and overlaps', () => {
    // 02:30 does not exist in New York on 2026-03-08: the instant after the jump.
    expect(
      iso(fromZonedTime({ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, 'America/New_York')),
    ).toBe('2026-03-08T07:30:00.000Z');
    // 01:30 happens twice on 2026-11-01: the first.
    expect(
      iso(
        fromZonedTime({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, 'America/New_York'),
      ),
    ).toBe('2026-11-01T05:30:00.000Z');
  });
});

function closed(result: { open: boolean; retryAt?: number }): number | undefined {
  expect(result.open).toBe(false);
  return result.retryAt;
}

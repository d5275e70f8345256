import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCallingWindow, type Weekday } from './calling-window';
import { fromZonedTime, offsetAt, toZonedParts } from './zoned-time';

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

  it('gives as retryAt the first instant the window is open when it opens inside a DST gap or a repeated hour', () => {
    const night = createCallingWindow({ hours: { start: '01:30', end: '03:00' } });
    // 06:00Z on 2026-11-01 is 01:00 EST, the second 01:00 of the night: 01:30 EST comes at
    // 06:30Z. It gave the next day's 01:30 (the first 01:30 of the night had passed).
    expect(iso(closed(night.check(at('2026-11-01T06:00:00Z'), 'America/New_York')))).toBe(
      '2026-11-01T06:30:00.000Z',
    );
    // 00:30–01:30: open in the first 01:00–01:30 (EDT), closed at 01:30 EDT, open again when
    // the clocks go back to 01:00 EST.
    const late = createCallingWindow({ hours: { start: '00:30', end: '01:30' } });
    expect(iso(closed(late.check(at('2026-11-01T05:45:00Z'), 'America/New_York')))).toBe(
      '2026-11-01T06:00:00.000Z',
    );
    // Hours wholly inside the spring gap (02:00–02:30 does not exist on 2026-03-08): the next
    // day's, not the instant after the jump, when the window is not open.
    const gap = createCallingWindow({ hours: { start: '02:00', end: '02:30' } });
    expect(iso(closed(gap.check(at('2026-03-08T06:30:00Z'), 'America/New_York')))).toBe(
      '2026-03-09T06:00:00.000Z',
    );
    // Lord Howe moves its clocks by 30 minutes: 02:00 LHST (+10:30) became 02:30 LHDT (+11) on
    // 2026-10-04, so a window from 02:15 opens at the jump.
    const lordHowe = createCallingWindow({ hours: { start: '02:15', end: '04:00' } });
    expect(iso(closed(lordHowe.check(at('2026-10-03T15:00:00Z'), 'Australia/Lord_Howe')))).toBe(
      '2026-10-03T15:30:00.000Z',
    );
  });

  it('gives the first instant the window is open, never earlier, around DST changes: as a minute-by-minute search finds it', () => {
    // The changes of 2026 (UTC): spring forward, then back.
    const changes: [string, string[]][] = [
      ['America/New_York', ['2026-03-08T07:00:00Z', '2026-11-01T06:00:00Z']],
      ['Europe/London', ['2026-03-29T01:00:00Z', '2026-10-25T01:00:00Z']],
      ['Australia/Lord_Howe', ['2026-04-04T15:00:00Z', '2026-10-03T15:30:00Z']],
    ];
    const samples = changes.flatMap(([zone, instants]) =>
      instants.map((change) => ({ zone, change: at(change) })),
    );
    for (const { zone, change } of samples) {
      // Each listed instant is a change of the zone's offset.
      expect(offsetMinutes(change, zone)).not.toBe(offsetMinutes(change - 60_000, zone));
    }
    const clock = fc.integer({ min: 0, max: 24 * 4 - 1 }).map((quarter) => quarter * 15);
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        // Up to a day and a half either side of the change, at any second.
        fc.integer({ min: -36 * 3_600_000, max: 36 * 3_600_000 }),
        clock,
        fc.integer({ min: 15, max: 8 * 60 }),
        fc.constantFrom<Weekday | undefined>(undefined, 'sunday', 'saturday', 'monday'),
        ({ zone, change }, shift, start, length, closedDay) => {
          const end = Math.min(start + length, 24 * 60);
          fc.pre(end > start);
          const hours = { start: hhmm(start), end: hhmm(end) };
          const window = createCallingWindow({
            hours,
            ...(closedDay === undefined ? {} : { weekdays: { [closedDay]: null } }),
          });
          const instant = change + shift;
          const result = window.check(instant, zone);
          if (result.open) return;
          expect(iso(result.retryAt), JSON.stringify({ zone, at: iso(instant), hours })).toBe(
            iso(firstOpenMinute(instant, zone, { start, end }, closedDay)),
          );
        },
      ),
      { numRuns: 300 },
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

const hhmm = (minutes: number): string =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

const offsetMinutes = (instant: number, zone: string): number => offsetAt(instant, zone) / 60_000;

/**
 * The first whole minute after `instant` at which the local time in `zone` is within `hours`
 * (`closedDay` excepted): a search, minute by minute, on the wall clock alone.
 */
function firstOpenMinute(
  instant: number,
  zone: string,
  hours: { start: number; end: number },
  closedDay: Weekday | undefined,
): number {
  const closedIndex = closedDay === undefined ? -1 : weekdayNames.indexOf(closedDay);
  const limit = instant + 16 * 86_400_000;
  for (
    let minute = Math.floor(instant / 60_000) * 60_000 + 60_000;
    minute < limit;
    minute += 60_000
  ) {
    const local = toZonedParts(minute, zone);
    const wall = local.hour * 60 + local.minute;
    if (local.weekday !== closedIndex && wall >= hours.start && wall < hours.end) return minute;
  }
  throw new Error('the window never opens');
}

const weekdayNames: Weekday[] = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
];

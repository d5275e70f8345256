import { InvalidArgumentError } from '@calltrack/core';
import { offsetAt, toZonedParts } from './zoned-time';

/** Hours of one day, in the lead's local time: calls start at or after `start`, before `end`. */
export interface CallingHours {
  /** `HH:MM`, 24-hour. */
  start: string;
  /** `HH:MM`, 24-hour, after `start`. */
  end: string;
}

/** A weekday, in the lead's time zone. */
export type Weekday =
  | 'sunday'
  | 'monday'
  | 'tuesday'
  | 'wednesday'
  | 'thursday'
  | 'friday'
  | 'saturday';

/**
 * When leads may be called, in each lead's own time zone. Default 09:00–21:00 every day (the
 * TCPA's limit is 08:00–21:00 at the called party's location; some states and countries are
 * stricter: set yours). A key it does not know (`weekdays: { Sunday: null }`) is refused with
 * `InvalidArgumentError`, not ignored.
 */
export interface CallingWindowOptions {
  /** The hours of any day not listed in `weekdays`. Default 09:00–21:00. */
  hours?: CallingHours;
  /** Hours per weekday; `null` means no calls that day (e.g. `{ sunday: null }`). */
  weekdays?: Partial<Record<Weekday, CallingHours | null>>;
}

const weekdayNames: readonly Weekday[] = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
];

type Minutes = { start: number; end: number } | null;

/** A checked calling window: `check(instant, timeZone)`. */
export interface CallingWindow {
  /**
   * Whether `instant` is inside the window in `timeZone`; when it is not, `retryAt` is the first
   * instant after it at which the window is open there, DST changes included (undefined if no
   * day of the week has hours, or none opens within two weeks).
   */
  check(instant: number, timeZone: string): { open: true } | { open: false; retryAt?: number };
}

function minutesOf(value: string, what: string): number {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(value ?? '');
  const minutes = match ? Number(match[1]) * 60 + Number(match[2]) : Number.NaN;
  if (!(minutes >= 0 && minutes <= 24 * 60)) {
    throw new InvalidArgumentError({
      message: `${what} must be "HH:MM", got ${JSON.stringify(value)}.`,
    });
  }
  return minutes;
}

/**
 * Refuses a key of `value` (an options object) that is not in `known`: ignored, a misspelt
 * `weekdays.Sunday` or `{ start, end }` given without `hours` would leave calls going out when
 * the rule meant none.
 */
function checkKeys(value: unknown, known: readonly string[], what: string): void {
  if (value === null || typeof value !== 'object') return;
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError({
        message: `${what} has no setting ${JSON.stringify(key)} (it takes ${known.join(', ')}).`,
      });
    }
  }
}

function toMinutes(hours: CallingHours | null, what: string): Minutes {
  if (hours === null) return null;
  checkKeys(hours, ['start', 'end'], what);
  const start = minutesOf(hours?.start, `${what}.start`);
  const end = minutesOf(hours?.end, `${what}.end`);
  if (end <= start) {
    throw new InvalidArgumentError({ message: `${what}: end must be after start.` });
  }
  return { start, end };
}

/** Checks the options once and returns the window. */
export function createCallingWindow(options: CallingWindowOptions = {}): CallingWindow {
  checkKeys(options, ['hours', 'weekdays'], 'callingWindow');
  checkKeys(options.weekdays, weekdayNames, 'callingWindow.weekdays');
  const fallback = toMinutes(
    options.hours ?? { start: '09:00', end: '21:00' },
    'callingWindow.hours',
  );
  const days: Minutes[] = weekdayNames.map((name) => {
    const hours = options.weekdays?.[name];
    return hours === undefined ? fallback : toMinutes(hours, `callingWindow.weekdays.${name}`);
  });

  const anyHours = days.some((hours) => hours !== null);
  const isOpenAt = (instant: number, timeZone: string): boolean => {
    const local = toZonedParts(instant, timeZone);
    const today = days[local.weekday];
    const minute = local.hour * 60 + local.minute;
    return today != null && minute >= today.start && minute < today.end;
  };

  return {
    check(instant, timeZone) {
      if (isOpenAt(instant, timeZone)) return { open: true };
      if (!anyHours) return { open: false };
      // The next opening, walked through spans of one UTC offset (at most a day each). Within a
      // span the wall clock runs evenly, so the window opens there either where the wall clock
      // reaches a day's start or at the span's first instant (a DST change that jumps into the
      // hours). The start's wall time converted alone was late at DST edges (a start in a
      // repeated hour read as its first, past occurrence). Each candidate is checked open, so
      // none is early.
      let from = instant;
      // Two weeks: a day's only hours may fall in a DST gap, so not open that week.
      const limit = instant + 15 * dayMs;
      while (from < limit) {
        const offset = offsetAt(from, timeZone);
        const until = nextOffsetChange(from, offset, timeZone);
        if (from > instant && isOpenAt(from, timeZone)) return { open: false, retryAt: from };
        const first = toZonedParts(from, timeZone);
        const last = toZonedParts(until - 1, timeZone);
        const lastDay = Date.UTC(last.year, last.month - 1, last.day);
        for (
          let day = Date.UTC(first.year, first.month - 1, first.day);
          day <= lastDay;
          day += dayMs
        ) {
          const hours = days[new Date(day).getUTCDay()];
          if (!hours) continue;
          const opening = day + hours.start * 60_000 - offset;
          if (
            opening >= from &&
            opening < until &&
            opening > instant &&
            isOpenAt(opening, timeZone)
          ) {
            return { open: false, retryAt: opening };
          }
        }
        from = until;
      }
      return { open: false };
    },
  };
}

const dayMs = 86_400_000;

/**
 * The first whole minute after `from` (at most a day later) whose UTC offset in `timeZone` is not
 * `offset`, or `from` plus a day when there is none. Zones change their offset at whole minutes
 * and never twice in a day.
 */
function nextOffsetChange(from: number, offset: number, timeZone: string): number {
  const probe = from + dayMs;
  if (offsetAt(probe, timeZone) === offset) return probe;
  let same = Math.floor(from / 60_000);
  let changed = Math.floor(probe / 60_000);
  while (changed - same > 1) {
    const middle = Math.floor((same + changed) / 2);
    if (offsetAt(middle * 60_000, timeZone) === offset) same = middle;
    else changed = middle;
  }
  return changed * 60_000;
}

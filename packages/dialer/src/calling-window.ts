import { InvalidArgumentError } from '@calltrack/core';
import { fromZonedTime, toZonedParts } from './zoned-time';

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
   * Whether `instant` is inside the window in `timeZone`; when it is not, `retryAt` is when the
   * next window opens there (undefined if no day of the week has hours).
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

  return {
    check(instant, timeZone) {
      const local = toZonedParts(instant, timeZone);
      const today = days[local.weekday];
      const minute = local.hour * 60 + local.minute;
      if (today && minute >= today.start && minute < today.end) return { open: true };
      // The next opening: today's if it is still ahead, else the first day with hours.
      for (let offset = 0; offset <= 7; offset += 1) {
        const date = new Date(Date.UTC(local.year, local.month - 1, local.day + offset));
        const hours = days[date.getUTCDay()];
        if (!hours || (offset === 0 && minute >= hours.start)) continue;
        const retryAt = fromZonedTime(
          {
            year: date.getUTCFullYear(),
            month: date.getUTCMonth() + 1,
            day: date.getUTCDate(),
            hour: Math.floor(hours.start / 60),
            minute: hours.start % 60,
          },
          timeZone,
        );
        if (retryAt > instant) return { open: false, retryAt };
      }
      return { open: false };
    },
  };
}

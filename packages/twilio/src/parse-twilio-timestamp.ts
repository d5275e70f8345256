const rfc2822 =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s*)?(\d{1,2})\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+([+-]\d{4}|GMT|UTC|UT|Z)$/i;

const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const looksIso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Parses the RFC 2822 `Timestamp` of a Twilio status callback (`Sun, 25 Mar 2018 09:53:19 +0000`)
 * into an ISO 8601 string in UTC (`2018-03-25T09:53:19.000Z`). ISO 8601 input is accepted too.
 * Returns `undefined` for anything it cannot read, never throws.
 */
export function parseTwilioTimestamp(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  // Twilio's timestamps have one-second resolution: under load, callbacks in a row carry the
  // same text, and the answer depends on nothing else.
  if (value === lastTimestamp.text) return lastTimestamp.iso;
  const iso = parseTimestamp(value);
  lastTimestamp.text = value;
  lastTimestamp.iso = iso;
  return iso;
}

const lastTimestamp: { text: string | undefined; iso: string | undefined } = {
  text: undefined,
  iso: undefined,
};

function parseTimestamp(value: string): string | undefined {
  const trimmed = value.trim();
  const match = rfc2822.exec(trimmed);
  let milliseconds: number;
  if (match !== null) {
    const [, day, month, year, hour, minute, second = '0', zone] = match;
    const sign = zone![0] === '-' ? -1 : 1;
    const offsetMinutes = /^[+-]/.test(zone!)
      ? sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(3, 5)))
      : 0;
    const monthIndex = months.indexOf(month!.toLowerCase());
    const utc = Date.UTC(
      Number(year),
      monthIndex,
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
    );
    // Reject rolled-over dates such as 31 Feb.
    if (
      new Date(utc).getUTCDate() !== Number(day) ||
      Number(hour) > 23 ||
      Number(minute) > 59 ||
      Number(second) > 60
    ) {
      return undefined;
    }
    milliseconds = utc - offsetMinutes * 60_000;
  } else if (looksIso.test(trimmed)) {
    milliseconds = Date.parse(trimmed);
  } else {
    return undefined;
  }
  if (!Number.isFinite(milliseconds)) return undefined;
  const date = new Date(milliseconds);
  const year = date.getUTCFullYear();
  if (year < 1970 || year > 9999) return undefined;
  return date.toISOString();
}

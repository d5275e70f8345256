/**
 * ISO 8601 as `Date.parse` reads it in UTC: a date (`2026-11-01`, also `2026-11` or `2026`, or an
 * extended year) that is UTC midnight, or a date and time with its zone (`Z` or `±hh:mm`).
 * `Date.parse` alone also reads a time without a zone and forms such as `Nov 1 2026` or `-1`
 * (2001-01-01) in the server's own time zone, so one query would mean other hours elsewhere.
 */
const isoTimePattern =
  /^(?:[+-]\d{6}|\d{4})(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?)?)?$/i;

/** An ISO 8601 time in ms since the epoch, NaN for anything else (see `isoTimePattern`). */
export function parseIsoTime(text: string): number {
  return isoTimePattern.test(text) ? Date.parse(text) : Number.NaN;
}

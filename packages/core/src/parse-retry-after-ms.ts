/**
 * A `Retry-After` header value as the milliseconds from `now` it asks to wait: delay-seconds
 * (rounded up to whole seconds) or an HTTP date (to the millisecond, never negative). Undefined
 * when absent or unreadable (`-5`, `1e3`, `soon`). A huge wait is read as it is, up to
 * `Number.MAX_SAFE_INTEGER` (a value of hundreds of digits is no `Infinity`): whoever schedules
 * with it caps it. The one reading of the header: core's `readRetryAfterSeconds` caps it at a
 * day and rounds it up to seconds; the outbound webhook dispatcher schedules with the
 * milliseconds, clamped to its retry schedule.
 * @internal
 */
export function parseRetryAfterMs(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    return Math.min(Math.ceil(Number(text)) * 1000, Number.MAX_SAFE_INTEGER);
  }
  // An HTTP date names its day and month ("Wed, 21 Oct 2026 07:28:00 GMT"); Date.parse alone
  // would read "-5" as a year.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (!Number.isFinite(date)) return undefined;
  return Math.max(0, date - now);
}

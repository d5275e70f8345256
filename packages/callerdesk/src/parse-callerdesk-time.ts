/** India Standard Time: UTC+05:30 all year (no daylight saving). */
const istOffsetMs = (5 * 60 + 30) * 60 * 1000;

const localPattern = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;
const zonedPattern =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * Converts a CallerDesk time to ISO 8601 in UTC. CallerDesk sends local India time without a
 * zone, `yyyy-mm-dd hh:mm:ss` (seconds optional), which is read as IST (+05:30):
 * `2024-05-02 10:15:30` → `2024-05-02T04:45:30.000Z`. A value that carries its own zone
 * (`…Z`, `…+05:30`) is honoured. Empty values and PHP's zero date (`0000-00-00 00:00:00`) give
 * `undefined`; anything else that is not a valid time gives `null`.
 */
export function parseCallerDeskTime(value: string | undefined): string | null | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '' || /^0{4}-0{2}-0{2}(?:[ T]0{2}:0{2}(?::0{2})?)?$/.test(text)) return undefined;
  const local = localPattern.exec(text);
  if (local !== null) {
    const [year, month, day, hour, minute, second] = local
      .slice(1)
      .map((part) => Number(part ?? 0)) as [number, number, number, number, number, number];
    const utc = Date.UTC(year, month - 1, day, hour, minute, second);
    const check = new Date(utc);
    // Date.UTC rolls 2024-02-30 over to March; a real time survives the round trip.
    if (
      check.getUTCFullYear() !== year ||
      check.getUTCMonth() !== month - 1 ||
      check.getUTCDate() !== day ||
      check.getUTCHours() !== hour ||
      check.getUTCMinutes() !== minute ||
      check.getUTCSeconds() !== second ||
      year < 1971
    ) {
      return null;
    }
    return new Date(utc - istOffsetMs).toISOString();
  }
  if (zonedPattern.test(text)) {
    const time = Date.parse(text);
    return Number.isFinite(time) && time > 0 ? new Date(time).toISOString() : null;
  }
  return null;
}

/**
 * A CallerDesk duration in milliseconds: seconds (`65`, `65.5`) or a clock (`01:05`,
 * `00:01:05`). Anything else, and more seconds than 1e9, gives `undefined`.
 */
export function parseCallerDeskDuration(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const clock = /^(?:(\d{1,3}):)?(\d{1,2}):(\d{2})$/.exec(value);
  if (clock !== null) {
    const [, hours = '0', minutes = '0', seconds = '0'] = clock;
    return ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
  }
  if (!/^\d+(?:\.\d+)?$/.test(value)) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds <= 1e9 ? Math.round(seconds * 1000) : undefined;
}

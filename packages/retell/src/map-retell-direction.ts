import type { CallDirection } from '@calltrack/core';

/** Maps Retell's `direction` (`inbound | outbound`, any case) to the normalized direction; `undefined` otherwise (web calls). */
export function mapRetellDirection(
  direction: string | null | undefined,
): CallDirection | undefined {
  const value = typeof direction === 'string' ? direction.trim().toLowerCase() : undefined;
  return value === 'inbound' || value === 'outbound' ? value : undefined;
}

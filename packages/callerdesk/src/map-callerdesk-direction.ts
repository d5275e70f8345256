import type { CallDirection } from '@calltrack/core';

/**
 * Maps CallerDesk's `Direction` to the normalized direction: `IVR` (and `incoming`, `inbound`) →
 * `inbound`; `WEBOBD` (click-to-call), other `…OBD` values and `outgoing`, `outbound`, `C2C` →
 * `outbound`; anything else → `undefined`.
 */
export function mapCallerDeskDirection(direction: string | undefined): CallDirection | undefined {
  if (direction === undefined) return undefined;
  const key = direction
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  if (key === 'ivr' || key === 'incoming' || key === 'inbound' || key === 'in') return 'inbound';
  if (
    key.endsWith('obd') ||
    key === 'outgoing' ||
    key === 'outbound' ||
    key === 'out' ||
    key === 'c2c' ||
    key === 'clicktocall'
  ) {
    return 'outbound';
  }
  return undefined;
}

import type { CallEvent } from '@calltrack/core';
import type { BusSubscribeOptions } from './event-bus';

/** Builds the filter a subscription applies to each event of its tenant(s). */
export function matchesSubscription(
  options: Pick<BusSubscribeOptions, 'callId' | 'types'>,
): (event: CallEvent) => boolean {
  const { callId, types } = options;
  if (callId === undefined && (types === undefined || types.length === 0)) return () => true;
  const exact = new Set(types?.filter((type) => !type.endsWith('.*')));
  const prefixes = (types ?? [])
    .filter((type) => type.endsWith('.*'))
    .map((type) => type.slice(0, -1));
  const anyType = types === undefined || types.length === 0;
  return (event) =>
    (callId === undefined || event.callId === callId) &&
    (anyType || exact.has(event.type) || prefixes.some((prefix) => event.type.startsWith(prefix)));
}

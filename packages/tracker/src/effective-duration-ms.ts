import type { CallDetails } from './call-details';

/**
 * Talk time as the tracker reports it: the provider's figure, else `endedAt - answeredAt`, 0 for
 * an ended call never answered, undefined while it is not known. The Redis store's script works
 * it out the same way for analytics.
 */
export function effectiveDurationMs(call: {
  details: CallDetails;
  answeredAt?: number;
  endedAt?: number;
}): number | undefined {
  if (call.details.durationMs !== undefined) return call.details.durationMs;
  if (call.endedAt === undefined) return undefined;
  if (call.answeredAt === undefined) return 0;
  return Math.max(0, call.endedAt - call.answeredAt);
}

import { CallTrackError } from '@calltrack/core';
import type { CallTrackAck, CallTrackAckErrorCode } from './call-track-protocol';

const knownCodes = new Set<string>([
  'invalid_payload',
  'invalid_argument',
  'not_found',
  'too_many_subscriptions',
  'internal_error',
] satisfies CallTrackAckErrorCode[]);

/** Codes of the errors that mean Redis (of the bus, or of the tracker) cannot be reached now. */
const unavailableCodes = new Set<string>(['bus_unavailable', 'redis_unavailable']);

/** What `unavailable` asks the client to wait: the HTTP answers' `Retry-After: 5`. */
const unavailableRetryAfterMs = 5_000;

/** The `unavailable` acknowledgement: the connection stays open, the client asks again later. */
function unavailableAck(message: string): Extract<CallTrackAck, { ok: false }> {
  return {
    ok: false,
    error: { code: 'unavailable', message, retryAfterMs: unavailableRetryAfterMs },
  };
}

/**
 * The acknowledgement for a failed client→server event, one mapping for every event (and for a
 * handshake resume's `resume_error`). A calltrack error with a known code is answered as it is
 * (`InvalidArgumentError`: `invalid_argument`, a request the server refuses as bad, which asking
 * again would not change), Redis being unreachable (`BusUnavailableError`,
 * `RedisUnavailableError`) as `unavailable`; anything else becomes `internal_error` with a generic
 * message (details stay on the server, through `onError`).
 */
export function toAckError(error: unknown): Extract<CallTrackAck, { ok: false }> {
  if (CallTrackError.isInstance(error) && unavailableCodes.has(error.code)) {
    return unavailableAck(error.message);
  }
  if (CallTrackError.isInstance(error) && knownCodes.has(error.code)) {
    return {
      ok: false,
      error: { code: error.code as CallTrackAckErrorCode, message: error.message },
    };
  }
  return { ok: false, error: { code: 'internal_error', message: 'The request failed' } };
}

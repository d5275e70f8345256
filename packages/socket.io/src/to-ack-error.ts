import { CallTrackError } from '@calltrack/core';
import type { CallTrackAck, CallTrackAckErrorCode } from './call-track-protocol';

const knownCodes = new Set<string>([
  'invalid_payload',
  'not_found',
  'too_many_subscriptions',
  'internal_error',
] satisfies CallTrackAckErrorCode[]);

/**
 * The acknowledgement for a failed client→server event. A calltrack error with a known code is
 * answered as it is; anything else becomes `internal_error` with a generic message (details stay
 * on the server, through `onError`).
 */
export function toAckError(error: unknown): Extract<CallTrackAck, { ok: false }> {
  if (CallTrackError.isInstance(error) && knownCodes.has(error.code)) {
    return {
      ok: false,
      error: { code: error.code as CallTrackAckErrorCode, message: error.message },
    };
  }
  return { ok: false, error: { code: 'internal_error', message: 'The request failed' } };
}

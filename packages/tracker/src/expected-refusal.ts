import { CallTrackError, UnsupportedOperationError } from '@calltrack/core';

/**
 * An answer the API gives on purpose, not a failure of the server: a 4xx, or a 501 for an
 * operation nothing configured can do (no call control for the provider, CallerDesk cannot end
 * a call). Logged at debug at most; anything else is logged as an error.
 */
export function isExpectedRefusal(error: unknown): boolean {
  return (
    UnsupportedOperationError.isInstance(error) ||
    (CallTrackError.isInstance(error) && error.status < 500)
  );
}

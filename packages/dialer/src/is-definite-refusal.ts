import { CallTrackError, ProviderApiError } from '@calltrack/core';

/**
 * True when a failed `placeCall` surely placed no call: a `ProviderApiError` that is not
 * retryable (a 4xx other than 408, 409, 429: validation, auth, a blocked number), or a 4xx
 * `CallTrackError` the adapter threw before sending (an argument it could not send). Anything
 * else (a timeout, a lost connection, a 5xx, an unexpected error) is ambiguous.
 */
export function isDefiniteRefusal(error: unknown): boolean {
  if (ProviderApiError.isInstance(error)) return !error.isRetryable;
  return CallTrackError.isInstance(error) && error.status >= 400 && error.status < 500;
}

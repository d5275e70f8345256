import { CallTrackError, ProviderApiError } from '@calltrack/core';

/**
 * True when a failed `placeCall` surely placed no call: a `ProviderApiError` that is not
 * `isRetryable` (a 4xx other than 408, 409, 429 — validation, auth, a blocked number — or an
 * answer that says it refused, as CallerDesk's 200 with an error), or a 4xx `CallTrackError` the
 * adapter threw before sending (an argument it could not send). Anything else is ambiguous: a
 * timeout, a lost connection, a 5xx, an unexpected error, and a 2xx whose answer could not be
 * read (the provider created the call).
 */
export function isDefiniteRefusal(error: unknown): boolean {
  if (ProviderApiError.isInstance(error)) return !error.isRetryable;
  return CallTrackError.isInstance(error) && error.status >= 400 && error.status < 500;
}

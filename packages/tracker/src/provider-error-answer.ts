import type { ProviderApiError } from '@calltrack/core';
import type { IdempotentAnswer } from './idempotency-store';

/** What a provider's failure is answered with. @internal */
export interface ProviderErrorAnswer extends IdempotentAnswer {
  /** The answer's own headers: a rate limit's `Retry-After`. */
  headers: Record<string, string>;
  /** The provider rate-limited the request (429): it did nothing, and may be asked again later. */
  rateLimited: boolean;
  /**
   * The provider did nothing for a reason outside the request: a 429, or a 401/403 (the app's own
   * credentials, which the operator fixes). The same request may be made again later.
   */
  placedNothing: boolean;
}

/**
 * The call-control routes' answer to a provider's failure, `{ error: { code, message, provider,
 * retryable, providerStatus?, providerCode? } }`:
 *
 * | provider answered                         | status | code                            |
 * | ----------------------------------------- | ------ | ------------------------------- |
 * | 401 / 403 (the app's credentials)         | 502    | `provider_credentials_rejected` |
 * | another refusal (4xx, CallerDesk's error) | 422    | `provider_refused`              |
 * | 429 (its `Retry-After` is passed on)      | 503    | `provider_rate_limited`         |
 * | nothing (network failure, timeout)        | 504    | `provider_no_answer`            |
 * | 408, 409, 5xx, a 2xx it could not read    | 502    | `provider_unavailable`          |
 *
 * `retryable: false` is a definite refusal: the provider did nothing. `retryable: true` is
 * ambiguous: the provider may have acted (placed the call), so look at the calls (the webhooks)
 * before trying again. A 429 is the exception: it placed nothing, and `rateLimited` says so.
 * `placedNothing` holds for a 429 and for the app's rejected credentials (401/403): the request
 * itself was not judged, so the same request may be asked again once the cause is gone.
 * @internal
 */
export function providerErrorAnswer(error: ProviderApiError): ProviderErrorAnswer {
  const { providerStatus } = error;
  const [status, code] = !error.isRetryable
    ? providerStatus === 401 || providerStatus === 403
      ? [502, 'provider_credentials_rejected']
      : [422, 'provider_refused']
    : providerStatus === 429
      ? [503, 'provider_rate_limited']
      : providerStatus === undefined
        ? [504, 'provider_no_answer']
        : [502, 'provider_unavailable'];
  const rateLimited = code === 'provider_rate_limited';
  return {
    status,
    rateLimited,
    placedNothing: rateLimited || code === 'provider_credentials_rejected',
    headers:
      rateLimited && error.retryAfterSeconds !== undefined
        ? { 'retry-after': String(error.retryAfterSeconds) }
        : {},
    body: {
      error: {
        code,
        message: error.message,
        provider: error.provider,
        retryable: error.isRetryable,
        ...(providerStatus === undefined ? {} : { providerStatus }),
        ...(error.providerCode === undefined ? {} : { providerCode: error.providerCode }),
      },
    },
  };
}

import type { ProviderApiError } from '@calltrack/core';
import type { IdempotentAnswer } from './idempotency-store';

/**
 * The call-control routes' answer to a provider's failure, `{ error: { code, message, provider,
 * retryable, providerStatus?, providerCode? } }`:
 *
 * | provider answered                         | status | code                            |
 * | ----------------------------------------- | ------ | ------------------------------- |
 * | 401 / 403 (the app's credentials)         | 502    | `provider_credentials_rejected` |
 * | another refusal (4xx, CallerDesk's error) | 422    | `provider_refused`              |
 * | 429                                       | 503    | `provider_rate_limited`         |
 * | nothing (network failure, timeout)        | 504    | `provider_no_answer`            |
 * | 408, 409, 5xx, a 2xx it could not read    | 502    | `provider_unavailable`          |
 *
 * `retryable: false` is a definite refusal: the provider did nothing. `retryable: true` is
 * ambiguous: the provider may have acted (placed the call), so look at the calls (the webhooks)
 * before trying again. @internal
 */
export function providerErrorAnswer(error: ProviderApiError): IdempotentAnswer {
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
  return {
    status,
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

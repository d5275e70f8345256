import { CallTrackError, ProviderApiError, type ProviderApiErrorOptions } from '@calltrack/core';

const name = 'CallTrack_TwilioApiError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** Options of {@link TwilioApiError}. */
export interface TwilioApiErrorOptions extends Omit<ProviderApiErrorOptions, 'provider'> {
  /** Twilio's `more_info` link to the error's documentation page. */
  moreInfo?: string;
}

/**
 * Twilio's REST API refused or failed a request, or could not be reached. A `ProviderApiError`
 * (so `ProviderApiError.isInstance` is true) with `provider: 'twilio'`, Twilio's numeric error
 * `providerCode` (e.g. `21211` invalid To number, `20404` not found), the HTTP `providerStatus`
 * (undefined when no answer came back), `moreInfo` and `isRetryable` (network failures, 408,
 * 409, 429, 5xx, and a 2xx that could not be read: all but a definite refusal).
 */
export class TwilioApiError extends ProviderApiError {
  private readonly [symbol] = true;
  /** Twilio's `more_info` documentation link, when the error body had one. */
  readonly moreInfo: string | undefined;

  constructor({ moreInfo, ...options }: TwilioApiErrorOptions) {
    super({ ...options, provider: 'twilio' });
    this.name = name;
    this.moreInfo = moreInfo;
  }

  /** True when `error` is a {@link TwilioApiError}, from any copy of this package. */
  static override isInstance(error: unknown): error is TwilioApiError {
    return CallTrackError.hasMarker(error, marker);
  }
}

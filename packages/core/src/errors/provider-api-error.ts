import { toRetryAfterSeconds } from '../read-retry-after-seconds';
import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_ProviderApiError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** Options of {@link ProviderApiError}. */
export interface ProviderApiErrorOptions {
  message: string;
  /** Which provider answered, e.g. `twilio`. */
  provider: string;
  /** The provider's HTTP status; undefined when the request never got an answer. */
  providerStatus?: number;
  /** The provider's own error code, when its body carried one. */
  providerCode?: string | number;
  /** The provider's response body, as text, for diagnosis. */
  responseBody?: string;
  /**
   * The answer says the provider refused, whatever its status: an error in a 2xx body, as
   * CallerDesk sends. Makes the error a definite refusal (`isRetryable` false).
   */
  refused?: boolean;
  /**
   * When the provider said to come back (its 429's or 503's `Retry-After`), in seconds. Kept as
   * `readRetryAfterSeconds` reads one: rounded up, from 0 to a day; `NaN` is no wait given.
   */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * A provider's REST API (placing or ending a call) refused or failed a request.
 * `isRetryable` is false only for a definite refusal, where the provider did nothing: a 4xx other
 * than 408, 409 and 429, or an answer that says it refused (`refused`). Everything else is
 * ambiguous: network failures, 408, 409, 429, 5xx, and an answer below 400 that could not be read
 * or was not what was asked for (the provider may well have acted).
 */
export class ProviderApiError extends CallTrackError {
  private readonly [symbol] = true;
  readonly provider: string;
  readonly providerStatus: number | undefined;
  readonly providerCode: string | number | undefined;
  readonly responseBody: string | undefined;
  /**
   * The provider's `Retry-After`, in seconds, when it sent one: a whole number from 0 to 86,400,
   * fit to pass on as a header.
   */
  readonly retryAfterSeconds: number | undefined;
  readonly isRetryable: boolean;

  constructor(options: ProviderApiErrorOptions) {
    super({
      message: options.message,
      code: 'provider_api_error',
      status: 502,
      cause: options.cause,
    });
    this.name = name;
    this.provider = options.provider;
    this.providerStatus = options.providerStatus;
    this.providerCode = options.providerCode;
    this.responseBody = options.responseBody;
    // A custom call-control adapter may hand over anything (Infinity, -5, 1e21): the tracker
    // passes this on as its own Retry-After header.
    this.retryAfterSeconds = toRetryAfterSeconds(options.retryAfterSeconds);
    const status = options.providerStatus;
    const definiteRefusal =
      options.refused === true ||
      (status !== undefined &&
        status >= 400 &&
        status < 500 &&
        status !== 408 &&
        status !== 409 &&
        status !== 429);
    this.isRetryable = !definiteRefusal;
  }

  static override isInstance(error: unknown): error is ProviderApiError {
    return CallTrackError.hasMarker(error, marker);
  }
}

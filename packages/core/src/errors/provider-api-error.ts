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
  cause?: unknown;
}

/**
 * A provider's REST API (placing or ending a call) refused or failed a request.
 * `isRetryable` is true for network failures, 408, 409, 429 and 5xx answers.
 */
export class ProviderApiError extends CallTrackError {
  private readonly [symbol] = true;
  readonly provider: string;
  readonly providerStatus: number | undefined;
  readonly providerCode: string | number | undefined;
  readonly responseBody: string | undefined;
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
    const status = options.providerStatus;
    this.isRetryable =
      status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
  }

  static override isInstance(error: unknown): error is ProviderApiError {
    return CallTrackError.hasMarker(error, marker);
  }
}

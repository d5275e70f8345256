import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_ApiError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * The tracker's HTTP API refused or failed a request (`placeCall`, `terminateCall`, `getCall`,
 * `getAnalytics`), or gave no answer. `status` and `code` are the API's (`invalid_argument`,
 * `provider_refused`, `request_in_progress`…); `status` is 0 and `code` `network_error` when no
 * answer came back.
 */
export class CallTrackApiError extends CallTrackError {
  private readonly [symbol] = true;
  /**
   * For a provider's failure: true when the provider may have acted anyway (placed or ended the
   * call), false when it certainly did nothing. Undefined for other errors.
   */
  readonly retryable: boolean | undefined;
  /** The provider whose failure it was, when it was one. */
  readonly provider: string | undefined;

  constructor(options: {
    message: string;
    code: string;
    status: number;
    retryable?: boolean;
    provider?: string;
    cause?: unknown;
  }) {
    super({
      message: options.message,
      code: options.code,
      status: options.status,
      cause: options.cause,
    });
    this.name = name;
    this.retryable = options.retryable;
    this.provider = options.provider;
  }

  /** True when `error` is a {@link CallTrackApiError}, from any copy of this package. */
  static override isInstance(error: unknown): error is CallTrackApiError {
    return CallTrackError.hasMarker(error, marker);
  }
}

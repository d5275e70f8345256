import { toRetryAfterSeconds } from '../read-retry-after-seconds';
import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_RateLimitedError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A client address or tenant used up its request budget. Answered with 429 and a `Retry-After`
 * header (whole seconds, from 1 to a day).
 */
export class RateLimitedError extends CallTrackError {
  private readonly [symbol] = true;
  /**
   * Seconds until the budget allows another request, for the `Retry-After` header: the wait
   * given, rounded up, from 1 to 86,400 (`NaN` reads as 1).
   */
  readonly retryAfterSeconds: number;

  constructor({
    message,
    retryAfterSeconds,
    cause,
  }: {
    message: string;
    retryAfterSeconds: number;
    cause?: unknown;
  }) {
    super({ message, code: 'rate_limited', status: 429, cause });
    this.name = name;
    this.retryAfterSeconds = Math.max(1, toRetryAfterSeconds(retryAfterSeconds) ?? 1);
  }

  static override isInstance(error: unknown): error is RateLimitedError {
    return CallTrackError.hasMarker(error, marker);
  }
}

import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_RedisUnavailableError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * Redis could not be reached in time: the client is reconnecting, or ioredis gave the command up
 * (`Connection is closed.`, `Command timed out`, the offline queue off or flushed after
 * `maxRetriesPerRequest`). Answered 503 `redis_unavailable` with `Retry-After`. The operation was
 * not performed, or its outcome is unknown; a provider's retry of a webhook is safe either way.
 */
export class RedisUnavailableError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'redis_unavailable', status: 503, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is RedisUnavailableError {
    return CallTrackError.hasMarker(error, marker);
  }
}

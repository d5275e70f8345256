import { BusUnavailableError, RedisUnavailableError } from '@calltrack/core';
import { isRedisUnavailableError } from '@calltrack/core/internal';

/**
 * Whether `error` says Redis could not be reached (calltrack's 503s, or ioredis' connection
 * failures): an outage that is answered 503 with Retry-After and logged as one line, not a bug
 * logged with its stack (decision 65).
 */
export function isRedisOutage(error: unknown): boolean {
  return (
    isRedisUnavailableError(error) ||
    RedisUnavailableError.isInstance(error) ||
    BusUnavailableError.isInstance(error)
  );
}

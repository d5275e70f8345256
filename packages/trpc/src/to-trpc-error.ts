import { CallTrackError, RedisUnavailableError } from '@calltrack/core';
import { isRedisUnavailableError } from '@calltrack/core/internal';
import { type TRPC_ERROR_CODE_KEY, TRPCError } from '@trpc/server';

const codeByStatus: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * Turns what calltrack throws into a `TRPCError` with the matching code (a `CallTrackError`'s
 * HTTP status picks it: 401 → `UNAUTHORIZED`, 503 → `SERVICE_UNAVAILABLE`, which
 * `httpSubscriptionLink` retries, …). An ioredis connection failure (Redis could not be reached:
 * the bus's `position()`, a tracker read on a Redis store) is `SERVICE_UNAVAILABLE` too, as
 * calltrack's HTTP handlers answer it 503 `redis_unavailable`. A `TRPCError` passes through;
 * anything else becomes `INTERNAL_SERVER_ERROR` with the original as `cause`.
 */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (!CallTrackError.isInstance(error) && isRedisUnavailableError(error)) {
    const cause = new RedisUnavailableError({
      message: `Redis cannot be reached (${(error as Error).message.split('\n')[0]}). Try again later.`,
      cause: error,
    });
    return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: cause.message, cause });
  }
  if (CallTrackError.isInstance(error)) {
    return new TRPCError({
      code: codeByStatus[error.status] ?? 'INTERNAL_SERVER_ERROR',
      message: error.message,
      cause: error,
    });
  }
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error });
}

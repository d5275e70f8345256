import {
  BusUnavailableError,
  InvalidArgumentError,
  NotFoundError,
  UnauthorizedError,
} from '@calltrack/core';
import { TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';
import { toTRPCError } from './to-trpc-error';

describe('toTRPCError', () => {
  it('maps calltrack errors by their HTTP status', () => {
    expect(toTRPCError(new UnauthorizedError({ message: 'who?' }))).toMatchObject({
      code: 'UNAUTHORIZED',
      message: 'who?',
    });
    expect(toTRPCError(new InvalidArgumentError({ message: 'bad' })).code).toBe('BAD_REQUEST');
    expect(toTRPCError(new NotFoundError({ message: 'gone' })).code).toBe('NOT_FOUND');
    expect(toTRPCError(new BusUnavailableError({ message: 'down' })).code).toBe(
      'SERVICE_UNAVAILABLE',
    );
  });

  it('answers Redis that cannot be reached SERVICE_UNAVAILABLE, as the HTTP handlers answer it 503', () => {
    const offline = new Error("Stream isn't writeable and enableOfflineQueue options is false");
    const mapped = toTRPCError(offline);
    expect(mapped.code).toBe('SERVICE_UNAVAILABLE');
    expect(mapped.message).toBe(
      "Redis cannot be reached (Stream isn't writeable and enableOfflineQueue options is false). Try again later.",
    );
    expect((mapped.cause as { cause?: unknown }).cause).toBe(offline);
    const retries = Object.assign(new Error('Reached the max retries per request limit'), {
      name: 'MaxRetriesPerRequestError',
    });
    expect(toTRPCError(retries).code).toBe('SERVICE_UNAVAILABLE');
  });

  it('passes a TRPCError through and hides anything else behind INTERNAL_SERVER_ERROR', () => {
    const trpcError = new TRPCError({ code: 'FORBIDDEN' });
    expect(toTRPCError(trpcError)).toBe(trpcError);
    const cause = new Error('secret detail');
    const mapped = toTRPCError(cause);
    expect(mapped.code).toBe('INTERNAL_SERVER_ERROR');
    expect(mapped.cause).toBe(cause);
  });
});

import { TRPCError } from '@trpc/server';

/**
 * `UNAUTHORIZED` for a caller without credentials. It carries no stack trace: tRPC puts an
 * error's stack into the answer when `isDev` is on (its default outside production), and a
 * client that is not even signed in has no business reading the server's call stack.
 */
export function unauthorizedError(message: string): TRPCError {
  const error = new TRPCError({ code: 'UNAUTHORIZED', message });
  error.stack = undefined;
  return error;
}

import { type Authenticate, type Principal, principalSchema } from '@calltrack/core';
import { TRPCError } from '@trpc/server';
import { toTRPCError } from './to-trpc-error';
import { unauthorizedError } from './unauthorized-error';

/**
 * The principal of the request, from `authenticate(ctx)`. Throws `UNAUTHORIZED` (without a stack
 * trace, whatever `isDev` says) when there is none, maps a `CallTrackError` thrown by
 * `authenticate`, and throws `INTERNAL_SERVER_ERROR` for something that is not a valid
 * `Principal` (a bug in the app, not the caller's fault).
 */
export async function resolvePrincipal<TContext>(
  authenticate: Authenticate<TContext>,
  ctx: TContext,
): Promise<Principal> {
  let principal: Principal | null | undefined;
  try {
    principal = await authenticate(ctx);
  } catch (error) {
    throw toTRPCError(error);
  }
  if (principal == null) throw unauthorizedError('Sign in first.');
  const checked = principalSchema.safeParse(principal);
  if (!checked.success) {
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'authenticate returned an invalid principal.',
      cause: checked.error,
    });
  }
  return principal;
}

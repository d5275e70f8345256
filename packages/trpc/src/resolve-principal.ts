import { type Principal, principalSchema } from '@calltrack/core';
import { TRPCError } from '@trpc/server';
import { toTRPCError } from './to-trpc-error';
import { unauthorizedError } from './unauthorized-error';

/**
 * Reads who is calling from a request's context: core's `Principal` (a session, a verified
 * token…), or null / undefined when nobody is signed in. See
 * `CallTrackProceduresOptions.getPrincipal`.
 */
export type GetPrincipal<TContext> = (
  ctx: TContext,
) => Principal | null | undefined | Promise<Principal | null | undefined>;

/**
 * The principal of the request, from `getPrincipal(ctx)`. Throws `UNAUTHORIZED` (without a stack
 * trace, whatever `isDev` says) when there is none, maps a `CallTrackError` thrown by
 * `getPrincipal`, and throws `INTERNAL_SERVER_ERROR` for something that is not a valid
 * `Principal` (a bug in the app, not the caller's fault).
 */
export async function resolvePrincipal<TContext>(
  getPrincipal: GetPrincipal<TContext>,
  ctx: TContext,
): Promise<Principal> {
  let principal: Principal | null | undefined;
  try {
    principal = await getPrincipal(ctx);
  } catch (error) {
    throw toTRPCError(error);
  }
  if (principal == null) throw unauthorizedError('Sign in first.');
  const checked = principalSchema.safeParse(principal);
  if (!checked.success) {
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'getPrincipal returned an invalid principal.',
      cause: checked.error,
    });
  }
  return principal;
}

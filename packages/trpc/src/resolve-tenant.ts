import { tenantIdSchema } from '@calltrack/core';
import { TRPCError } from '@trpc/server';
import { toTRPCError } from './to-trpc-error';

/** Reads the tenant of a request from its context; see `CallTrackProceduresOptions.getTenant`. */
export type GetTenant<TContext> = (
  ctx: TContext,
) => string | null | undefined | Promise<string | null | undefined>;

/**
 * The tenant of the request, from `getTenant(ctx)`. Throws `TRPCError` `UNAUTHORIZED` when there
 * is none (or it is not a valid tenant id), and maps a `CallTrackError` thrown by `getTenant`.
 */
export async function resolveTenant<TContext>(
  getTenant: GetTenant<TContext>,
  ctx: TContext,
): Promise<string> {
  let tenantId: string | null | undefined;
  try {
    tenantId = await getTenant(ctx);
  } catch (error) {
    throw toTRPCError(error);
  }
  if (tenantId == null || tenantId === '') {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'No tenant: sign in first.' });
  }
  if (!tenantIdSchema.safeParse(tenantId).success) {
    throw new TRPCError({
      code: 'UNAUTHORIZED',
      message: 'getTenant returned an invalid tenant id.',
    });
  }
  return tenantId;
}

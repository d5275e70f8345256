import type { EventBus } from '@calltrack/bus';
import { InvalidArgumentError } from '@calltrack/core';
import type { AnyTRPCRootTypes, TRPCRouterBuilder } from '@trpc/server';
import {
  type ActiveCallsSource,
  type CallTrackBaseProcedure,
  type CallTrackProcedures,
  createCallTrackProcedures,
} from './create-call-track-procedures';
import type { GetTenant } from './resolve-tenant';

/** Options of {@link createCallTrackRouter}. */
export interface CallTrackRouterOptions<
  TRoot extends AnyTRPCRootTypes,
  TTracker extends ActiveCallsSource | undefined,
> {
  /** Your tRPC instance: `initTRPC.context<Context>().create()`. */
  t: {
    procedure: CallTrackBaseProcedure<TRoot['ctx'], TRoot['meta'], object>;
    router: TRPCRouterBuilder<TRoot>;
  };
  /** The bus to read events from (memory or Redis). Never closed by the router. */
  bus: EventBus;
  /** The tracker behind the `activeCalls` query; without one, there is no such query. */
  tracker?: TTracker;
  /**
   * The tenant of a request, from your context. Return null or undefined when there is none:
   * the call fails with `UNAUTHORIZED`. The tenant never comes from the input.
   */
  getTenant: GetTenant<TRoot['ctx']>;
}

/**
 * A router with calltrack's procedures (`onCallEvent`, and `activeCalls` with a tracker; see
 * `createCallTrackProcedures`), built with your own `t`. Merge it under a key:
 *
 * ```ts
 * const appRouter = t.router({
 *   calltrack: createCallTrackRouter({ t, bus, tracker, getTenant: (ctx) => ctx.session?.tenantId }),
 * });
 * ```
 *
 * To build on an authenticated base procedure instead of `t.procedure`, use
 * `createCallTrackProcedures`.
 */
export function createCallTrackRouter<
  TRoot extends AnyTRPCRootTypes,
  TTracker extends ActiveCallsSource | undefined = undefined,
>(options: CallTrackRouterOptions<TRoot, TTracker>) {
  if (options == null || typeof options !== 'object' || options.t == null) {
    throw new InvalidArgumentError({
      message: 'createCallTrackRouter needs { t, bus, getTenant }.',
    });
  }
  const { t, bus, tracker, getTenant } = options;
  const procedures: CallTrackProcedures<TRoot['ctx'], TRoot['meta'], object, TTracker> =
    createCallTrackProcedures<TRoot['ctx'], TRoot['meta'], object, TTracker>({
      procedure: t.procedure,
      bus,
      tracker,
      getTenant,
    });
  return t.router(procedures);
}

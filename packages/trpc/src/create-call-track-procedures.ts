import type { EventBus } from '@calltrack/bus';
import { InvalidArgumentError } from '@calltrack/core';
import type { CallTracker, TrackedCall } from '@calltrack/tracker';
import type { TRPCProcedureBuilder, TRPCUnsetMarker } from '@trpc/server';
import { activeCallsInputSchema } from './active-calls-input';
import { onCallEventInputSchema } from './on-call-event-input';
import { type GetTenant, resolveTenant } from './resolve-tenant';
import { streamCallEvents } from './stream-call-events';
import { toTRPCError } from './to-trpc-error';

/**
 * A procedure builder with no input, output or resolver yet: `t.procedure`, or your own
 * authenticated base procedure (`t.procedure.use(isAuthed)`), whose context `getTenant` then sees.
 */
export type CallTrackBaseProcedure<TContext, TMeta, TContextOverrides> = TRPCProcedureBuilder<
  TContext,
  TMeta,
  TContextOverrides,
  TRPCUnsetMarker,
  TRPCUnsetMarker,
  TRPCUnsetMarker,
  TRPCUnsetMarker,
  false
>;

/** What the `activeCalls` query needs from a tracker (a `CallTracker` fits). */
export type ActiveCallsSource = Pick<CallTracker, 'listActiveCalls'>;

/** The context a resolver of `procedure` sees: the base context with the middleware additions. */
export type CallTrackProcedureContext<TContext, TContextOverrides> = Omit<
  TContext,
  keyof TContextOverrides
> &
  TContextOverrides;

/** Options of {@link createCallTrackProcedures}. */
export interface CallTrackProceduresOptions<
  TContext,
  TMeta,
  TContextOverrides,
  TTracker extends ActiveCallsSource | undefined,
> {
  /** The procedure to build on: `t.procedure` or an authenticated base procedure of yours. */
  procedure: CallTrackBaseProcedure<TContext, TMeta, TContextOverrides>;
  /** The bus to read events from (memory or Redis). Never closed by these procedures. */
  bus: EventBus;
  /** The tracker behind the `activeCalls` query; without one, there is no such query. */
  tracker?: TTracker;
  /**
   * The tenant of a request, from its context (a session, a verified token…). Return null or
   * undefined when there is none: the call fails with `UNAUTHORIZED`. The tenant never comes
   * from the input. Throw a `CallTrackError` (or a `TRPCError`) to fail with its code.
   */
  getTenant: GetTenant<CallTrackProcedureContext<TContext, TContextOverrides>>;
}

function buildProcedures<TContext, TMeta, TContextOverrides>(
  procedure: CallTrackBaseProcedure<TContext, TMeta, TContextOverrides>,
  bus: EventBus,
  tracker: ActiveCallsSource | undefined,
  getTenant: GetTenant<CallTrackProcedureContext<TContext, TContextOverrides>>,
) {
  const tenantOf = (ctx: unknown): Promise<string> =>
    resolveTenant(getTenant, ctx as CallTrackProcedureContext<TContext, TContextOverrides>);

  const onCallEvent = procedure
    .input(onCallEventInputSchema)
    .subscription(async ({ ctx, input, signal }) => {
      const tenantId = await tenantOf(ctx);
      return streamCallEvents({
        bus,
        tenantId,
        callId: input?.callId,
        types: input?.types,
        lastEventId: input?.lastEventId,
        signal,
      });
    });

  const activeCalls = procedure
    .input(activeCallsInputSchema)
    .query(async ({ ctx, input }): Promise<TrackedCall[]> => {
      const tenantId = await tenantOf(ctx);
      if (!tracker) throw toTRPCError(new Error('activeCalls needs a tracker.'));
      try {
        return await tracker.listActiveCalls(tenantId, {
          branchId: input?.branchId,
          limit: input?.limit,
        });
      } catch (error) {
        throw toTRPCError(error);
      }
    });

  return { onCallEvent, activeCalls };
}

/** Every procedure calltrack builds (`onCallEvent`, and `activeCalls` when given a tracker). */
export type AllCallTrackProcedures<TContext, TMeta, TContextOverrides> = ReturnType<
  typeof buildProcedures<TContext, TMeta, TContextOverrides>
>;

/**
 * The procedures {@link createCallTrackProcedures} makes: `onCallEvent`, plus `activeCalls` when
 * a tracker was given.
 */
export type CallTrackProcedures<
  TContext,
  TMeta,
  TContextOverrides,
  TTracker extends ActiveCallsSource | undefined,
> = TTracker extends ActiveCallsSource
  ? AllCallTrackProcedures<TContext, TMeta, TContextOverrides>
  : Pick<AllCallTrackProcedures<TContext, TMeta, TContextOverrides>, 'onCallEvent'>;

/**
 * Makes calltrack's tRPC procedures on your own procedure builder, so your context and meta
 * types flow through. Put them in your router as they are (`t.router({ ...procedures })`) or
 * under a key (`calltrack: t.router(procedures)`):
 *
 * - `onCallEvent` — subscription, input `{ callId?, types?, lastEventId? }`. Yields
 *   `tracked(cursor, CallStreamMessage)`: `{ type: 'event', event }` for each event of the
 *   request's tenant, in order, and `{ type: 'reset', reason }` when missed events cannot be
 *   replayed (reload your state). Resumes after `lastEventId`, which `httpSubscriptionLink`
 *   sends by itself on reconnect. A subscriber that falls behind gets `SERVICE_UNAVAILABLE`,
 *   which the link retries: it reconnects and resumes. The request's abort signal ends the bus
 *   subscription.
 * - `activeCalls` — query (only with `tracker`), input `{ branchId?, limit? }`: the tenant's
 *   active calls, newest first.
 *
 * Both take the tenant from `getTenant(ctx)` and fail with `UNAUTHORIZED` without one.
 */
export function createCallTrackProcedures<
  TContext,
  TMeta,
  TContextOverrides,
  TTracker extends ActiveCallsSource | undefined = undefined,
>(
  options: CallTrackProceduresOptions<TContext, TMeta, TContextOverrides, TTracker>,
): CallTrackProcedures<TContext, TMeta, TContextOverrides, TTracker> {
  if (options == null || typeof options !== 'object') {
    throw new InvalidArgumentError({
      message: 'createCallTrackProcedures needs { procedure, bus, getTenant }.',
    });
  }
  const { procedure, bus, tracker, getTenant } = options;
  if (procedure == null || typeof procedure.input !== 'function') {
    throw new InvalidArgumentError({
      message: 'createCallTrackProcedures needs procedure: t.procedure or a procedure of yours.',
    });
  }
  if (bus == null || typeof bus.subscribe !== 'function') {
    throw new InvalidArgumentError({ message: 'createCallTrackProcedures needs a bus.' });
  }
  if (typeof getTenant !== 'function') {
    throw new InvalidArgumentError({
      message: 'createCallTrackProcedures needs getTenant(ctx): the tenant comes from it.',
    });
  }
  if (tracker != null && typeof tracker.listActiveCalls !== 'function') {
    throw new InvalidArgumentError({
      message: 'createCallTrackProcedures: tracker must have listActiveCalls().',
    });
  }
  const { onCallEvent, activeCalls } = buildProcedures(procedure, bus, tracker, getTenant);
  return (tracker ? { onCallEvent, activeCalls } : { onCallEvent }) as CallTrackProcedures<
    TContext,
    TMeta,
    TContextOverrides,
    TTracker
  >;
}

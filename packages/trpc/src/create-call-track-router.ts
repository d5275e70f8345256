import type { EventBus } from '@calltrack/bus';
import { type Authenticate, type ConnectionPresence, InvalidArgumentError } from '@calltrack/core';
import { checkTimerDelayMs } from '@calltrack/core/internal';
import type { AnyTRPCRootTypes, TRPCRouterBuilder } from '@trpc/server';
import type { CallStreamErrorInfo } from './call-stream-error-info';
import {
  type ActiveCallsSource,
  type CallTrackBaseProcedure,
  type CallTrackProcedures,
  createCallTrackProcedures,
} from './create-call-track-procedures';
import { createOriginCheck, type RequestWithHeaders } from './create-origin-check';
import { presenceSnapshotLimitOf } from './presence-snapshot-limit';

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
  /**
   * The bus to read events from (memory or Redis). Never closed by the router. With `position`
   * (both built-in buses have it), `ready` carries a real cursor.
   */
  bus: Pick<EventBus, 'subscribe' | 'position'>;
  /**
   * The tracker behind the `activeCalls` and `activeCallsSnapshot` queries; without one, there
   * are no such queries.
   */
  tracker?: TTracker;
  /**
   * Who is calling, from your context: core's `Principal` (`allTenants: true` for super-admin
   * views), or null / undefined when nobody is signed in (the call fails with `UNAUTHORIZED`).
   * The tenant never comes from the input.
   */
  authenticate: Authenticate<TRoot['ctx']>;
  /** Events a subscription had to skip; see `CallTrackProceduresOptions.onError`. */
  onError?: (error: Error, info: CallStreamErrorInfo) => void;
  /** Presence for the subscribers; see `CallTrackProceduresOptions.presence`. */
  presence?: ConnectionPresence;
  /** See `CallTrackProceduresOptions.presenceHeartbeatMs`. */
  presenceHeartbeatMs?: number;
  /** Most users in a members snapshot; see `CallTrackProceduresOptions.presenceSnapshotLimit`. */
  presenceSnapshotLimit?: number;
  /**
   * The longest `onCallEvent` waits for the bus before `SERVICE_UNAVAILABLE` (Redis down); see
   * `CallTrackProceduresOptions.attachTimeoutMs`. Default 10,000 ms.
   */
  attachTimeoutMs?: number;
  /**
   * The only origins whose pages may open `onCallEvent` (a session cookie authenticates?
   * set it); a foreign or `null` `Origin`, or none with `Sec-Fetch-Site` `cross-site` or
   * `same-site`, fails with `FORBIDDEN` before `authenticate`. Needs
   * `requestOf`. See `CallTrackProceduresOptions.allowedOrigins`.
   */
  allowedOrigins?: readonly string[];
  /** The request of a context, `(ctx) => ctx.req`; see `CallTrackProceduresOptions.requestOf`. */
  requestOf?: (ctx: TRoot['ctx']) => RequestWithHeaders | null | undefined;
}

/**
 * A router with calltrack's procedures (`onCallEvent`, and `activeCalls` and
 * `activeCallsSnapshot` with a tracker; see
 * `createCallTrackProcedures`), built with your own `t`. Merge it under a key:
 *
 * ```ts
 * const appRouter = t.router({
 *   calltrack: createCallTrackRouter({ t, bus, tracker, authenticate: (ctx) => ctx.session }),
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
      message: 'createCallTrackRouter needs { t, bus, authenticate }.',
    });
  }
  const { t, bus, tracker, authenticate, onError, presence, presenceHeartbeatMs } = options;
  const { presenceSnapshotLimit, attachTimeoutMs } = options;
  const { allowedOrigins, requestOf } = options;
  // Checked here too, so that a mistake names the function the app called.
  createOriginCheck('createCallTrackRouter', allowedOrigins, requestOf);
  presenceSnapshotLimitOf('createCallTrackRouter', presenceSnapshotLimit);
  checkTimerDelayMs('createCallTrackRouter', 'attachTimeoutMs', attachTimeoutMs ?? undefined, 0);
  const procedures: CallTrackProcedures<TRoot['ctx'], TRoot['meta'], object, TTracker> =
    createCallTrackProcedures<TRoot['ctx'], TRoot['meta'], object, TTracker>({
      procedure: t.procedure,
      bus,
      tracker,
      authenticate,
      ...(onError === undefined ? {} : { onError }),
      ...(presence === undefined ? {} : { presence }),
      ...(presenceHeartbeatMs === undefined ? {} : { presenceHeartbeatMs }),
      ...(presenceSnapshotLimit === undefined ? {} : { presenceSnapshotLimit }),
      ...(attachTimeoutMs == null ? {} : { attachTimeoutMs }),
      ...(allowedOrigins === undefined ? {} : { allowedOrigins }),
      ...(requestOf === undefined ? {} : { requestOf }),
    });
  return t.router(procedures);
}

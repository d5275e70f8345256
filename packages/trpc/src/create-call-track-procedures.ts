import type { EventBus } from '@calltrack/bus';
import type {
  ActiveCallsReader,
  Authenticate,
  CallSnapshot,
  ConnectionPresence,
  Principal,
} from '@calltrack/core';
import { InvalidArgumentError } from '@calltrack/core';
import { checkTimerDelayMs, toError } from '@calltrack/core/internal';
import type { TRPCProcedureBuilder, TRPCUnsetMarker } from '@trpc/server';
import { type ActiveCallsInput, activeCallsInputSchema } from './active-calls-input';
import type { CallStreamErrorInfo } from './call-stream-error-info';
import { createOriginCheck, type RequestWithHeaders } from './create-origin-check';
import { onCallEventInputSchema } from './on-call-event-input';
import { createPresenceHeartbeats, type PresenceHeartbeats } from './presence-heartbeats';
import { presenceSnapshotLimitOf } from './presence-snapshot-limit';
import { type ActiveCallsSnapshot, readActiveCalls } from './read-active-calls';
import { resolvePrincipal } from './resolve-principal';
import { streamCallEvents } from './stream-call-events';
import { toTRPCError } from './to-trpc-error';

/**
 * A procedure builder with no input, output or resolver yet: `t.procedure`, or your own
 * authenticated base procedure (`t.procedure.use(isAuthed)`), whose context `authenticate` then
 * sees.
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

/**
 * What the `activeCalls` and `activeCallsSnapshot` queries need: two methods of core's
 * `ActiveCallsReader` (a `CallTracker` from `@calltrack/tracker` fits;
 * `listActiveCallsAcrossTenants` serves all-tenants principals).
 */
export type ActiveCallsSource = Pick<
  ActiveCallsReader,
  'listActiveCalls' | 'listActiveCallsAcrossTenants'
>;

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
  /**
   * The bus to read events from (memory or Redis). Never closed by these procedures. With
   * `position` (both built-in buses have it), `ready` carries a real cursor.
   */
  bus: Pick<EventBus, 'subscribe' | 'position'>;
  /**
   * The tracker behind the `activeCalls` and `activeCallsSnapshot` queries; without one, there
   * are no such queries.
   */
  tracker?: TTracker;
  /**
   * Presence (`createPresence()` from `@calltrack/presence`, or any `ConnectionPresence`): each
   * `onCallEvent` subscriber whose principal has a `userId` is registered once its subscription
   * is attached, heartbeats every `presenceHeartbeatMs`, and disconnects when the subscription
   * ends (a refusal, such as too many connections, fails the call with its code:
   * `TOO_MANY_REQUESTS`). A subscription that takes `presence.*` gets `{ type: 'presence',
   * members, complete }` after `ready` and after each `reset`: its tenant's members, or every
   * tenant's for an all-tenants subscriber (with `listMembersAcrossTenants`, which
   * `createPresence()` has; without it, `{ type: 'presence-unavailable' }`). At most
   * `presenceSnapshotLimit` (1,000) members, `complete: false` past them.
   */
  presence?: ConnectionPresence;
  /**
   * Most users in a `{ type: 'presence' }` members snapshot (1–10,000, what `createPresence()`
   * lists at once), of the tenant, or of every tenant together for an all-tenants subscriber
   * (tenant after tenant, each by user id); `complete` says whether more were connected, and the
   * users left out come with their next `presence.*` event. At 10,000 a list that fills the
   * limit counts as cut. The same option as the SSE handler's and Socket.IO's
   * `attachCallTrack`'s. Default 1,000.
   */
  presenceSnapshotLimit?: number;
  /**
   * How often subscribers' presence registrations heartbeat (one shared timer). Default 25,000
   * (presence's default interval); 0 leaves it to presence's own timer (`autoHeartbeat`).
   */
  presenceHeartbeatMs?: number;
  /**
   * The longest an `onCallEvent` subscription waits for its bus subscription (and, with
   * `presence`, its registration) before it fails with `SERVICE_UNAVAILABLE`, fresh or resumed
   * (`lastEventId`): while Redis is down a bus subscription cannot start, and without a bound the
   * request would wait until Redis came back. `httpSubscriptionLink` retries that code, so the
   * client comes back and resumes once Redis is back. The same name and default as the SSE
   * handler's and Socket.IO's `attachCallTrack`'s. Default 10,000 ms.
   */
  attachTimeoutMs?: number;
  /**
   * Who is calling, from the request's context (a session, a verified token…): core's
   * `Principal`. Its `tenantId` is whose events and calls the caller gets; `allTenants: true`
   * gives every tenant's (super-admin views). Return null or undefined when nobody is signed
   * in: the call fails with `UNAUTHORIZED`. The tenant never comes from the input. Throw a
   * `CallTrackError` (or a `TRPCError`) to fail with its code.
   */
  authenticate: Authenticate<CallTrackProcedureContext<TContext, TContextOverrides>>;
  /**
   * An event a subscription had to skip (it could not be serialized: `info.skipped`), reported
   * once per event however many subscribers skip it; they get a `reset` instead and later events
   * keep flowing. Errors that end a call go to your tRPC adapter's `onError`, as usual. A thrown
   * value that is not an `Error` arrives wrapped in one (its `cause`). Default: `console.error`.
   */
  onError?: (error: Error, info: CallStreamErrorInfo) => void;
  /**
   * The only origins (`https://app.example`) whose pages may open `onCallEvent`: a request whose
   * `Origin` header names another (or is `null`) fails with `FORBIDDEN` before `authenticate`
   * runs, so nothing is subscribed, registered with presence or read. Set it when a session
   * cookie authenticates: a page of another origin that opens the subscription with the user's
   * cookies (an `EventSource` `withCredentials`, `SameSite=None` cookies or `Lax` ones from
   * another origin of the same site) cannot read the stream (CORS), but the server would still
   * open it and the user would flap online and offline. A request without `Origin` (an image or
   * a `no-cors` fetch of another page sends none) is refused too when its `Sec-Fetch-Site` is
   * `cross-site` or `same-site`; it goes on with `same-origin` (your own page's `EventSource`),
   * `none`, or no `Sec-Fetch-Site` (not a browser). The rule of SSE's and Socket.IO's option. Needs
   * `requestOf`. Entries are normalized as browsers send origins; one that is not an origin is
   * an `InvalidArgumentError` when the procedures are made. Queries are not checked (CORS keeps
   * their answers from other origins). Default: every origin.
   */
  allowedOrigins?: readonly string[];
  /**
   * The request a context was made for, whose `Origin` and `Sec-Fetch-Site` `allowedOrigins`
   * reads: put it into your
   * context in `createContext` (`({ req }) => ({ req, … })`, or `req` from your fetch handler)
   * and return it here, `(ctx) => ctx.req`. A Fetch `Request` or a Node `IncomingMessage`.
   * Returning nothing fails the subscription with `INTERNAL_SERVER_ERROR` rather than letting
   * every origin through.
   */
  requestOf?: (
    ctx: CallTrackProcedureContext<TContext, TContextOverrides>,
  ) => RequestWithHeaders | null | undefined;
}

function buildProcedures<TContext, TMeta, TContextOverrides>(
  procedure: CallTrackBaseProcedure<TContext, TMeta, TContextOverrides>,
  bus: Pick<EventBus, 'subscribe' | 'position'>,
  tracker: ActiveCallsSource | undefined,
  authenticate: Authenticate<CallTrackProcedureContext<TContext, TContextOverrides>>,
  onError: (error: Error, info: CallStreamErrorInfo) => void,
  presence: ConnectionPresence | undefined,
  presenceSnapshotLimit: number,
  heartbeats: PresenceHeartbeats | undefined,
  attachTimeoutMs: number,
  checkOrigin: ((ctx: CallTrackProcedureContext<TContext, TContextOverrides>) => void) | undefined,
) {
  const principalOf = (ctx: unknown): Promise<Principal> =>
    resolvePrincipal(authenticate, ctx as CallTrackProcedureContext<TContext, TContextOverrides>);

  const onCallEvent = procedure
    .input(onCallEventInputSchema)
    .subscription(async ({ ctx, input, signal }) => {
      // Before anything else: a foreign page's request costs no authentication, no subscription.
      checkOrigin?.(ctx as CallTrackProcedureContext<TContext, TContextOverrides>);
      const principal = await principalOf(ctx);
      return streamCallEvents({
        bus,
        principal,
        callId: input?.callId,
        types: input?.types,
        lastEventId: input?.lastEventId,
        signal,
        onError,
        attachTimeoutMs,
        ...(presence === undefined ? {} : { presence, presenceSnapshotLimit }),
        ...(heartbeats === undefined ? {} : { heartbeats }),
      });
    });

  const readCalls = async (ctx: unknown, input: ActiveCallsInput): Promise<ActiveCallsSnapshot> => {
    const principal = await principalOf(ctx);
    if (!tracker) throw toTRPCError(new Error('activeCalls needs a tracker.'));
    try {
      return await readActiveCalls(tracker, principal, input);
    } catch (error) {
      throw toTRPCError(error);
    }
  };

  const activeCalls = procedure
    .input(activeCallsInputSchema)
    .query(async ({ ctx, input }): Promise<CallSnapshot[]> => (await readCalls(ctx, input)).calls);

  const activeCallsSnapshot = procedure
    .input(activeCallsInputSchema)
    .query(({ ctx, input }): Promise<ActiveCallsSnapshot> => readCalls(ctx, input));

  return { onCallEvent, activeCalls, activeCallsSnapshot };
}

/**
 * Reports each skipped event once: a subscription that cannot serialize an event throws the same
 * error object for it to every subscriber (see `toWireEvent`).
 */
function reportOncePerError(
  onError: (error: Error, info: CallStreamErrorInfo) => void,
): (error: Error, info: CallStreamErrorInfo) => void {
  const reported = new WeakSet<object>();
  return (error, info) => {
    if (typeof error === 'object' && error !== null) {
      if (reported.has(error)) return;
      reported.add(error);
    }
    onError(error, info);
  };
}

/**
 * Every procedure calltrack builds (`onCallEvent`, and `activeCalls` and `activeCallsSnapshot`
 * when given a tracker).
 */
export type AllCallTrackProcedures<TContext, TMeta, TContextOverrides> = ReturnType<
  typeof buildProcedures<TContext, TMeta, TContextOverrides>
>;

/**
 * The procedures {@link createCallTrackProcedures} makes: `onCallEvent`, plus `activeCalls` and
 * `activeCallsSnapshot` when a tracker was given.
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
 * - `activeCalls` — query (only with `tracker`), input `{ branchId?, limit? }` (`limit` 1–10,000,
 *   default 1,000): the tenant's active calls, newest first, at most `limit`.
 * - `activeCallsSnapshot` — query (only with `tracker`), the same input: `{ calls, complete }`
 *   (`ActiveCallsSnapshot`), the calls of `activeCalls` and whether they are every active call
 *   asked for (`complete` is false when the limit left some out). What a client that replaces
 *   its state with the list should load: a call a complete list does not hold is not active.
 *
 * All take the caller from `authenticate(ctx)` and fail with `UNAUTHORIZED` without one (a
 * principal with `allTenants` gets every tenant's events and active calls).
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
      message: 'createCallTrackProcedures needs { procedure, bus, authenticate }.',
    });
  }
  const { procedure, bus, tracker, authenticate, onError } = options;
  const presence = options.presence ?? undefined;
  if (procedure == null || typeof procedure.input !== 'function') {
    throw new InvalidArgumentError({
      message: 'createCallTrackProcedures needs procedure: t.procedure or a procedure of yours.',
    });
  }
  if (bus == null || typeof bus.subscribe !== 'function') {
    throw new InvalidArgumentError({ message: 'createCallTrackProcedures needs a bus.' });
  }
  if (typeof authenticate !== 'function') {
    throw new InvalidArgumentError({
      message: 'createCallTrackProcedures needs authenticate(ctx): the caller comes from it.',
    });
  }
  if (
    tracker != null &&
    (typeof tracker.listActiveCalls !== 'function' ||
      typeof tracker.listActiveCallsAcrossTenants !== 'function')
  ) {
    throw new InvalidArgumentError({
      message:
        'createCallTrackProcedures: tracker must have listActiveCalls() and listActiveCallsAcrossTenants().',
    });
  }
  if (onError !== undefined && typeof onError !== 'function') {
    throw new InvalidArgumentError({
      message: 'createCallTrackProcedures: onError must be a function.',
    });
  }
  if (
    presence !== undefined &&
    (typeof presence.connect !== 'function' || typeof presence.listMembers !== 'function')
  ) {
    throw new InvalidArgumentError({
      message:
        'createCallTrackProcedures: presence must have connect() and listMembers() (createPresence()).',
    });
  }
  const checkOrigin = createOriginCheck(
    'createCallTrackProcedures',
    options.allowedOrigins,
    options.requestOf,
  );
  const heartbeatMs = checkTimerDelayMs(
    'createCallTrackProcedures',
    'presenceHeartbeatMs',
    options.presenceHeartbeatMs ?? undefined,
    25_000,
    0,
  );
  const presenceSnapshotLimit = presenceSnapshotLimitOf(
    'createCallTrackProcedures',
    options.presenceSnapshotLimit,
  );
  const attachTimeoutMs = checkTimerDelayMs(
    'createCallTrackProcedures',
    'attachTimeoutMs',
    options.attachTimeoutMs ?? undefined,
    10_000,
  );
  const report = reportOncePerError(
    onError ??
      ((error: unknown) => {
        console.error('calltrack trpc:', error);
      }),
  );
  const heartbeats =
    presence !== undefined && heartbeatMs > 0
      ? createPresenceHeartbeats(heartbeatMs, (error) => report(toError(error), {}))
      : undefined;
  const { onCallEvent, activeCalls, activeCallsSnapshot } = buildProcedures(
    procedure,
    bus,
    tracker,
    authenticate,
    report,
    presence,
    presenceSnapshotLimit,
    heartbeats,
    attachTimeoutMs,
    checkOrigin,
  );
  return (
    tracker ? { onCallEvent, activeCalls, activeCallsSnapshot } : { onCallEvent }
  ) as CallTrackProcedures<TContext, TMeta, TContextOverrides, TTracker>;
}

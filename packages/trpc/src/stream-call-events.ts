import { randomUUID } from 'node:crypto';
import type { BusEventMessage, BusSubscription, EventBus } from '@calltrack/bus';
import {
  type ConnectionPresence,
  isEventForPrincipal,
  type PresenceRegistration,
  type Principal,
} from '@calltrack/core';
import {
  attachedWithin,
  listsMembersAcrossTenants,
  readPresenceMembers,
  toError,
} from '@calltrack/core/internal';
import { TRPCError, type TrackedEnvelope, tracked } from '@trpc/server';
import type { CallStreamErrorInfo } from './call-stream-error-info';
import { type CallStreamMessage, callStreamStartId } from './call-stream-message';
import { describeSkippedEvent } from './describe-skipped-event';
import type { PresenceHeartbeats } from './presence-heartbeats';
import { toTRPCError } from './to-trpc-error';
import { toWireEvent } from './to-wire-event';

/** How long a subscription waits for the bus by default: the SSE handler's and Socket.IO's. */
const defaultAttachTimeoutMs = 10_000;

/** Options of {@link streamCallEvents}. */
export interface StreamCallEventsOptions {
  /**
   * Where events come from. With `position` (both built-in buses have it), a fresh
   * subscription starts from the tenant's position and `ready` carries it as its id, so a
   * client that drops before its first event resumes with a replay; without, `ready` carries
   * {@link callStreamStartId} and such a client reloads.
   */
  bus: Pick<EventBus, 'subscribe' | 'position'>;
  /**
   * Who subscribes, from the request's context (never from the input): the events of
   * `principal.tenantId`, or of every tenant when `principal.allTenants` is true.
   */
  principal: Principal;
  callId?: string;
  types?: readonly string[];
  /** The cursor to resume after (the client's last tracked id). */
  lastEventId?: string;
  /**
   * Presence: a subscriber with a `userId` is registered once the subscription is attached and
   * disconnected when it ends; a subscription that takes `presence.*` gets the members
   * (`{ type: 'presence' }`: its tenant's, or every tenant's for an all-tenants subscriber when
   * presence has `listMembersAcrossTenants`) after `ready` and after each `reset`.
   */
  presence?: ConnectionPresence;
  /** Where the registration heartbeats; without it, presence's own timer must (`autoHeartbeat`). */
  heartbeats?: PresenceHeartbeats;
  /** Most users in a `{ type: 'presence' }` members snapshot (checked by the caller). Default 1,000. */
  presenceSnapshotLimit?: number;
  /**
   * The longest the subscription waits for its bus subscription to be attached (and presence to
   * register it) before it fails with `SERVICE_UNAVAILABLE`, which `httpSubscriptionLink`
   * retries: while Redis is down a bus subscription cannot start, and without a bound the request
   * would wait until Redis came back, fresh or resumed. Checked by the caller. Default 10,000 ms.
   */
  attachTimeoutMs?: number;
  /** The request's signal: aborting it ends the bus subscription and the generator. */
  signal?: AbortSignal;
  /**
   * An event that cannot be serialized is skipped and handed here (with `info.skipped`); the
   * subscriber gets a `reset` instead. Default: ignored.
   */
  onError?: (error: Error, info: CallStreamErrorInfo) => void;
}

/**
 * Subscribes to the bus for one subscriber and resolves once live delivery is attached, so the
 * client is told it is connected (tRPC's `connected` event, `onStarted`) only when every event
 * published from then on reaches it. The result yields `tracked(cursor, message)` for each
 * event. A fresh subscription (no `lastEventId`) starts with a tracked `ready`: with the bus's
 * `position`, its id is the tenant's cursor the subscription starts after, so a client that
 * comes back with it gets exactly what it missed. A tracked `reset` says the client must reload
 * (also when it comes back with {@link callStreamStartId}, the `ready` id of a bus without
 * `position`, and whenever an all-tenants subscriber comes back: cursors are per tenant).
 *
 * An event that cannot be serialized is skipped and reported to `onError`; the subscriber gets a
 * `reset` (`event-skipped`) whose id is the event's cursor, so it reloads and a resume starts
 * after that event, and later events keep flowing. It throws `SERVICE_UNAVAILABLE` when the
 * subscriber lagged behind or the bus closed, and when the bus subscription was not attached
 * within `attachTimeoutMs` (Redis down): `httpSubscriptionLink` retries that code, and its
 * `EventSource` reconnects with the last id it received, so the stream resumes from history. The
 * bus subscription always ends with the generator (abort, `return()`, error).
 */
export async function streamCallEvents(
  options: StreamCallEventsOptions,
): Promise<AsyncGenerator<TrackedEnvelope<CallStreamMessage>, void, unknown>> {
  const { bus, principal, callId, types, lastEventId, signal } = options;
  const allTenants = principal.allTenants === true;
  // Back with the made-up id of `ready` (no cursor held), or as an all-tenants subscriber (no
  // cursor across tenants): whatever happened meanwhile is unknown.
  const reload = lastEventId !== undefined && (allTenants || lastEventId === callStreamStartId);
  let subscription: BusSubscription;
  let start: string | undefined;
  try {
    // No cursor to resume after: start after the tenant's position, read *before* subscribing,
    // so the subscription delivers exactly the events after it (those published in between
    // from history) and `ready` can carry it. Read after attaching instead, events between the
    // two would come after a `ready` whose id is already past them: a client dropping in
    // between would skip them on resume.
    if ((lastEventId === undefined || reload) && !allTenants && bus.position !== undefined) {
      start = await bus.position(principal.tenantId);
    }
    const after = start ?? (reload ? undefined : lastEventId);
    subscription = bus.subscribe({
      ...(allTenants ? { allTenants: true } : { tenantId: principal.tenantId }),
      ...(callId === undefined ? {} : { callId }),
      ...(types === undefined ? {} : { types }),
      ...(after === undefined ? {} : { after }),
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    throw toTRPCError(error);
  }
  let registration: PresenceRegistration | undefined;
  let gaveUp = false;
  const attach = async (): Promise<void> => {
    await subscription.ready;
    if (gaveUp || options.presence === undefined || principal.userId === undefined) return;
    const registered = await options.presence.connect(principal, { connectionId: randomUUID() });
    // Registered after the deadline: nobody streams to it, so it leaves at once.
    if (gaveUp) registered.disconnect().catch((error: unknown) => report(options, error));
    else registration = registered;
  };
  try {
    // Bounded, fresh or resumed alike: while Redis is down the bus subscription cannot attach
    // (a resume's no sooner than a fresh one's), and a 503 makes the link come back later.
    await attachedWithin(attach(), options.attachTimeoutMs ?? defaultAttachTimeoutMs);
  } catch (error) {
    gaveUp = true;
    await subscription.close();
    throw toTRPCError(error);
  }
  const leave = registration === undefined ? undefined : leavePresence(registration, options);
  if (signal?.aborted) {
    // Gone while presence registered it: tRPC will not run the stream, nor its `finally`.
    leave?.();
    await subscription.close();
    throw new TRPCError({ code: 'CLIENT_CLOSED_REQUEST', message: 'The client went away.' });
  }
  // The position the client holds from its first message on: the bus's, or the made-up one.
  const held = start ?? lastEventId ?? callStreamStartId;
  return readCallEvents(subscription, options, reload, held, leave);
}

/**
 * Heartbeats `registration` and answers how to release it, once: when the stream ends, or when
 * the request is aborted first (a stream tRPC never starts never runs its `finally`).
 */
function leavePresence(
  registration: PresenceRegistration,
  options: StreamCallEventsOptions,
): () => void {
  const { signal, heartbeats } = options;
  heartbeats?.add(registration);
  let left = false;
  const leave = (): void => {
    if (left) return;
    left = true;
    signal?.removeEventListener('abort', leave);
    heartbeats?.delete(registration);
    registration.disconnect().catch((error: unknown) => report(options, error));
  };
  signal?.addEventListener('abort', leave, { once: true });
  return leave;
}

/** True when the subscription takes `presence.*` events from a router with presence. */
function takesPresence(options: StreamCallEventsOptions): boolean {
  const { presence, callId, types } = options;
  if (presence === undefined || callId !== undefined) return false;
  return (
    types === undefined ||
    types.some(
      (type) =>
        type === 'presence.online' ||
        (type.endsWith('.*') && 'presence.online'.startsWith(type.slice(0, -1))),
    )
  );
}

/**
 * True when the subscription gets presence members: it takes `presence.*` from a router with
 * presence, and it is a tenant's or presence lists every tenant's members.
 */
function wantsMembers(options: StreamCallEventsOptions): boolean {
  const { presence, principal } = options;
  return (
    takesPresence(options) &&
    (principal.allTenants !== true ||
      (presence !== undefined && listsMembersAcrossTenants(presence)))
  );
}

async function* readCallEvents(
  subscription: BusSubscription,
  options: StreamCallEventsOptions,
  reload: boolean,
  held: string,
  leave: (() => void) | undefined,
): AsyncGenerator<TrackedEnvelope<CallStreamMessage>, void, unknown> {
  const { lastEventId, signal, principal } = options;
  const members = wantsMembers(options) ? options.presence : undefined;
  // Every tenant's stream, with a presence that cannot list every tenant: no members come, after
  // the start and after each reset alike.
  const presenceUnavailable = members === undefined && takesPresence(options);
  let cursor = held;
  try {
    if (reload) {
      yield tracked(cursor, { type: 'reset', reason: 'reconnected' });
    } else if (lastEventId === undefined) {
      yield tracked(cursor, { type: 'ready' });
    } else {
      // A resume has no `ready`: without a message of its own the client could not tell an
      // attached stream from one whose procedure failed after tRPC's `connected`.
      yield tracked(cursor, { type: 'resumed' });
    }
    if (members !== undefined && (reload || lastEventId === undefined)) {
      yield tracked(cursor, await membersOf(members, principal, options.presenceSnapshotLimit));
    }
    // An all-tenants stream always starts with `ready` or a `reset`.
    if (presenceUnavailable) {
      yield tracked(cursor, { type: 'presence-unavailable', reason: 'all-tenants' });
    }
    for await (const message of subscription) {
      if (message.type === 'event') {
        // Another user's user-addressed event (a `user.message`): never this subscriber's.
        if (!isEventForPrincipal(message.event, principal)) continue;
        cursor = message.cursor;
        const event = wireEventOf(message, options);
        yield tracked(
          message.cursor,
          event === undefined
            ? { type: 'reset', reason: 'event-skipped' }
            : { type: 'event', event },
        );
        // A reset reloads presence too (the skipped event may have been a `presence.*`).
        if (event === undefined && members !== undefined) {
          yield tracked(cursor, await membersOf(members, principal, options.presenceSnapshotLimit));
        }
        if (event === undefined && presenceUnavailable) {
          yield tracked(cursor, { type: 'presence-unavailable', reason: 'all-tenants' });
        }
      } else if (message.type === 'reset') {
        yield tracked(cursor, { type: 'reset', reason: message.reason });
        if (members !== undefined)
          yield tracked(cursor, await membersOf(members, principal, options.presenceSnapshotLimit));
        if (presenceUnavailable) {
          yield tracked(cursor, { type: 'presence-unavailable', reason: 'all-tenants' });
        }
      } else {
        throw new TRPCError({
          code: 'SERVICE_UNAVAILABLE',
          message: 'The subscriber fell behind; reconnect to resume from the last event id.',
        });
      }
    }
    // The bus ended the subscription (it is closing, e.g. on shutdown): returning would end the
    // client's subscription for good, so ask it to reconnect (to this or another node) instead.
    if (!signal?.aborted) {
      throw new TRPCError({
        code: 'SERVICE_UNAVAILABLE',
        message: 'The event stream ended; reconnect to resume from the last event id.',
      });
    }
  } finally {
    leave?.();
    await subscription.close();
  }
}

/** Hands a failure that ends nothing to `onError`; a failing hook is ignored. */
function report(options: StreamCallEventsOptions, error: unknown): void {
  try {
    options.onError?.(toError(error), { principal: options.principal });
  } catch {
    // A failing error hook must not end the subscription.
  }
}

async function membersOf(
  presence: ConnectionPresence,
  principal: Principal,
  limit: number | undefined,
): Promise<CallStreamMessage> {
  try {
    const { members, complete } = await readPresenceMembers(
      presence,
      principal.allTenants === true ? undefined : principal.tenantId,
      limit,
    );
    return { type: 'presence', members, complete };
  } catch (error) {
    throw toTRPCError(error);
  }
}

/** The event as plain JSON, or undefined (reported) when it cannot be serialized. */
function wireEventOf(message: BusEventMessage, options: StreamCallEventsOptions) {
  try {
    return toWireEvent(message.event);
  } catch (error) {
    try {
      options.onError?.(toError(error), {
        principal: options.principal,
        skipped: describeSkippedEvent(message),
      });
    } catch {
      // A failing error hook must not end the subscription.
    }
    return undefined;
  }
}

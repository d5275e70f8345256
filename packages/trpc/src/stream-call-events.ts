import type { EventBus } from '@calltrack/bus';
import { TRPCError, type TrackedEnvelope, tracked } from '@trpc/server';
import { type CallStreamMessage, callStreamStartId } from './call-stream-message';
import { toTRPCError } from './to-trpc-error';

/** Options of {@link streamCallEvents}. */
export interface StreamCallEventsOptions {
  bus: EventBus;
  /** The tenant, from the request's context (never from the input). */
  tenantId: string;
  callId?: string;
  types?: readonly string[];
  /** The cursor to resume after (the client's last tracked id). */
  lastEventId?: string;
  /** The request's signal: aborting it ends the bus subscription and the generator. */
  signal?: AbortSignal;
}

/**
 * Reads the bus for one subscriber and yields `tracked(cursor, message)` for each event. A fresh
 * subscription (no `lastEventId`) starts with a tracked `ready` once live delivery is attached;
 * a tracked `reset` says the client must reload (also when it comes back with the `ready` id,
 * having had no cursor to resume from). It throws `SERVICE_UNAVAILABLE` when the subscriber lagged
 * behind: `httpSubscriptionLink` retries that code, and its `EventSource` reconnects with the last
 * id it received, so the stream resumes from history (the same happens when the bus closes). The
 * bus subscription always ends with the generator (abort, `return()`, error).
 */
export async function* streamCallEvents(
  options: StreamCallEventsOptions,
): AsyncGenerator<TrackedEnvelope<CallStreamMessage>, void, unknown> {
  const { bus, tenantId, callId, types, lastEventId, signal } = options;
  // Back with the id of `ready`: it held no cursor, so whatever happened meanwhile is unknown.
  const fromStart = lastEventId === callStreamStartId;
  const after = fromStart ? undefined : lastEventId;
  let subscription: ReturnType<EventBus['subscribe']>;
  try {
    subscription = bus.subscribe({ tenantId, callId, types, after, signal });
  } catch (error) {
    throw toTRPCError(error);
  }
  let cursor = lastEventId ?? callStreamStartId;
  try {
    await subscription.ready;
    if (fromStart) {
      yield tracked(callStreamStartId, { type: 'reset', reason: 'reconnected' });
    } else if (lastEventId === undefined) {
      yield tracked(callStreamStartId, { type: 'ready' });
    }
    for await (const message of subscription) {
      if (message.type === 'event') {
        cursor = message.cursor;
        yield tracked(message.cursor, { type: 'event', event: message.event });
      } else if (message.type === 'reset') {
        yield tracked(cursor, { type: 'reset', reason: message.reason });
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
    await subscription.close();
  }
}

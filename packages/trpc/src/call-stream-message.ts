import type { BusResetMessage } from '@calltrack/bus';
import type { CallEvent, UserPresence } from '@calltrack/core';

/**
 * The tracked id of a `ready` message (and of a `reset` before any event) when the bus has no
 * `position()` (a bus of your own may leave it out), and of an all-tenants subscriber's `ready`:
 * a position that is no cursor. A client that reconnects with it is told to reload (`reset`,
 * reason `reconnected`), because it may have missed events while it was away. With the built-in
 * buses a tenant's `ready` carries a real cursor instead.
 */
export const callStreamStartId = 'calltrack:start';

/**
 * The first message of a subscription that starts without `lastEventId`: live delivery is
 * attached, so load your state now (e.g. the `activeCallsSnapshot` query); every later change
 * arrives as an event. Its tracked id is the tenant's bus cursor the stream starts after (the bus's
 * `position()`), so a client that drops before its first event resumes with exactly the events
 * it missed; {@link callStreamStartId} when the bus has no `position()` or the subscriber sees
 * all tenants.
 */
export interface CallStreamReadyMessage {
  type: 'ready';
}

/**
 * The first message of a subscription resumed with a `lastEventId` (a cursor of the tenant): live
 * delivery is attached, and the missed events follow (or a `reset` when they cannot be
 * replayed). A client says it is connected on it: tRPC sends its `connected` event also when the
 * procedure failed (the error follows it). Its tracked id is that `lastEventId`.
 */
export interface CallStreamResumedMessage {
  type: 'resumed';
}

/** An event of the tenant, in cursor order. Its tracked id is the event's bus cursor. */
export interface CallStreamEventMessage {
  type: 'event';
  event: CallEvent;
}

/**
 * Events were missed and cannot be replayed (the client resumed from a cursor that left history,
 * belongs to a stream that no longer exists, or it reconnected with {@link callStreamStartId}
 * or as an all-tenants principal), or one event could not be sent (`event-skipped`). Reload your
 * state, then carry on with the live events that follow. Its tracked id is the last position the
 * client held (for `event-skipped`, the skipped event's cursor, so a resume starts after it), so
 * a reconnect before the next event is told to reload again: until a newer event arrives,
 * nothing proves the client is up to date. The exception is a tenant's `reconnected` after
 * {@link callStreamStartId} on a bus with `position()`: its id is the position the new stream
 * starts after, from which a later resume replays.
 */
export interface CallStreamResetMessage {
  type: 'reset';
  /**
   * Why: the bus's `history-gap`, `stream-reset` or `reconnected` (see `BusResetMessage`), or
   * `event-skipped`: an event could not be serialized and was left out (and reported to
   * `onError`).
   */
  reason: BusResetMessage['reason'] | 'event-skipped';
}

/**
 * The presence members (with `presence`): the connected users of the subscriber's tenant, or of
 * every tenant for an all-tenants subscriber (each with its `tenantId`: keep users by tenant and
 * user id), after `ready` and after every `reset`, when the subscription takes `presence.*`
 * events. The `presence.*` events that follow are the diffs: per user, keep the snapshot with
 * the higher `version`. Its tracked id is the position it was read at (as `ready`'s and
 * `reset`'s).
 */
export interface CallStreamPresenceMessage {
  type: 'presence';
  /**
   * At most `presenceSnapshotLimit` users (1,000 by default): a tenant after another, each one's
   * by user id.
   */
  members: UserPresence[];
  /**
   * False when the limit left connected users out: they come with their next `presence.*` event.
   * Servers before this field was added leave it out.
   */
  complete: boolean;
}

/**
 * Sent instead of {@link CallStreamPresenceMessage} (with `presence`) to a subscription of every
 * tenant (`reason: 'all-tenants'`) that takes `presence.*` events, after its `ready` or its
 * `reset`, when `presence` cannot list every tenant's members (a `ConnectionPresence` of your
 * own without `listMembersAcrossTenants`; `createPresence()` has it). No members come, so the
 * client neither waits for them nor holds the `presence.*` events. Show that presence is not
 * available on this stream.
 */
export interface CallStreamPresenceUnavailableMessage {
  type: 'presence-unavailable';
  reason: 'all-tenants';
}

/**
 * What the `onCallEvent` subscription yields, each wrapped in `tracked(id, message)`: the client
 * gets `{ id, data: CallStreamMessage }` and switches on `data.type`.
 */
export type CallStreamMessage =
  | CallStreamReadyMessage
  | CallStreamResumedMessage
  | CallStreamEventMessage
  | CallStreamPresenceMessage
  | CallStreamPresenceUnavailableMessage
  | CallStreamResetMessage;

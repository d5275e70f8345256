import type { BusResetMessage } from '@calltrack/bus';
import type { CallEvent, CallSnapshot, UserPresence } from '@calltrack/core';

/** One delivered bus event: `call_update` and the lifecycle events carry it. */
export interface CallTrackDelivery {
  /**
   * The event's position in its tenant's stream. Keep the last one you received and send it back
   * on reconnect (`auth.lastCursor`, or `subscribe_to_calls({ after })`) to get exactly what you
   * missed.
   */
  cursor: string;
  event: CallEvent;
}

/** Payload of `active_calls`: the active calls when the stream started. */
export interface ActiveCallsPayload {
  /**
   * The active calls (every tenant's for an all-tenants principal), newest first: at most
   * `snapshotLimit` (1,000 by default), the newest.
   */
  calls: CallSnapshot[];
  /**
   * True when `calls` holds every active call of the view: a call it does not list is not active.
   * False when the limit (`snapshotLimit`) left active calls out: a call it does not list may be
   * active. Servers before this field was added leave it out.
   */
  complete: boolean;
  /**
   * The stream position the snapshot was taken at: every event after it follows as
   * `call_update`. The snapshot may already reflect some of them: keep the call with the higher
   * `version`. Hand it back like any cursor to resume. Absent for an all-tenants principal, whose
   * view has no position (cursors are per tenant): it reloads after a reconnect.
   */
  cursor?: string;
}

/**
 * Payload of `presence_members` (with the `presence` option): the connected users when the
 * stream started, of the tenant, or of every tenant for an all-tenants principal (each with its
 * `tenantId`: keep users by tenant and user id). Sent with `active_calls` by a
 * `subscribe_to_calls` without `after` whose types take `presence.*`. The `presence.*` events
 * that follow (as `call_update`) are the diffs: per user, keep the snapshot with the higher
 * `presence.version`.
 */
export interface PresenceMembersPayload {
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
  /** The stream position the members were read at, as `active_calls.cursor`. */
  cursor?: string;
}

/**
 * Payload of `presence_unavailable` (with the `presence` option): sent instead of
 * `presence_members` to an all-tenants principal's `subscribe_to_calls` whose types take
 * `presence.*` (`reason: 'all-tenants'`) when `presence` cannot list every tenant's members (a
 * `ConnectionPresence` of your own without `listMembersAcrossTenants`; `createPresence()` has
 * it). No members come, so the client neither waits for them nor holds the `presence.*` events.
 * Show that presence is not available on this stream.
 */
export interface PresenceUnavailablePayload {
  reason: 'all-tenants';
}

/** Payload of `presence_error`: presence refused this connection (it streams on, unregistered). */
export interface PresenceErrorPayload {
  /** `too_many_connections` (the user has `maxConnectionsPerUser` already), or another code. */
  code: string;
  message: string;
}

/** Payload of `call_data`: one call, answered to `subscribe_to_call`. */
export interface CallDataPayload {
  /** The call; events of the call may arrive before it, so keep the higher `version`. */
  call: CallSnapshot;
}

/**
 * Why the server sent `reset`: a bus reason (`history-gap`, `stream-reset`, `reconnected`),
 * `lagged` when the client fell too far behind, or `event-skipped` when one event meant for it
 * could not be sent (reported to `onError`; the same reason SSE and tRPC send). Reload with
 * `subscribe_to_calls()` (no `after`).
 */
export type CallTrackResetReason = BusResetMessage['reason'] | 'lagged' | 'event-skipped';

/** Payload of `reset`. */
export interface ResetPayload {
  reason: CallTrackResetReason;
}

/**
 * Codes an acknowledgement can carry in `error.code`. `unavailable`: the server could not reach
 * what it needs (the bus's Redis is down, or the tracker's); the connection stays open, try again
 * after `error.retryAfterMs`. `invalid_payload` and `invalid_argument` (the server, or its
 * tracker, refused what the request asks for: the HTTP transports' 400) come again when the same
 * request is sent again: do not retry it as it is.
 */
export type CallTrackAckErrorCode =
  | 'invalid_payload'
  | 'invalid_argument'
  | 'not_found'
  | 'too_many_subscriptions'
  | 'unavailable'
  | 'internal_error';

/** The acknowledgement every client→server event gets. */
export type CallTrackAck =
  | { ok: true }
  | {
      ok: false;
      error: {
        code: CallTrackAckErrorCode;
        message: string;
        /** With `unavailable`: how long to wait before asking again (5,000 ms). */
        retryAfterMs?: number;
      };
    };

/**
 * Payload of `resume_error`: the resume sent in the handshake (`auth.lastCursor`) failed. It is
 * the `error` a `subscribe_to_calls({ after })` acknowledgement would carry: with `unavailable`
 * (Redis was down past `attachTimeoutMs`) the connection stays open without a call stream; ask
 * again with `subscribe_to_calls({ after: lastCursor })` after `retryAfterMs`.
 */
export type ResumeErrorPayload = Extract<CallTrackAck, { ok: false }>['error'];

/** Payload of `subscribe_to_calls`. */
export interface SubscribeToCallsPayload {
  /** Resume: replay every event after this cursor, then stream live (no `active_calls`). */
  after?: string;
  /** Only these event types (`call.ended`, or a prefix such as `call.*`). Default: every type. */
  types?: string[];
}

/** Payload of `subscribe_to_call` and `unsubscribe_from_call`. */
export interface CallSubscriptionPayload {
  /** The provider's call id. */
  callId: string;
  /**
   * The call's tenant: for an all-tenants principal, any tenant (default its own). A tenant
   * principal may only name its own; another tenant's call is `not_found`.
   */
  tenantId?: string;
}

/**
 * What a connecting client may put in `auth` besides the app's credentials, to pick up where it
 * left off. Send it from an `auth` callback, so every reconnect carries the latest values.
 */
export interface CallTrackHandshakeAuth {
  /**
   * The last cursor received (of `call_update`, or of `active_calls`): the server resumes at
   * once, as `subscribe_to_calls({ after })` would, and replays what the call stream and the
   * call subscriptions missed.
   */
  lastCursor?: string;
  /** With `lastCursor`: only these event types in the resumed stream. */
  types?: string[];
  /**
   * With `lastCursor`: false when the client had no call stream, only call subscriptions, so
   * only their events are replayed. Default true.
   */
  stream?: boolean;
  /**
   * The call subscriptions to restore (the payloads of your `subscribe_to_call`s), at most
   * `maxFollowedCalls`. With `lastCursor` their missed events are replayed; without, each
   * gets a fresh `call_data` (with a tracker), and an unknown call is dropped.
   */
  calls?: CallSubscriptionPayload[];
}

/** The lifecycle events sent next to `call_update`. */
export type CallLifecycleEventName = 'call:started' | 'call:status_updated' | 'call:completed';

/** Events the server sends (for a typed `socket.io-client` `Socket<CallTrackServerEvents, …>`). */
export interface CallTrackServerEvents {
  /** Every event of the stream and of subscribed calls. */
  call_update: (delivery: CallTrackDelivery) => void;
  /** A call was first seen (its first `call.initiated` / `call.ringing` / `call.answered`). */
  'call:started': (delivery: CallTrackDelivery) => void;
  /** A later status change of a call. */
  'call:status_updated': (delivery: CallTrackDelivery) => void;
  /** A call ended (`call.ended`). */
  'call:completed': (delivery: CallTrackDelivery) => void;
  /** The snapshot that starts a `subscribe_to_calls` without `after`. */
  active_calls: (payload: ActiveCallsPayload) => void;
  /** The presence members (of every tenant for an all-tenants view), before their diffs. */
  presence_members: (payload: PresenceMembersPayload) => void;
  /** An all-tenants stream gets no members: `presence` cannot list every tenant's. */
  presence_unavailable: (payload: PresenceUnavailablePayload) => void;
  /** Presence did not register this connection (with `presence`). */
  presence_error: (payload: PresenceErrorPayload) => void;
  /** The call asked for with `subscribe_to_call`. */
  call_data: (payload: CallDataPayload) => void;
  /** Events were lost: reload with `subscribe_to_calls()`. */
  reset: (payload: ResetPayload) => void;
  /** The handshake's resume (`auth.lastCursor`) failed: it has no acknowledgement to answer. */
  resume_error: (payload: ResumeErrorPayload) => void;
}

/** Events the client sends; each takes an acknowledgement callback. */
export interface CallTrackClientEvents {
  subscribe_to_calls: (
    payload: SubscribeToCallsPayload | undefined,
    ack: (answer: CallTrackAck) => void,
  ) => void;
  unsubscribe_from_calls: (payload: undefined, ack: (answer: CallTrackAck) => void) => void;
  subscribe_to_call: (
    payload: CallSubscriptionPayload,
    ack: (answer: CallTrackAck) => void,
  ) => void;
  unsubscribe_from_call: (
    payload: CallSubscriptionPayload,
    ack: (answer: CallTrackAck) => void,
  ) => void;
}

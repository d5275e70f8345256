import type { Principal } from '@calltrack/core';

/**
 * An event that could not be sent to Socket.IO clients (see `UndeliverableEventError`): it was
 * skipped, the connections it was meant for got `reset` (`event-skipped`), and delivery went on
 * with the next event.
 */
export interface CallTrackSocketSkippedEvent {
  /** The event's bus cursor. */
  cursor: string;
  /** The event's `id`, when it could be read. */
  eventId?: string;
  /** The event's `type`, when it could be read. */
  type?: string;
  /** The event's tenant, when it could be read. */
  tenantId?: string;
}

/** What `onError` is told about a failure besides the error itself. */
export interface CallTrackSocketErrorInfo {
  /** The connection the failure belongs to (its `socket.id`), when it belongs to one. */
  socketId?: string;
  /** Whose connection met the failure, once its handshake is authenticated. */
  principal?: Principal;
  /** The event that was skipped, when the failure was about one event. */
  skipped?: CallTrackSocketSkippedEvent;
}

/** Where the package reports a failure. Must not throw. */
export type ReportError = (error: unknown, info?: CallTrackSocketErrorInfo) => void;

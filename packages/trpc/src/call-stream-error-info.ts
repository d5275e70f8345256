import type { Principal } from '@calltrack/core';

/**
 * An event a subscription could not carry: it could not be serialized. It was skipped, the
 * subscriber got a `reset` (`event-skipped`) whose id is the event's cursor, and later events
 * kept flowing.
 */
export interface CallStreamSkippedEvent {
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
export interface CallStreamErrorInfo {
  /** Whose subscription met the failure. */
  principal?: Principal;
  /** The event that was skipped (reported once per event, however many subscribers skip it). */
  skipped?: CallStreamSkippedEvent;
}

import type { PresenceStatus } from '@calltrack/core';
import type { PresenceRecord } from './presence-record';

/** The `presence.*` event types presence emits. */
export type PresenceEventType =
  | 'presence.online'
  | 'presence.away'
  | 'presence.offline'
  | 'presence.updated';

/**
 * A transition a store decided, atomically and once: the winner publishes it as a bus event. It
 * sits in the store's outbox until `confirm`, so a process that dies before publishing is
 * covered by the sweeper of another.
 */
export interface PresenceTransition {
  /** The bus event id: `presence:<user>:<epoch>:<version>`, the same on every republish. */
  eventId: string;
  type: PresenceEventType;
  tenantId: string;
  userId: string;
  /** The status before (equal to the record's for `presence.updated`). */
  previousStatus: PresenceStatus;
  /** When it was decided (ms): the event's `occurredAt`. */
  at: number;
  /** The user right after the transition. */
  record: PresenceRecord;
}

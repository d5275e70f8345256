import type { CallEvent, PresenceStatus, UserPresence } from '@calltrack/core';
import { fitPresenceRecord } from './fit-presence-record';
import type { PresenceTransition } from './presence-transition';
import { toUserPresence } from './to-user-presence';

/** The `data` of every `presence.*` event. */
export interface PresenceEventData {
  /**
   * The user right after the transition (keep the snapshot with the highest `version`). Should
   * it not fit an event (processes sharing a store with other limits), the data of leaving
   * connections is left out, else every connection's data and the newest connections past what
   * fits.
   */
  presence: UserPresence;
  /** The status before; equal to `presence.status` on `presence.updated`. */
  previousStatus: PresenceStatus;
}

/**
 * The bus event of a decided transition. Built only from the transition, so every republish
 * (after a crash, a failed publish) is the same event with the same id. Its snapshot always fits
 * the bus's limit on `data` (see `fitPresenceRecord`).
 */
export function toPresenceEvent(transition: PresenceTransition, initialState: string): CallEvent {
  const at = new Date(transition.at).toISOString();
  const data: PresenceEventData = {
    presence: toUserPresence(fitPresenceRecord(transition.record), transition.at, initialState),
    previousStatus: transition.previousStatus,
  };
  return {
    id: transition.eventId,
    type: transition.type,
    tenantId: transition.tenantId,
    userId: transition.userId,
    provider: 'calltrack',
    occurredAt: at,
    receivedAt: at,
    data: data as unknown as CallEvent['data'],
  };
}

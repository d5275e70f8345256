import type { CallDirection, CallEvent, CallStatus } from '@calltrack/core';
import type { CallDetailName, CallDetails } from './call-details';
import type { CallPosition } from './call-position';

/**
 * What the store remembers about one event id: a lease deadline (ms) while its publish is
 * unconfirmed (0 after a failed publish), `done` once published, `ignored` when it changed
 * nothing. The Redis store's form of it is `redisEventMarks`.
 */
export type StoredEventMark = number | 'done' | 'ignored';

/** A call as the memory store holds it (the Redis store keeps the same fields in a hash). */
export interface StoredCall {
  tenantId: string;
  callId: string;
  provider: string;
  status?: CallStatus;
  branchId?: string;
  agentId?: string;
  userId?: string;
  direction?: CallDirection;
  from?: string;
  to?: string;
  startedAt?: number;
  answeredAt?: number;
  endedAt?: number;
  details: CallDetails;
  positions: Partial<Record<CallDetailName, CallPosition>>;
  createdAt: number;
  updatedAt: number;
  version: number;
  events: Map<string, StoredEventMark>;
  /** The id of the event that made the call active (its alert checks run when it is published). */
  activationEventId?: string;
  endEventId?: string;
  /** The `call.ended` until its publish is confirmed. */
  endEvent?: CallEvent;
  /** The alert rules taken for this call (`claimCallAlert`); they go when the call does. */
  alerts?: Set<string>;
  /** When an inactive call may be forgotten. */
  expiresAt?: number;
  /**
   * When an active call goes stale (its last change plus `staleAfterMsOf` its status): the
   * memory store's index for the reaper; the Redis store keeps it as the score in `stale`.
   */
  staleAt?: number;
}

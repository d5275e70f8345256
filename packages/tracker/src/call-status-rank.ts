import type { CallStatus } from '@calltrack/core';

/** The rank of every terminal status: a call at this rank has ended and never moves again. */
export const terminalStatusRank = 3;

/** The rank of a call without a status (only enrichment seen so far): below every status. */
export const noStatusRank = -1;

/**
 * How far along each status is. A call only ever moves to a higher rank (queued → ringing →
 * in-progress → terminal); the Redis store's script is generated from this table.
 */
export const callStatusRanks: Readonly<Record<CallStatus, number>> = {
  queued: 0,
  ringing: 1,
  'in-progress': 2,
  completed: terminalStatusRank,
  busy: terminalStatusRank,
  'no-answer': terminalStatusRank,
  failed: terminalStatusRank,
  canceled: terminalStatusRank,
};

/** The rank of `status` in {@link callStatusRanks}; {@link noStatusRank} for none. */
export function statusRank(status: CallStatus | undefined): number {
  return status === undefined ? noStatusRank : callStatusRanks[status];
}

/** True while a call with this status counts as active: it has one, and it is not terminal. */
export function isActiveStatus(status: CallStatus | undefined): boolean {
  const rank = statusRank(status);
  return rank > noStatusRank && rank < terminalStatusRank;
}

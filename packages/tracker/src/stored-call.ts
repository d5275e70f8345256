import type { CallDirection, CallEvent, CallSnapshot, CallStatus } from '@calltrack/core';
import type { CallDetailName, CallDetails } from './call-details';
import type { CallPosition } from './call-position';

/**
 * What the store remembers about one event id: a lease deadline (ms) while its publish is
 * unconfirmed, `done` once published, `ignored` when it changed nothing.
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
  endEventId?: string;
  /** The `call.ended` until its publish is confirmed. */
  endEvent?: CallEvent;
  /** When an inactive call may be forgotten. */
  expiresAt?: number;
}

const rank: Readonly<Record<CallStatus, number>> = {
  queued: 0,
  ringing: 1,
  'in-progress': 2,
  completed: 3,
  busy: 3,
  'no-answer': 3,
  failed: 3,
  canceled: 3,
};

/** How far along a status is: queued 0, ringing 1, in-progress 2, terminal 3; none -1. */
export function statusRank(status: CallStatus | undefined): number {
  return status === undefined ? -1 : rank[status];
}

/** True while a call with this status counts as active. */
export function isActiveStatus(status: CallStatus | undefined): boolean {
  const value = statusRank(status);
  return value >= 0 && value < 3;
}

/**
 * Talk time as the tracker reports it: the provider's figure, else `endedAt - answeredAt`, 0 for
 * an ended call never answered, undefined while it is not known.
 */
export function effectiveDurationMs(call: {
  details: CallDetails;
  answeredAt?: number;
  endedAt?: number;
}): number | undefined {
  if (call.details.durationMs !== undefined) return call.details.durationMs;
  if (call.endedAt === undefined) return undefined;
  if (call.answeredAt === undefined) return 0;
  return Math.max(0, call.endedAt - call.answeredAt);
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The public snapshot of a stored call. */
export function toCallSnapshot(call: StoredCall): CallSnapshot {
  const tracked: CallSnapshot = {
    tenantId: call.tenantId,
    callId: call.callId,
    provider: call.provider,
    active: isActiveStatus(call.status),
    createdAt: iso(call.createdAt),
    updatedAt: iso(call.updatedAt),
    version: call.version,
  };
  if (call.status !== undefined) tracked.status = call.status;
  if (call.branchId !== undefined) tracked.branchId = call.branchId;
  if (call.agentId !== undefined) tracked.agentId = call.agentId;
  if (call.userId !== undefined) tracked.userId = call.userId;
  if (call.direction !== undefined) tracked.direction = call.direction;
  if (call.from !== undefined) tracked.from = call.from;
  if (call.to !== undefined) tracked.to = call.to;
  if (call.startedAt !== undefined) tracked.startedAt = iso(call.startedAt);
  if (call.answeredAt !== undefined) tracked.answeredAt = iso(call.answeredAt);
  if (call.endedAt !== undefined) tracked.endedAt = iso(call.endedAt);
  Object.assign(tracked, call.details);
  // Snapshots leave the store: never hand out the store's own objects.
  if (call.details.analysis !== undefined)
    tracked.analysis = structuredClone(call.details.analysis);
  if (call.details.cost !== undefined) tracked.cost = { ...call.details.cost };
  const durationMs = effectiveDurationMs(call);
  if (durationMs !== undefined) tracked.durationMs = durationMs;
  return tracked;
}

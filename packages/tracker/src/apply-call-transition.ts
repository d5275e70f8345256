import { callDetailNames } from './call-details';
import { type CallPosition, compareCallPositions } from './call-position';
import { isActiveStatus, statusRank, terminalStatusRank } from './call-status-rank';
import type { CallApplyOutcome } from './call-store';
import { type CallTransition, callIdentityFills } from './call-transition';
import type { StoredCall } from './stored-call';

/** What {@link applyCallTransition} did. */
export interface AppliedCallTransition {
  outcome: CallApplyOutcome;
  /** The call (created when it was new); undefined only for `skipped` on an unknown call. */
  call?: StoredCall;
  wasActive: boolean;
  isActive: boolean;
  /** The call's branch before the transition (it may have just been learned). */
  previousBranchId?: string;
}

/**
 * The state machine, for stores that hold calls in memory. It mutates `existing` in place (or
 * creates the call). The Redis store runs the very same rules in Lua, from
 * `apply-call-transition-lua.ts` (numbered alike); the shared store conformance suite holds both
 * to them.
 *
 * 1. A guarded transition (`expectUpdatedAt`) applies only to an active call whose `updatedAt`
 *    is exactly the expected one, else `skipped` (nothing written).
 * 2. A known event id is a `duplicate`, unless it changed the call and its publish lease ran out
 *    without a confirmation: then it is `unpublished` and leased again.
 * 3. Status and end events fill in the timeline whatever their fate: `startedAt` is the earliest
 *    of their `occurredAt`, `answeredAt` the earliest `in-progress` one.
 * 4. `end` ends a call that has not ended (`ended`), else `ignored`. `status` moves the call
 *    forward only (queued → ringing → in-progress), else `ignored`. `enrich` is `enriched`.
 * 5. An applied event fills in identity fields the call lacks, merges its details per field by
 *    timeline position (the later event wins), bumps `version` and `updatedAt`, and is leased
 *    for publishing. An ended or never-active call expires `endedCallRetentionMs` after its
 *    last change.
 */
export function applyCallTransition(
  existing: StoredCall | undefined,
  transition: CallTransition,
): AppliedCallTransition {
  const { at, settings } = transition;
  const wasActive = existing !== undefined && isActiveStatus(existing.status);
  const unchanged = (outcome: CallApplyOutcome, call?: StoredCall): AppliedCallTransition => ({
    outcome,
    ...(call === undefined ? {} : { call }),
    wasActive,
    isActive: wasActive,
    ...(call?.branchId === undefined ? {} : { previousBranchId: call.branchId }),
  });

  if (transition.expectUpdatedAt !== undefined) {
    if (!existing || !wasActive || existing.updatedAt !== transition.expectUpdatedAt) {
      return unchanged('skipped', existing);
    }
  }

  const mark = existing?.events.get(transition.eventId);
  if (existing && mark !== undefined) {
    if (typeof mark !== 'number' || mark > at) return unchanged('duplicate', existing);
    existing.events.set(transition.eventId, at + settings.publishLeaseMs);
    return unchanged('unpublished', existing);
  }

  const call: StoredCall = existing ?? {
    tenantId: transition.tenantId,
    callId: transition.callId,
    provider: transition.identity.provider,
    details: {},
    positions: {},
    createdAt: at,
    updatedAt: at,
    version: 0,
    events: new Map(),
  };
  const previousBranchId = call.branchId;

  if (transition.kind !== 'enrich') {
    if (call.startedAt === undefined || transition.occurredAt < call.startedAt) {
      call.startedAt = transition.occurredAt;
    }
    if (
      transition.status === 'in-progress' &&
      (call.answeredAt === undefined || transition.occurredAt < call.answeredAt)
    ) {
      call.answeredAt = transition.occurredAt;
    }
  }

  const currentRank = statusRank(call.status);
  let outcome: CallApplyOutcome = 'enriched';
  if (transition.kind === 'end') {
    outcome = currentRank === terminalStatusRank ? 'ignored' : 'ended';
  }
  if (transition.kind === 'status') {
    outcome =
      currentRank < terminalStatusRank && statusRank(transition.status) > currentRank
        ? 'changed'
        : 'ignored';
  }
  if (outcome === 'ignored') {
    call.events.set(transition.eventId, 'ignored');
    return {
      outcome,
      call,
      wasActive,
      isActive: wasActive,
      ...(previousBranchId === undefined ? {} : { previousBranchId }),
    };
  }

  const { identity } = transition;
  for (const name of callIdentityFills) {
    if (call[name] === undefined && identity[name] !== undefined) {
      Object.assign(call, { [name]: identity[name] });
    }
  }
  mergeDetails(call, transition);
  if (outcome !== 'enriched') call.status = transition.status;
  if (outcome === 'ended') {
    call.endedAt = transition.occurredAt;
    call.endEventId = transition.eventId;
    if (transition.event) call.endEvent = transition.event;
  }
  call.updatedAt = at;
  call.version += 1;
  call.events.set(transition.eventId, at + settings.publishLeaseMs);
  const isActive = isActiveStatus(call.status);
  if (isActive && !wasActive) call.activationEventId = transition.eventId;
  if (isActive) delete call.expiresAt;
  else call.expiresAt = at + settings.endedCallRetentionMs;
  return {
    outcome,
    call,
    wasActive,
    isActive,
    ...(previousBranchId === undefined ? {} : { previousBranchId }),
  };
}

function mergeDetails(call: StoredCall, transition: CallTransition): void {
  const position: CallPosition = {
    at: transition.occurredAt,
    eventId: transition.eventId,
    ...(transition.sequence === undefined ? {} : { sequence: transition.sequence }),
  };
  const details = transition.details as Record<string, unknown>;
  for (const name of callDetailNames) {
    const value = details[name];
    if (value === undefined) continue;
    const current = call.positions[name];
    if (current !== undefined && compareCallPositions(position, current) < 0) continue;
    (call.details as Record<string, unknown>)[name] =
      typeof value === 'object' ? structuredClone(value) : value;
    call.positions[name] = position;
  }
}

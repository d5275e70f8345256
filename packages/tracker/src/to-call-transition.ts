import {
  type CallEvent,
  type CallStatus,
  InvalidArgumentError,
  isTerminalStatus,
} from '@calltrack/core';
import { type CallDetails, callDetailNames } from './call-details';
import { checkTrackableEvent, keepsCallDetail } from './call-snapshot-budget';
import type { CallIdentity, CallTransition, CallTransitionSettings } from './call-transition';

const impliedStatus: Readonly<Record<string, CallStatus>> = {
  'call.initiated': 'queued',
  'call.ringing': 'ringing',
  'call.answered': 'in-progress',
};

/**
 * Works out what an event does to its call:
 *
 * - `call.ended` ends it, with the event's status (`completed` when it has none); core's
 *   schema already refuses a `call.ended` with a non-terminal status.
 * - `call.initiated`, `call.ringing`, `call.answered` and `call.status_changed` move it to the
 *   event's status, or the one the type implies (`queued`, `ringing`, `in-progress`). Only
 *   `call.ended` ends a call: one of these carrying a terminal status only adds details.
 * - Every other `call.*` type (`call.analyzed`, `call.recording`, `call.transcript`…) adds
 *   details and never moves the status, even when it carries one (Retell's `call.analyzed`
 *   does).
 *
 * Details the call keeps come from the event's `data` (see `callDetailNames`), each only when it
 * fits `callSnapshotBudget` (a larger one stays on its event).
 *
 * Throws `InvalidArgumentError` for an event without a `callId`, and `InvalidEventError` for one
 * the tracker could not publish with a snapshot (see `checkTrackableEvent`).
 */
export function toCallTransition(
  event: CallEvent,
  at: number,
  settings: CallTransitionSettings,
): CallTransition {
  if (event.callId === undefined) {
    throw new InvalidArgumentError({
      message: `Event ${event.id} (${event.type}) has no callId; the tracker tracks calls only.`,
    });
  }
  const occurredAt = checkTrackableEvent(event);
  let kind: CallTransition['kind'] = 'enrich';
  let status: CallStatus | undefined;
  if (event.type === 'call.ended') {
    status = event.status ?? 'completed';
    kind = 'end';
  } else if (event.type in impliedStatus || event.type === 'call.status_changed') {
    const candidate = event.status ?? impliedStatus[event.type];
    if (candidate !== undefined && !isTerminalStatus(candidate)) {
      kind = 'status';
      status = candidate;
    }
  }
  const identity: CallIdentity = { provider: event.provider };
  if (event.branchId !== undefined) identity.branchId = event.branchId;
  if (event.agentId !== undefined) identity.agentId = event.agentId;
  if (event.userId !== undefined) identity.userId = event.userId;
  if (event.direction !== undefined) identity.direction = event.direction;
  if (event.from !== undefined) identity.from = event.from;
  if (event.to !== undefined) identity.to = event.to;
  return {
    tenantId: event.tenantId,
    callId: event.callId,
    eventId: event.id,
    kind,
    ...(status === undefined ? {} : { status }),
    occurredAt,
    ...(event.sequence === undefined ? {} : { sequence: event.sequence }),
    identity,
    details: pickCallDetails(event),
    at,
    ...(kind === 'end' ? { event } : {}),
    settings,
  };
}

function pickCallDetails(event: CallEvent): CallDetails {
  const details: Record<string, unknown> = {};
  for (const name of callDetailNames) {
    const value = event.data[name];
    if (value !== undefined && value !== null && keepsCallDetail(name, value)) {
      details[name] = value;
    }
  }
  return details as CallDetails;
}

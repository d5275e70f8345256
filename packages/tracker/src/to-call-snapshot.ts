import type { CallSnapshot } from '@calltrack/core';
import { isActiveStatus } from './call-status-rank';
import { effectiveDurationMs } from './effective-duration-ms';
import type { StoredCall } from './stored-call';

/**
 * ISO texts of recent times, most of them the times of the events being ingested, which their
 * snapshots repeat (a `Date` and its text cost more than the rest of a snapshot).
 */
const isoTexts = new Map<number, string>();
const isoTextsKept = 256;

const iso = (ms: number): string => {
  let text = isoTexts.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (isoTexts.size >= isoTextsKept) isoTexts.clear();
    isoTexts.set(ms, text);
  }
  return text;
};

/**
 * The snapshot of a stored call, as it leaves the store: times as ISO 8601, `active` from the
 * status, `durationMs` as {@link effectiveDurationMs} works it out, and copies of the store's
 * own objects (a caller may change what it gets).
 */
export function toCallSnapshot(call: StoredCall): CallSnapshot {
  const snapshot: CallSnapshot = {
    tenantId: call.tenantId,
    callId: call.callId,
    provider: call.provider,
    active: isActiveStatus(call.status),
    createdAt: iso(call.createdAt),
    updatedAt: iso(call.updatedAt),
    version: call.version,
  };
  if (call.status !== undefined) snapshot.status = call.status;
  if (call.branchId !== undefined) snapshot.branchId = call.branchId;
  if (call.agentId !== undefined) snapshot.agentId = call.agentId;
  if (call.userId !== undefined) snapshot.userId = call.userId;
  if (call.direction !== undefined) snapshot.direction = call.direction;
  if (call.from !== undefined) snapshot.from = call.from;
  if (call.to !== undefined) snapshot.to = call.to;
  if (call.startedAt !== undefined) snapshot.startedAt = iso(call.startedAt);
  if (call.answeredAt !== undefined) snapshot.answeredAt = iso(call.answeredAt);
  if (call.endedAt !== undefined) snapshot.endedAt = iso(call.endedAt);
  Object.assign(snapshot, call.details);
  // Snapshots leave the store: never hand out the store's own objects.
  if (call.details.analysis !== undefined)
    snapshot.analysis = structuredClone(call.details.analysis);
  if (call.details.cost !== undefined) snapshot.cost = { ...call.details.cost };
  const durationMs = effectiveDurationMs(call);
  if (durationMs !== undefined) snapshot.durationMs = durationMs;
  return snapshot;
}

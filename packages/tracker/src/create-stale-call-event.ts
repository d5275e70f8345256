import type { CallEvent, CallSnapshot } from '@calltrack/core';
import { boundedEventId } from './bounded-event-id';

/**
 * The `call.ended` the reaper closes a stale call with: id `calltrack:<callId>:stale` (the same
 * in every process, so only one end applies), `provider: 'calltrack'`, the given status,
 * `occurredAt` = the call's last update, or its start or answer time when the provider's clock
 * put those later (the last moment it was known alive, so `endedAt` and the derived duration do
 * not count the time it sat stale), `data.reason: 'stale'`.
 */
export function createStaleCallEvent(
  call: CallSnapshot,
  options: { at: number; status: 'failed' | 'canceled'; staleAfterMs: number },
): CallEvent {
  const event: CallEvent = {
    id: boundedEventId(`calltrack:${call.callId}:stale`),
    type: 'call.ended',
    tenantId: call.tenantId,
    provider: 'calltrack',
    callId: call.callId,
    status: options.status,
    occurredAt: lastKnownAlive(call),
    receivedAt: new Date(options.at).toISOString(),
    data: {
      reason: 'stale',
      staleAfterMs: options.staleAfterMs,
      lastUpdateAt: call.updatedAt,
    },
  };
  for (const name of ['branchId', 'agentId', 'userId', 'direction', 'from', 'to'] as const) {
    if (call[name] !== undefined) Object.assign(event, { [name]: call[name] });
  }
  return event;
}

function lastKnownAlive(call: CallSnapshot): string {
  const times = [call.updatedAt, call.startedAt, call.answeredAt].flatMap((time) =>
    time === undefined ? [] : [Date.parse(time)],
  );
  return new Date(Math.max(...times)).toISOString();
}

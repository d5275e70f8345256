import type { CallEvent, CallStatus } from '@calltrack/core';

const statusOf: Record<string, CallStatus | undefined> = {
  'call.initiated': 'queued',
  'call.ringing': 'ringing',
  'call.answered': 'in-progress',
  'call.ended': 'completed',
};

let counter = 0;

/** A valid call event of a tenant; `id` is unique unless given. */
export function makeEvent(
  tenantId: string,
  overrides: Partial<CallEvent> & { callId?: string; type?: string } = {},
): CallEvent {
  counter += 1;
  const type = overrides.type ?? 'call.transcript';
  const status = statusOf[type];
  const at = new Date(Date.UTC(2026, 10, 21, 10, 0, 0) + counter * 1000).toISOString();
  return {
    id: `test:${tenantId}:${counter}:${Math.random().toString(36).slice(2, 8)}`,
    type,
    tenantId,
    provider: 'twilio',
    callId: `CA-${tenantId}-1`,
    occurredAt: at,
    receivedAt: at,
    ...(status === undefined ? {} : { status }),
    data: {},
    ...overrides,
  } as CallEvent;
}

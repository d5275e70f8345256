import type { CallEvent } from '@calltrack/core';

let counter = 0;

/** A valid call event for tests; `id` and `callId` are unique unless given. */
export function makeCallEvent(overrides: Partial<CallEvent> = {}): CallEvent {
  counter += 1;
  return {
    id: `test:${process.pid}:${counter}`,
    type: 'call.ringing',
    tenantId: 'tenant-a',
    provider: 'twilio',
    callId: `CA${counter}`,
    status: 'ringing',
    occurredAt: '2026-11-21T10:00:00.000Z',
    receivedAt: '2026-11-21T10:00:00.100Z',
    data: {},
    ...overrides,
  };
}

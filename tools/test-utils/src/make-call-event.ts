import type { CallEvent } from '@calltrack/core';
import { testEventEpoch } from './clock-from';

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
    occurredAt: new Date(testEventEpoch).toISOString(),
    receivedAt: new Date(testEventEpoch + 100).toISOString(),
    data: {},
    ...overrides,
  };
}

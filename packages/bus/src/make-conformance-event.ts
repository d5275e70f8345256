import { randomUUID } from 'node:crypto';
import type { CallEvent } from '@calltrack/core';

// Ids carry a token of this run, so events of earlier runs still in a backend's history (a bus of
// your own on a server that outlives the tests) are never taken for duplicates.
const run = randomUUID();
let counter = 0;

/**
 * A valid `call.ringing` event of `tenant-a` for the conformance suite; `id` and `callId` are
 * unique unless given.
 */
export function makeConformanceEvent(overrides: Partial<CallEvent> = {}): CallEvent {
  counter += 1;
  return {
    id: `conformance:${run}:${counter}`,
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

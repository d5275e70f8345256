import type { CallEvent } from '@calltrack/core';

/** A realistic call event (~400 bytes of JSON) for benchmarks; `index` makes the id unique. */
export function benchEvent(index: number, tenantId = 'bench-tenant', runId = 'run'): CallEvent {
  return {
    id: `twilio:${runId}:CA${index.toString(16).padStart(32, '0')}:${index % 5}`,
    type: 'call.ringing',
    tenantId,
    branchId: 'branch-1',
    provider: 'twilio',
    callId: `CA${index.toString(16).padStart(32, '0')}`,
    direction: 'outbound',
    from: '+14155550100',
    to: '+14155550111',
    status: 'ringing',
    occurredAt: '2026-11-21T10:00:00.000Z',
    receivedAt: '2026-11-21T10:00:00.120Z',
    sequence: index % 5,
    data: { answeredBy: 'human' },
  };
}

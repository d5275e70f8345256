import fc from 'fast-check';
import { callDirections } from '../call-direction';
import type { CallEvent } from '../call-event-schema';
import { callEventTypes } from '../call-event-type';
import { callStatuses, isTerminalStatus } from '../call-status';

const identifier = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,40}$/);
const isoDate = fc
  .date({
    min: new Date('2000-01-01T00:00:00Z'),
    max: new Date('2099-12-31T23:59:59Z'),
    noInvalidDate: true,
  })
  .map((date) => date.toISOString());

/** Arbitrary valid call events, for property tests. */
export const callEventArbitrary: fc.Arbitrary<CallEvent> = fc
  .record(
    {
      id: identifier,
      type: fc.constantFrom(...callEventTypes),
      tenantId: identifier,
      branchId: identifier,
      agentId: identifier,
      provider: fc.constantFrom('twilio', 'retell', 'callerdesk'),
      callId: identifier,
      direction: fc.constantFrom(...callDirections),
      from: fc.stringMatching(/^\+[1-9][0-9]{6,14}$/),
      to: fc.stringMatching(/^\+[1-9][0-9]{6,14}$/),
      status: fc.constantFrom(...callStatuses),
      occurredAt: isoDate,
      receivedAt: isoDate,
      sequence: fc.nat(),
      data: fc.record(
        {
          durationMs: fc.nat(),
          recordingUrl: fc.webUrl(),
          answeredBy: fc.constantFrom('human', 'machine_start', 'fax', 'unknown'),
          transcript: fc.string(),
          disconnectionReason: fc.string(),
        },
        { requiredKeys: [] },
      ),
    },
    {
      requiredKeys: [
        'id',
        'type',
        'tenantId',
        'provider',
        'callId',
        'occurredAt',
        'receivedAt',
        'data',
      ],
    },
  )
  .map((event) =>
    // A call.ended always carries a terminal status (or none).
    event.type === 'call.ended' && event.status !== undefined && !isTerminalStatus(event.status)
      ? { ...event, status: 'completed' as const }
      : event,
  );

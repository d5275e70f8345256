import { callStatuses, isTerminalStatus } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { mapTwilioCallStatus, twilioCallStatuses } from './map-twilio-call-status';

describe('mapTwilioCallStatus', () => {
  it.each([
    ['queued', 'queued', 'call.initiated'],
    ['initiated', 'queued', 'call.initiated'],
    ['ringing', 'ringing', 'call.ringing'],
    ['in-progress', 'in-progress', 'call.answered'],
    ['completed', 'completed', 'call.ended'],
    ['busy', 'busy', 'call.ended'],
    ['no-answer', 'no-answer', 'call.ended'],
    ['failed', 'failed', 'call.ended'],
    ['canceled', 'canceled', 'call.ended'],
  ])('%s → %s / %s', (twilio, status, type) => {
    expect(mapTwilioCallStatus(twilio)).toEqual({ status, type });
  });

  it('maps every documented Twilio status into the core vocabulary', () => {
    for (const twilio of twilioCallStatuses) {
      const mapping = mapTwilioCallStatus(twilio)!;
      expect(callStatuses).toContain(mapping.status);
      expect(mapping.type === 'call.ended').toBe(isTerminalStatus(mapping.status));
    }
  });

  it('is case- and whitespace-tolerant', () => {
    expect(mapTwilioCallStatus(' Completed ')?.status).toBe('completed');
  });

  it('returns undefined for unknown values', () => {
    for (const value of ['', 'ended', 'toString', '__proto__', undefined, null]) {
      expect(mapTwilioCallStatus(value)).toBeUndefined();
    }
  });
});

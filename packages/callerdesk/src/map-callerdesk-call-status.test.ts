import { describe, expect, it } from 'vitest';
import { callerDeskStatusKey, mapCallerDeskCallStatus } from './map-callerdesk-call-status';

describe('mapCallerDeskCallStatus', () => {
  it.each([
    // Incoming (docs.callerdesk.io/incoming-call-reports-status)
    ['ANSWER (16)', 'completed'],
    ['CANCEL (0)', 'canceled'],
    ['NO ANSWER (0-Agent)', 'no-answer'],
    ['BUSY (17)', 'busy'],
    ['CONGESTION', 'failed'],
    ['Unavailable (19)', 'failed'],
    ['CHANUNAVAIL', 'failed'],
    ['Not connected', 'failed'],
    ['AgentEngaged (0-Agent)', 'busy'],
    ['AgentonRing (0-Agent)', 'no-answer'],
    ['AbandonedCall', 'canceled'],
    ['Transfer to agent', 'completed'],
    ['Picked', 'completed'],
    // Outgoing (docs.callerdesk.io/outgoing-call-reports-status)
    ['ANSWER', 'completed'],
    ['Cancel-Agent', 'canceled'],
    ['Cancel-Customer', 'no-answer'],
    ['NOANSWER (0-customer)', 'no-answer'],
    ['Busy (17-customer)', 'busy'],
    ['Congestion (1-agent)', 'failed'],
    ['Unavailable (19-customer)', 'failed'],
    // n8n node vocabulary
    ['MISSED', 'no-answer'],
    ['FAILED', 'failed'],
    ['answered', 'completed'],
  ])('maps the call report status %j to %s', (status, expected) => {
    expect(mapCallerDeskCallStatus(status, 'report')).toBe(expected);
  });

  it('judges an unknown report status by the talk time', () => {
    expect(mapCallerDeskCallStatus('Something New', 'report', 12000)).toBe('completed');
    expect(mapCallerDeskCallStatus('Something New', 'report', 0)).toBe('failed');
    expect(mapCallerDeskCallStatus('', 'report')).toBe('failed');
  });

  it.each([
    ['AgentonRing (0-Agent)', 'ringing'],
    ['Transfer to agent', 'ringing'],
    ['Ringing', 'ringing'],
    ['Picked', 'in-progress'],
    ['ANSWER (16)', 'in-progress'],
    ['Connected', 'in-progress'],
    ['CANCEL (0)', 'canceled'],
    ['NO ANSWER (0-Agent)', 'no-answer'],
    ['BUSY (17)', 'busy'],
    ['Something New', undefined],
  ])('maps the live call status %j to %s', (status, expected) => {
    expect(mapCallerDeskCallStatus(status, 'live')).toBe(expected);
  });

  it('ignores case, spacing and the hangup cause', () => {
    expect(callerDeskStatusKey('NO ANSWER (0-Agent)')).toBe('noanswer');
    expect(callerDeskStatusKey(' no_answer ')).toBe('noanswer');
    expect(callerDeskStatusKey('Cancel-Customer')).toBe('cancelcustomer');
  });
});

import { InvalidPayloadError } from '@calltrack/core';
import { createFixtureLoader } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { parseRetellWebhookPayload } from './parse-retell-webhook-payload';

const loadFixture = createFixtureLoader(new URL('./__fixtures__/', import.meta.url));

describe('parseRetellWebhookPayload', () => {
  it('returns the event, the call and the whole body', () => {
    const { json, text } = loadFixture('retell-call-ended.json');
    const payload = parseRetellWebhookPayload(text);
    expect(payload.event).toBe('call_ended');
    expect(payload.call?.call_id).toBe('Kx7Qp2Lm9Rt4Vw8Yz1Ab5Cd3Ef6Gh0Jk');
    expect(payload.body).toEqual(json);
    // Unknown fields pass through.
    expect(payload.call?.llm_token_usage).toEqual({
      values: [1210, 1388],
      average: 1299,
      num_requests: 2,
    });
  });

  it('leaves call undefined for events calltrack does not map', () => {
    const payload = parseRetellWebhookPayload(loadFixture('retell-chat-started.json').json);
    expect(payload).toMatchObject({ event: 'chat_started', call: undefined });
  });

  it('accepts null for optional fields', () => {
    const payload = parseRetellWebhookPayload({
      event: 'call_ended',
      call: { call_id: 'c1', transfer_destination: null, call_analysis: null, agent_id: null },
    });
    expect(payload.call?.call_id).toBe('c1');
  });

  it.each([
    [{ call: { call_id: 'c' } }, '"event" is required'],
    [{ event: '', call: { call_id: 'c' } }, '"event" is invalid'],
    [{ event: 'call_started' }, '"call" is required'],
    [{ event: 'call_started', call: 'c1' }, '"call" is invalid'],
    [{ event: 'call_started', call: { call_id: '' } }, '"call.call_id" is invalid'],
    [{ event: 'call_started', call: { call_id: 'x'.repeat(129) } }, '"call.call_id" is invalid'],
    [
      { event: 'call_started', call: { call_id: 'c', duration_ms: '5' } },
      '"call.duration_ms" is invalid',
    ],
    [[], 'must be a JSON object'],
    ['[1,2]', 'must be a JSON object'],
    ['', 'not valid JSON'],
  ])('refuses %j: %s', (value, message) => {
    expect(() => parseRetellWebhookPayload(value)).toThrow(InvalidPayloadError);
    expect(() => parseRetellWebhookPayload(value)).toThrow(message);
  });
});

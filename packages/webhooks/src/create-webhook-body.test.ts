import { makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createWebhookBody, type WebhookPayload } from './create-webhook-body';
import { webhookMessageId } from './webhook-message-id';

describe('createWebhookBody', () => {
  it('wraps the event in { type, timestamp, data } without raw', () => {
    const event = makeCallEvent({ type: 'call.ended', status: 'completed', raw: { secret: 1 } });
    const payload = JSON.parse(createWebhookBody(event, 20_000)) as WebhookPayload;
    expect(payload.type).toBe('call.ended');
    expect(payload.timestamp).toBe(event.occurredAt);
    const { raw: _raw, ...withoutRaw } = event;
    expect(payload.data).toEqual(withoutRaw);
  });

  it('drops the largest data fields first when over the limit, and names them', () => {
    const event = makeCallEvent({
      type: 'call.transcript',
      data: {
        transcript: 'x'.repeat(30_000),
        answeredBy: 'human',
        analysis: { summary: 'y'.repeat(500) },
      },
    });
    const body = createWebhookBody(event, 20_000);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(20_000);
    const payload = JSON.parse(body) as WebhookPayload;
    expect(payload.data.omitted).toEqual(['data.transcript']);
    expect(payload.data.data).toEqual({
      answeredBy: 'human',
      analysis: { summary: 'y'.repeat(500) },
    });
  });
});

describe('webhookMessageId', () => {
  it('is stable, per tenant, and free of full stops', () => {
    const id = webhookMessageId('acme', 'twilio:CA1:completed');
    expect(id).toBe(webhookMessageId('acme', 'twilio:CA1:completed'));
    expect(id).not.toBe(webhookMessageId('other', 'twilio:CA1:completed'));
    expect(id).toMatch(/^msg_[A-Za-z0-9_-]{27}$/);
  });
});

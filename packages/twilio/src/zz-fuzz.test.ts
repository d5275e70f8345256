import { createCollectingSink } from '@calltrack/test-utils';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { createCallerDeskWebhookHandler } from '../../callerdesk/src/create-callerdesk-webhook-handler';
import { createRetellWebhookHandler } from '../../retell/src/create-retell-webhook-handler';
import { signRetellWebhook } from '../../retell/src/sign-retell-webhook';
import { computeTwilioSignature } from './compute-twilio-signature';
import { createTwilioWebhookHandler } from './create-twilio-webhook-handler';

const now = 1_700_000_000_000;
const clock = { now: () => now };
const errors: unknown[] = [];
const onError = (e: Error) => { if ((e as { status?: number }).status === undefined || (e as { status: number }).status >= 500) errors.push(e); };
const sink = createCollectingSink();
const twilio = createTwilioWebhookHandler({ authToken: 'tok', sink, resolveTenant: (c) => ({ tenantId: c.params.T || 'acme' }), clock, onError });
const retell = createRetellWebhookHandler({ apiKey: 'key', sink, resolveTenant: (c) => ({ tenantId: 'acme' }), clock, onError });
const callerdesk = createCallerDeskWebhookHandler({ token: 'x'.repeat(20), sink, resolveTenant: () => ({ tenantId: 'acme' }), clock, onError });

const str = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', ' ', 'completed', 'ringing', 'in-progress', 'CA123', '+14155550100', 'Mon, 01 Jan 2024 00:00:00 +0000', '2024-01-01 10:00:00', '0000-00-00 00:00:00', '1e999', '-1', 'NaN', '__proto__', 'constructor', 'a'.repeat(70)));
const names = fc.constantFrom('CallSid', 'CallStatus', 'AccountSid', 'From', 'To', 'Direction', 'Timestamp', 'SequenceNumber', 'CallDuration', 'RecordingSid', 'RecordingStatus', 'RecordingUrl', 'RecordingDuration', 'AnsweredBy', 'MachineDetectionDuration', 'SipResponseCode', 'ParentCallSid', 'Caller', 'Called', '__proto__', 'constructor', 'T', 'RecordingStartTime', 'RecordingChannels');

it('twilio: signed random params never 500', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(names, str), { maxLength: 12 }), fc.constantFrom('', '?tenant=acme', '?reference=r%20x', "?a='b"), async (pairs, query) => {
    const url = `http://localhost/twilio${query}`;
    const body = new URLSearchParams(pairs).toString();
    const signature = computeTwilioSignature({ authToken: 'tok', url: new URL(url).href, params: new URLSearchParams(body) });
    const response = await twilio(new Request(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature } }));
    if (response.status >= 500) throw new Error(`${response.status} ${await response.text()} ${body}`);
  }), { numRuns: 3000 });
  expect(errors).toEqual([]);
});

const rnames = fc.constantFrom('call_id', 'call_status', 'direction', 'from_number', 'to_number', 'start_timestamp', 'end_timestamp', 'duration_ms', 'transcript', 'transcript_object', 'disconnection_reason', 'metadata', 'call_analysis', 'call_cost', 'transfer_destination', 'transfer_end_timestamp', 'recording_url', 'agent_id', 'call_type', '__proto__');
const rval = fc.oneof(str, fc.double(), fc.integer(), fc.constant(null), fc.jsonValue(), fc.constant(1e300), fc.constant(-5), fc.constant(8.64e15));
it('retell: signed random payloads never 500', async () => {
  await fc.assert(fc.asyncProperty(fc.constantFrom('call_started', 'call_ended', 'call_analyzed', 'transcript_updated', 'transfer_started', 'transfer_ended', 'chat_ended'), fc.dictionary(rnames, rval), fc.oneof(fc.constant('c1'), str), async (event, call, callId) => {
    const body = JSON.stringify({ event, call: { call_id: callId, ...call } });
    const signature = signRetellWebhook({ apiKey: 'key', body, timestamp: now });
    const response = await retell(new Request('http://localhost/retell', { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-retell-signature': signature } }));
    if (response.status >= 500) throw new Error(`${response.status} ${await response.text()} ${body}`);
  }), { numRuns: 3000 });
  expect(errors).toEqual([]);
});

const cnames = fc.constantFrom('CallSid', 'Status', 'callstatus', 'Uniqueid', 'StartTime', 'EndTime', 'CallDuration', 'TalkDuration', 'SourceNumber', 'DestinationNumber', 'DialWhomNumber', 'Direction', 'CallRecordingUrl', 'type', 'coins', 'LegB_Picked_time', 'account_id', 'campid', 'call_sid', 'STATUS', '__proto__', 'token');
it('callerdesk: random payloads never 500', async () => {
  await fc.assert(fc.asyncProperty(fc.dictionary(cnames, rval), fc.boolean(), async (fields, json) => {
    const body = json ? JSON.stringify(fields) : new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''])).toString();
    const response = await callerdesk(new Request(`http://localhost/callerdesk?token=${'x'.repeat(20)}`, { method: 'POST', body, headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded' } }));
    if (response.status >= 500) throw new Error(`${response.status} ${await response.text()} ${body}`);
  }), { numRuns: 3000 });
  expect(errors).toEqual([]);
});

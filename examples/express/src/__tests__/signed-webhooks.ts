import { signRetellWebhook } from '@calltrack/retell';
import { demoCredentials } from '@calltrack/simulator';
import { computeTwilioSignature } from '@calltrack/twilio';

/** A Twilio status callback of a call on `line` (a demo line, or any number for a 422). */
export function twilioStatus(options: {
  callSid: string;
  status: 'initiated' | 'ringing' | 'in-progress' | 'completed';
  sequence: number;
  line: string;
  customer?: string;
  duration?: number;
}): Record<string, string> {
  const customer = options.customer ?? '+12125550147';
  return {
    AccountSid: `AC${'0'.repeat(32)}`,
    CallSid: options.callSid,
    CallStatus: options.status,
    Direction: 'inbound',
    From: customer,
    To: options.line,
    SequenceNumber: String(options.sequence),
    Timestamp: new Date().toUTCString(),
    ...(options.duration === undefined ? {} : { CallDuration: String(options.duration) }),
  };
}

/**
 * Posts a Twilio webhook to the app (`path`: the status callback, or `/webhooks/twilio/voice`).
 * `signature`: `'valid'` (signed with the demo Auth Token),
 * `'wrong'` (signed with another token) or `'none'`.
 */
export function postTwilio(
  baseUrl: string,
  params: Record<string, string>,
  signature: 'valid' | 'wrong' | 'none' = 'valid',
  path = '/webhooks/twilio',
): Promise<Response> {
  const url = `${baseUrl}${path}`;
  const authToken = signature === 'wrong' ? 'not-the-auth-token' : demoCredentials.twilioAuthToken;
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === 'none'
        ? {}
        : { 'x-twilio-signature': computeTwilioSignature({ authToken, url, params }) }),
    },
    body: new URLSearchParams(params),
  });
}

/** Posts a Retell `call_started` webhook for a call on `line`. */
export function postRetellCallStarted(
  baseUrl: string,
  options: { callId: string; line: string; signature?: 'valid' | 'wrong' | 'none' },
): Promise<Response> {
  const body = JSON.stringify({
    event: 'call_started',
    call: {
      call_type: 'phone_call',
      from_number: '+12125550148',
      to_number: options.line,
      direction: 'inbound',
      call_id: options.callId,
      agent_id: 'agent_demo',
      call_status: 'ongoing',
      start_timestamp: Date.now(),
    },
  });
  const signature = options.signature ?? 'valid';
  const apiKey = signature === 'wrong' ? 'not-the-api-key' : demoCredentials.retellApiKey;
  return fetch(`${baseUrl}/webhooks/retell`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature === 'none'
        ? {}
        : { 'x-retell-signature': signRetellWebhook({ apiKey, body }) }),
    },
    body,
  });
}

/** Posts a Retell `call_ended` webhook of a call on `line`, with its recording at `recordingUrl`. */
export function postRetellCallEnded(
  baseUrl: string,
  options: { callId: string; line: string; recordingUrl: string },
): Promise<Response> {
  const now = Date.now();
  const body = JSON.stringify({
    event: 'call_ended',
    call: {
      call_type: 'phone_call',
      from_number: '+12125550148',
      to_number: options.line,
      direction: 'inbound',
      call_id: options.callId,
      agent_id: 'agent_demo',
      call_status: 'ended',
      start_timestamp: now - 12_000,
      end_timestamp: now,
      duration_ms: 12_000,
      disconnection_reason: 'user_hangup',
      recording_url: options.recordingUrl,
    },
  });
  return fetch(`${baseUrl}/webhooks/retell`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-retell-signature': signRetellWebhook({ apiKey: demoCredentials.retellApiKey, body }),
    },
    body,
  });
}

/** Posts a CallerDesk live-call webhook (ringing) for a call on `line` (as CallerDesk writes it). */
export function postCallerDeskRinging(
  baseUrl: string,
  options: { callId: string; line: string; token?: string | null },
): Promise<Response> {
  const url = new URL(`${baseUrl}/webhooks/callerdesk`);
  const token = options.token === undefined ? demoCredentials.callerDeskToken : options.token;
  if (token !== null) url.searchParams.set('token', token);
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      SourceNumber: '9876543210',
      DestinationNumber: options.line,
      DialWhomNumber: '9812345678',
      Status: 'AgentonRing (0-Agent)',
      StartTime: new Date(Date.now() + 5.5 * 3600_000).toISOString().slice(0, 19).replace('T', ' '),
      CallSid: options.callId,
      Direction: 'IVR',
    }),
  });
}

/** Posts a CallerDesk call report of an answered call on `line`, its recording at `recordingUrl`. */
export function postCallerDeskReport(
  baseUrl: string,
  options: { callId: string; line: string; recordingUrl: string },
): Promise<Response> {
  const url = new URL(`${baseUrl}/webhooks/callerdesk`);
  url.searchParams.set('token', demoCredentials.callerDeskToken);
  const ist = (ms: number) =>
    new Date(ms + 5.5 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
  const now = Date.now();
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      SourceNumber: '9876543210',
      DestinationNumber: options.line,
      DialWhomNumber: '9812345678',
      Status: 'ANSWER',
      StartTime: ist(now - 20_000),
      EndTime: ist(now),
      CallDuration: '20',
      TalkDuration: '12',
      CallSid: options.callId,
      Direction: 'IVR',
      CallRecordingUrl: options.recordingUrl,
    }),
  });
}

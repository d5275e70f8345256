// The dialer's tests place calls through this small CallControl over the real Twilio client,
// pointed at the loopback provider server. The attempt id travels as `reference` in the status
// callback's query, where the provider server reads it back.
import type { CallControl } from '@calltrack/core';
import { createTwilioClient } from '@calltrack/twilio';

export function createTestCallControl(options: {
  baseUrl: string;
  accountSid: string;
  authToken: string;
  from?: string;
  timeoutMs?: number;
}): CallControl {
  const client = createTwilioClient({
    accountSid: options.accountSid,
    authToken: options.authToken,
    baseUrl: options.baseUrl,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  return {
    provider: 'twilio',
    async placeCall(request) {
      const callback = new URL('https://app.example.com/webhooks/twilio');
      callback.searchParams.set('tenant', request.tenantId);
      if (request.reference !== undefined)
        callback.searchParams.set('reference', request.reference);
      const call = await client.placeCall({
        to: request.to,
        from: request.from ?? options.from ?? '+14155550000',
        url: 'https://app.example.com/twiml',
        statusCallback: callback.toString(),
        statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
      return { provider: 'twilio', callId: call.sid, reference: request.reference };
    },
    async terminateCall(callId) {
      await client.endCall(callId);
    },
  };
}

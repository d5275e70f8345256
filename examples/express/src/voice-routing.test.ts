import { demoCredentials } from '@calltrack/simulator';
import { computeTwilioSignature } from '@calltrack/twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { postTwilio, twilioStatus } from './__tests__/signed-webhooks';
import { startDemoApp, stopDemoApps } from './__tests__/start-demo-app';

const northLine = '+14155550100';
const customer = '+12125550147';

let counter = 0;
const nextCallSid = () => {
  counter += 1;
  return `CA${String(Date.now())}${String(counter).padStart(4, '0')}`.padEnd(34, '0');
};

/** Posts Twilio's voice request ("A call comes in") to the app, signed like Twilio signs it. */
function postVoice(
  baseUrl: string,
  params: Record<string, string>,
  signature: 'valid' | 'wrong' | 'none' = 'valid',
) {
  const url = `${baseUrl}/webhooks/twilio/voice`;
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

const incomingCall = (callSid: string, to = northLine) => ({
  AccountSid: `AC${'0'.repeat(32)}`,
  CallSid: callSid,
  CallStatus: 'ringing',
  Direction: 'inbound',
  From: customer,
  To: to,
});

describe('the Twilio voice webhook: an available agent, or voicemail', () => {
  afterEach(stopDemoApps);

  it('dials an available agent, and sends callers to voicemail when none is', async () => {
    const demo = await startDemoApp();

    const alone = await postVoice(demo.url, incomingCall(nextCallSid()));
    expect(alone.status).toBe(200);
    expect(alone.headers.get('content-type')).toMatch(/^text\/xml/);
    const voicemail = await alone.text();
    expect(voicemail).toContain('<Record');
    expect(voicemail).not.toContain('<Dial');

    const connection = await demo.presence.connect({ tenantId: 'demo', userId: 'agent-asha' });
    const firstCall = nextCallSid();
    const dialled = await (await postVoice(demo.url, incomingCall(firstCall))).text();
    expect(dialled).toMatch(/<Dial[^>]*><Client>agent-asha<\/Client><\/Dial>/);
    // Twilio retries a voice request: the same call gets the same agent.
    expect(await (await postVoice(demo.url, incomingCall(firstCall))).text()).toBe(dialled);

    // The call's status webhooks name the agent, so presence sees her on it: busy.
    expect(
      (
        await postTwilio(
          demo.url,
          twilioStatus({ callSid: firstCall, status: 'in-progress', sequence: 0, line: northLine }),
        )
      ).status,
    ).toBe(200);
    expect((await demo.tracker.getCall('demo', firstCall))?.agentId).toBe('agent-asha');
    expect(await demo.presence.isAvailable('demo', 'agent-asha')).toBe(false);
    const whileBusy = await (await postVoice(demo.url, incomingCall(nextCallSid()))).text();
    expect(whileBusy).toContain('<Record');

    // The call ends: she is available again. On a break, she gets no call.
    await postTwilio(
      demo.url,
      twilioStatus({
        callSid: firstCall,
        status: 'completed',
        sequence: 1,
        line: northLine,
        duration: 30,
      }),
    );
    expect(await demo.presence.isAvailable('demo', 'agent-asha')).toBe(true);
    await demo.presence.setState('demo', 'agent-asha', 'break');
    expect(await (await postVoice(demo.url, incomingCall(nextCallSid()))).text()).toContain(
      '<Record',
    );
    await connection.disconnect({ immediate: true });
  });

  it('refuses unsigned, forged and malformed requests with the right 4xx', async () => {
    const demo = await startDemoApp();
    await demo.presence.connect({ tenantId: 'demo', userId: 'agent-ben' });
    const callSid = nextCallSid();

    const unsigned = await postVoice(demo.url, incomingCall(callSid), 'none');
    expect(unsigned.status).toBe(401);
    const forged = await postVoice(demo.url, incomingCall(callSid), 'wrong');
    expect(forged.status).toBe(403);
    expect((await forged.json()).error.code).toBe('forbidden');
    // Nothing was routed by the refused requests: the call is still unrouted.
    expect(demo.callRouter.hasRouted(callSid)).toBe(false);

    const { CallSid: _omitted, ...withoutCallSid } = incomingCall(callSid);
    const noCallSid = await postVoice(demo.url, withoutCallSid);
    expect(noCallSid.status).toBe(400);
    expect((await noCallSid.json()).error.message).toContain('CallSid');

    const unknownLine = await postVoice(demo.url, incomingCall(callSid, '+15005550000'));
    expect(unknownLine.status).toBe(422);

    const json = await fetch(`${demo.url}/webhooks/twilio/voice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-twilio-signature': 'x' },
      body: '{}',
    });
    expect(json.status).toBe(415);
    const get = await fetch(`${demo.url}/webhooks/twilio/voice`);
    expect(get.status).toBe(404); // only POST is routed here, as the other webhooks
  });
});

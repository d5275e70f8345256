import { afterEach, describe, expect, it } from 'vitest';
import { postTwilio, twilioStatus } from './__tests__/signed-webhooks';
import { startConsoleApp, startDemoApp, stopDemoApps } from './__tests__/start-demo-app';

afterEach(stopDemoApps);

const twilioNorth = '+14155550100';
const customer = '+12125550147';

async function json(response: Response | Promise<Response>) {
  const answer = await response;
  return { status: answer.status, body: await answer.json() };
}

/** A Twilio call on the north line that ended, with a recording callback when `recording`. */
async function endedTwilioCall(
  url: string,
  callSid: string,
  recording: boolean,
  recordingUrl = `https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE${'1'.repeat(32)}`,
) {
  let sequence = 0;
  for (const status of ['ringing', 'in-progress', 'completed'] as const) {
    const answer = await postTwilio(
      url,
      twilioStatus({
        callSid,
        status,
        sequence: sequence++,
        line: twilioNorth,
        customer,
        ...(status === 'completed' ? { duration: 12 } : {}),
      }),
    );
    expect(answer.status).toBe(200);
  }
  if (!recording) return;
  const answer = await postTwilio(url, {
    AccountSid: `AC${'0'.repeat(32)}`,
    CallSid: callSid,
    RecordingSid: `RE${'1'.repeat(32)}`,
    RecordingUrl: recordingUrl,
    RecordingStatus: 'completed',
    RecordingDuration: '12',
  });
  expect(answer.status).toBe(200);
}

describe('the console routes', () => {
  it("keeps a call's timeline, masked, in the order things happened", async () => {
    const demo = await startDemoApp();
    await demo.timelines.ready;
    const callSid = `CA${'a'.repeat(32)}`;
    await endedTwilioCall(demo.url, callSid, false);
    const { status, body } = await json(fetch(`${demo.url}/api/calls/${callSid}/timeline`));
    expect(status).toBe(200);
    expect(body.events.map((event: { type: string }) => event.type)).toEqual([
      'call.ringing',
      'call.answered',
      'call.ended',
    ]);
    expect(JSON.stringify(body)).not.toContain(customer);
    // An unknown call has no events; a call id over 256 characters is refused.
    expect((await json(fetch(`${demo.url}/api/calls/CA-unknown/timeline`))).body.events).toEqual(
      [],
    );
    expect((await fetch(`${demo.url}/api/calls/${'x'.repeat(300)}/timeline`)).status).toBe(400);
  });

  it('answers a call id that is not valid URL encoding 400 in JSON, with no stack trace', async () => {
    const demo = await startDemoApp();
    // Express's own error page answered these: HTML with the server's stack trace and paths.
    for (const path of ['/api/calls/%ZZ/timeline', '/api/calls/%E0%A4%A/recording']) {
      const answer = await fetch(`${demo.url}${path}`);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await answer.text();
      expect(text).not.toMatch(/URIError|node_modules|at /);
      expect(JSON.parse(text)).toMatchObject({ error: { code: 'invalid_argument' } });
    }
  });

  it('keeps the alerts raised before a console opened', async () => {
    const demo = await startDemoApp({ alerts: { maxConcurrentCalls: 0 } });
    await demo.timelines.ready;
    await endedTwilioCall(demo.url, `CA${'9'.repeat(32)}`, false);
    const { body } = await json(fetch(`${demo.url}/api/alerts/recent`));
    expect(body.alerts).toEqual([
      expect.objectContaining({
        type: 'alert.concurrency_exceeded',
        data: expect.objectContaining({ value: 1, threshold: 0 }),
      }),
    ]);
  });

  it('ends the answer, and only it, when the provider breaks off a recording midway', async () => {
    let breakOff = true;
    const demo = await startDemoApp({
      fetchRecording: async () => {
        const cut = breakOff;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array([1, 2, 3]));
            if (cut) setTimeout(() => controller.error(new Error('connection reset')), 20);
            else controller.close();
          },
        });
        return new Response(body, { headers: { 'content-type': 'audio/mpeg' } });
      },
    });
    const recorded = `CA${'e'.repeat(32)}`;
    await endedTwilioCall(demo.url, recorded, true);
    // The stream's error had no listener (pipe() does not forward errors): an uncaught
    // exception that ended the process.
    const broken = await fetch(`${demo.url}/api/calls/${recorded}/recording`);
    expect(broken.status).toBe(200);
    await expect(broken.arrayBuffer()).rejects.toThrow();
    breakOff = false;
    const whole = await fetch(`${demo.url}/api/calls/${recorded}/recording`);
    expect(new Uint8Array(await whole.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('plays a recording through the app, and refuses what has none', async () => {
    const fetched: string[] = [];
    const demo = await startDemoApp({
      fetchRecording: async (url) => {
        fetched.push(url);
        return url.endsWith('broken')
          ? new Response('<html>login</html>', { headers: { 'content-type': 'text/html' } })
          : new Response(new Uint8Array([1, 2, 3]), { headers: { 'content-type': 'audio/mpeg' } });
      },
    });
    const recorded = `CA${'b'.repeat(32)}`;
    await endedTwilioCall(demo.url, recorded, true);
    const audio = await fetch(`${demo.url}/api/calls/${recorded}/recording`);
    expect(audio.status).toBe(200);
    expect(audio.headers.get('content-type')).toBe('audio/mpeg');
    expect(new Uint8Array(await audio.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3]));
    expect(fetched).toEqual([expect.stringMatching(/^https:\/\/api\.twilio\.com\//)]);

    const silent = `CA${'c'.repeat(32)}`;
    await endedTwilioCall(demo.url, silent, false);
    expect(await json(fetch(`${demo.url}/api/calls/${silent}/recording`))).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect((await fetch(`${demo.url}/api/calls/CA-unknown/recording`)).status).toBe(404);
    // What the provider hands over must be audio: a login page is not passed on.
    const broken = `CA${'f'.repeat(32)}`;
    await endedTwilioCall(demo.url, broken, true, 'https://api.twilio.com/2010-04-01/broken');
    expect(await json(fetch(`${demo.url}/api/calls/${broken}/recording`))).toMatchObject({
      status: 502,
      body: { error: { code: 'recording_unavailable' } },
    });
    expect((await fetch(`${demo.url}/api/calls/${'x'.repeat(300)}/recording`)).status).toBe(400);
  });

  it('synthesizes the simulated calls’ recordings by default (they hold no audio)', async () => {
    const demo = await startDemoApp();
    const recorded = `CA${'d'.repeat(32)}`;
    await endedTwilioCall(demo.url, recorded, true);
    const audio = await fetch(`${demo.url}/api/calls/${recorded}/recording`);
    expect(audio.headers.get('content-type')).toBe('audio/wav');
    const bytes = new Uint8Array(await audio.arrayBuffer());
    expect(new TextDecoder().decode(bytes.slice(0, 4))).toBe('RIFF');
    // 12 s at 8 kHz, 16-bit mono, plus the 44-byte header.
    expect(bytes.length).toBe(44 + 12 * 8_000 * 2);
  });

  it('places and ends calls through the simulated providers, and refuses bad requests', async () => {
    const demo = await startConsoleApp({
      providers: {
        simulator: { speed: 20, seed: 7 },
        providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
      },
    });
    const post = (path: string, body?: unknown) =>
      json(
        fetch(`${demo.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
      );
    expect(
      await post('/api/calls', { provider: 'twilio', to: 'nope', requestId: 'r1' }),
    ).toMatchObject({
      status: 400,
    });
    expect(
      await post('/api/calls', { provider: 'fax', to: customer, requestId: 'r2' }),
    ).toMatchObject({ status: 400 });
    // CallerDesk rings an agent first: without agentNumber the request is refused.
    expect(
      await post('/api/calls', { provider: 'callerdesk', to: customer, requestId: 'r4' }),
    ).toMatchObject({ status: 400 });
    expect(await post('/api/calls/CA-unknown/terminate')).toMatchObject({ status: 404 });
    const placed = await post('/api/calls', { provider: 'retell', to: customer, requestId: 'r3' });
    expect(placed).toMatchObject({ status: 202, body: { call: { provider: 'retell' } } });
    const callId = placed.body.call.callId as string;
    await expect
      .poll(async () => (await demo.tracker.getCall('demo', callId))?.status, { timeout: 10_000 })
      .toBe('in-progress');
    expect(await post(`/api/calls/${callId}/terminate`)).toMatchObject({ status: 202 });
    await expect
      .poll(async () => (await demo.tracker.getCall('demo', callId))?.active, { timeout: 10_000 })
      .toBe(false);
    // A repeated hang-up is not an error.
    expect(await post(`/api/calls/${callId}/terminate`)).toMatchObject({ status: 200 });
  });

  it('delivers signed webhooks to its own receiver, and lists the attempts', async () => {
    const demo = await startDemoApp({ webhooks: { failEvery: 2 } });
    const { body } = await json(fetch(`${demo.url}/api/webhooks`));
    expect(body.endpoints).toHaveLength(1);
    const endpoint = body.endpoints[0];
    expect(endpoint.url).toBe(`${demo.url}/demo-receiver`);
    expect(JSON.stringify(body)).not.toMatch(/whsec_/);

    await endedTwilioCall(demo.url, `CA${'e'.repeat(32)}`, false);
    // call.answered and call.ended: the second delivery is answered 503 on purpose.
    await expect
      .poll(
        async () =>
          (await json(fetch(`${demo.url}/api/webhooks/${endpoint.id}/logs`))).body.attempts.length,
      )
      .toBe(2);
    const logs = (await json(fetch(`${demo.url}/api/webhooks/${endpoint.id}/logs`))).body.attempts;
    expect(logs.map((attempt: { statusCode: number }) => attempt.statusCode).sort()).toEqual([
      200, 503,
    ]);
    expect(demo.webhooks?.received).toMatchObject({ verified: 1, failedOnPurpose: 1, refused: 0 });

    // The receiver checks signatures: an unsigned or forged delivery is refused.
    const forged = await fetch(`${demo.url}/demo-receiver`, {
      method: 'POST',
      headers: {
        'webhook-id': 'msg_x',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': 'v1,AAAA',
      },
      body: '{}',
    });
    expect(forged.status).toBe(401);

    // Bad input to the management API is a 400 naming the problem.
    const bad = await json(
      fetch(`${demo.url}/api/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'not a url', events: ['call.*'] }),
      }),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/url/i);
  });
});

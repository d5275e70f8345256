import type { BusMessage } from '@calltrack/bus';
import { createSimulator, demoLines } from '@calltrack/simulator';
import { io as connectSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { endedCall, openEventStream } from './__tests__/open-event-stream';
import {
  postCallerDeskRinging,
  postRetellCallStarted,
  postTwilio,
  twilioStatus,
} from './__tests__/signed-webhooks';
import { startDemoApp, stopDemoApps } from './__tests__/start-demo-app';

const lineOf = (provider: string, branchId: string) =>
  demoLines.find((line) => line.provider === provider && line.branchId === branchId)!;
const twilioNorth = lineOf('twilio', 'north').number;
const unknownNumber = '+15005550199';

async function json(response: Response | Promise<Response>) {
  const answer = await response;
  return { status: answer.status, body: await answer.json() };
}

/** The next message of a bus subscription (the bus keeps per-tenant order). */
async function nextMessage(subscription: AsyncIterator<BusMessage>): Promise<BusMessage> {
  const result = await subscription.next();
  if (result.done) throw new Error('the subscription ended');
  return result.value;
}

afterEach(stopDemoApps);

describe('the Express example over HTTP', () => {
  it('tracks signed simulated calls of all three providers on the read API and the SSE stream', async () => {
    const demo = await startDemoApp();
    const stream = openEventStream(demo.url);
    await stream.until((messages) => messages.some((message) => message.type === 'snapshot'));

    const simulator = createSimulator({
      target: demo.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 11,
    });
    const calls = await Promise.all(
      (['twilio', 'retell', 'callerdesk'] as const).map((provider) =>
        simulator.runCall({ provider, outcome: 'completed' }),
      ),
    );

    for (const call of calls) {
      await stream.until(endedCall(call.callId));
      const events = stream.eventsOf(call.callId);
      const answered = events.find((event) => event.type === 'call.answered');
      expect(answered?.data.call).toMatchObject({ status: 'in-progress', active: true });
      const ended = events.find((event) => event.type === 'call.ended');
      expect(ended).toMatchObject({ tenantId: 'demo', branchId: call.line.branchId });
      expect(ended.data.call).toMatchObject({ status: 'completed', active: false });

      const { status, body } = await json(
        fetch(`${demo.url}/api/calls/active/${encodeURIComponent(call.callId)}`),
      );
      expect(status).toBe(200);
      expect(body.call).toMatchObject({
        tenantId: 'demo',
        branchId: call.line.branchId,
        provider: call.provider,
        status: 'completed',
        active: false,
      });
    }
    expect((await json(fetch(`${demo.url}/api/calls/active/count`))).body).toEqual({
      total: 0,
      byBranch: {},
    });
    stream.close();
  });

  it('lists a call as active with its branch until it ends', async () => {
    const demo = await startDemoApp();
    const stream = openEventStream(demo.url);
    const callSid = `CA${'a'.repeat(32)}`;
    const send = (status: Parameters<typeof twilioStatus>[0]['status'], sequence: number) =>
      json(postTwilio(demo.url, twilioStatus({ callSid, status, sequence, line: twilioNorth })));

    expect((await send('initiated', 0)).status).toBe(200);
    expect((await send('ringing', 1)).status).toBe(200);
    expect((await send('in-progress', 2)).status).toBe(200);

    const active = await json(fetch(`${demo.url}/api/calls/active`));
    expect(active.body.calls).toEqual([
      expect.objectContaining({ callId: callSid, status: 'in-progress', branchId: 'north' }),
    ]);
    expect((await json(fetch(`${demo.url}/api/calls/active/count`))).body).toEqual({
      total: 1,
      byBranch: { north: 1 },
    });

    expect((await send('completed', 3)).status).toBe(200);
    expect((await json(fetch(`${demo.url}/api/calls/active`))).body.calls).toEqual([]);

    // Twilio's recording callback has no numbers: it belongs to the tenant that tracks the call.
    const recording = (sid: string) =>
      postTwilio(demo.url, {
        AccountSid: `AC${'0'.repeat(32)}`,
        CallSid: sid,
        RecordingSid: `RE${'1'.repeat(32)}`,
        RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1',
        RecordingStatus: 'completed',
        RecordingDuration: '12',
      });
    expect((await recording(callSid)).status).toBe(200);
    expect((await recording(`CA${'9'.repeat(32)}`)).status).toBe(422);

    await stream.until((messages) =>
      messages.some((message) => message.data?.type === 'call.recording'),
    );
    expect(stream.eventsOf(callSid).map((event) => event.type)).toEqual([
      'call.initiated',
      'call.ringing',
      'call.answered',
      'call.ended',
      'call.recording',
    ]);
    expect(stream.eventsOf(callSid).at(-1)).toMatchObject({ tenantId: 'demo', branchId: 'north' });
    stream.close();
  });

  it('answers 401 without a signature or token, 403 with a wrong one, and publishes nothing', async () => {
    const demo = await startDemoApp();
    const subscription = demo.bus.subscribe({ allTenants: true });
    await subscription.ready;
    const params = twilioStatus({
      callSid: `CA${'b'.repeat(32)}`,
      status: 'ringing',
      sequence: 1,
      line: twilioNorth,
    });
    const retell = { callId: 'retell_bad_signature', line: lineOf('retell', 'south').number };
    const callerDesk = { callId: '1714625130.111', line: '08041234567' };

    expect((await postTwilio(demo.url, params, 'none')).status).toBe(401);
    expect((await postTwilio(demo.url, params, 'wrong')).status).toBe(403);
    expect((await postRetellCallStarted(demo.url, { ...retell, signature: 'none' })).status).toBe(
      401,
    );
    expect((await postRetellCallStarted(demo.url, { ...retell, signature: 'wrong' })).status).toBe(
      403,
    );
    expect((await postCallerDeskRinging(demo.url, { ...callerDesk, token: null })).status).toBe(
      401,
    );
    expect(
      (await postCallerDeskRinging(demo.url, { ...callerDesk, token: 'wrong-token-0123456789' }))
        .status,
    ).toBe(403);

    // The bus keeps order: if any refused webhook had been published, it would come first.
    const sentinel = twilioStatus({
      callSid: `CA${'c'.repeat(32)}`,
      status: 'initiated',
      sequence: 0,
      line: twilioNorth,
    });
    expect((await postTwilio(demo.url, sentinel)).status).toBe(200);
    const first = await nextMessage(subscription);
    expect(first.type === 'event' && first.event.callId).toBe(sentinel.CallSid);
    expect((await json(fetch(`${demo.url}/api/calls/active`))).body.calls).toHaveLength(1);
    await subscription.close();
  });

  it('answers 422 for a number that belongs to no tenant, and publishes nothing', async () => {
    const demo = await startDemoApp();
    const subscription = demo.bus.subscribe({ allTenants: true });
    await subscription.ready;

    const twilio = await json(
      postTwilio(
        demo.url,
        twilioStatus({
          callSid: `CA${'d'.repeat(32)}`,
          status: 'ringing',
          sequence: 1,
          line: unknownNumber,
        }),
      ),
    );
    expect(twilio).toMatchObject({ status: 422, body: { error: { code: 'unknown_tenant' } } });
    const retell = await postRetellCallStarted(demo.url, {
      callId: 'retell_unknown',
      line: unknownNumber,
    });
    expect(retell.status).toBe(422);
    const callerDesk = await postCallerDeskRinging(demo.url, {
      callId: '1714625130.222',
      line: '08049999999',
    });
    expect(callerDesk.status).toBe(422);

    const sentinel = twilioStatus({
      callSid: `CA${'e'.repeat(32)}`,
      status: 'initiated',
      sequence: 0,
      line: twilioNorth,
    });
    expect((await postTwilio(demo.url, sentinel)).status).toBe(200);
    const first = await nextMessage(subscription);
    expect(first.type === 'event' && first.event.callId).toBe(sentinel.CallSid);
    await subscription.close();
  });

  it('streams the snapshot and live calls over Socket.IO', async () => {
    const demo = await startDemoApp();
    const callSid = `CA${'f'.repeat(32)}`;
    await postTwilio(
      demo.url,
      twilioStatus({ callSid, status: 'ringing', sequence: 1, line: twilioNorth }),
    );

    const socket = connectSocket(demo.url, { transports: ['websocket'], reconnection: false });
    const snapshot = new Promise<{ calls: { callId: string }[] }>((resolve) =>
      socket.once('active_calls', resolve),
    );
    const ended = new Promise<{ cursor: string; event: { status: string } }>((resolve) =>
      socket.on('call:completed', resolve),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const ack = await socket.emitWithAck('subscribe_to_calls', {});
    expect(ack).toEqual({ ok: true });
    expect((await snapshot).calls.map((call) => call.callId)).toEqual([callSid]);

    await postTwilio(
      demo.url,
      twilioStatus({ callSid, status: 'completed', sequence: 3, line: twilioNorth, duration: 42 }),
    );
    expect((await ended).event).toMatchObject({ callId: callSid, status: 'completed' });
    socket.disconnect();
  });

  it('serves the dashboard, its config and the Socket.IO client', async () => {
    const demo = await startDemoApp();
    const page = await fetch(demo.url);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('data-testid="active-calls"');
    expect((await json(fetch(`${demo.url}/demo.json`))).body).toEqual({
      tenantId: 'demo',
      branches: ['north', 'south', 'bengaluru'],
      lines: demoLines.map(({ provider, number, branchId }) => ({ provider, number, branchId })),
      // No call control given: the console hides its buttons, and the routes are not there.
      callControl: false,
      webhooks: true,
      dialer: false, // nor the leads page's dialer
    });
    expect((await fetch(`${demo.url}/api/dialer/leads`)).status).toBe(404);
    expect((await fetch(`${demo.url}/api/calls`, { method: 'POST', body: '{}' })).status).toBe(404);
    const chart = await fetch(`${demo.url}/vendor/chart.js/chart.umd.min.js`);
    expect(chart.status).toBe(200);
    expect(await chart.text()).toContain('Chart.js v4');
    const client = await fetch(`${demo.url}/socket.io/socket.io.js`);
    expect(client.status).toBe(200);
    await client.arrayBuffer();
  });
});

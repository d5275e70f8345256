import { createServer, type Server } from 'node:net';
import { demoCredentials, demoLines } from '@calltrack/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  postCallerDeskReport,
  postRetellCallEnded,
  postTwilio,
  twilioStatus,
} from './__tests__/signed-webhooks';
import { startDemoApp, stopDemoApps } from './__tests__/start-demo-app';
import { createProviderRecordingFetcher } from './fetch-provider-recording';

const servers: Server[] = [];
afterEach(async () => {
  await stopDemoApps();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A loopback TCP server that counts the connections it gets (a recording fetch would be one). */
async function startCountingServer(): Promise<{ host: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { host: `127.0.0.1:${port}`, connections: () => connections };
}

const lineOf = (provider: string) =>
  demoLines.find((line) => line.provider === provider && line.tenantId === 'demo')!.number;

async function recordTwilioCall(baseUrl: string, callSid: string, recordingUrl: string) {
  const line = lineOf('twilio');
  for (const [sequence, status] of (['in-progress', 'completed'] as const).entries()) {
    const answer = await postTwilio(baseUrl, twilioStatus({ callSid, status, sequence, line }));
    expect(answer.status).toBe(200);
  }
  const answer = await postTwilio(baseUrl, {
    AccountSid: `AC${'0'.repeat(32)}`,
    CallSid: callSid,
    RecordingSid: `RE${'2'.repeat(32)}`,
    RecordingUrl: recordingUrl,
    RecordingStatus: 'completed',
    RecordingDuration: '12',
  });
  expect(answer.status).toBe(200);
}

const fetcherOptions = {
  twilio: { accountSid: `AC${'0'.repeat(32)}`, authToken: demoCredentials.twilioAuthToken },
};

describe('recordings fetched from the providers', () => {
  it("fetches a recording only from its provider's hosts: others are refused 403, never fetched", async () => {
    const target = await startCountingServer();
    const demo = await startDemoApp({
      fetchRecording: createProviderRecordingFetcher(fetcherOptions),
    });
    // The URL comes from the webhook: without the check, the app fetched any https host.
    const retellCall = 'call_elsewhere';
    expect(
      (
        await postRetellCallEnded(demo.url, {
          callId: retellCall,
          line: lineOf('retell'),
          recordingUrl: `https://${target.host}/recording.wav`,
        })
      ).ok,
    ).toBe(true);
    const callerDeskCall = '1672649960.9601';
    expect(
      (
        await postCallerDeskReport(demo.url, {
          callId: callerDeskCall,
          line: lineOf('callerdesk'),
          recordingUrl: `https://${target.host}/incoming/x.mp3`,
        })
      ).ok,
    ).toBe(true);
    const twilioCall = `CA${'7'.repeat(32)}`;
    await recordTwilioCall(demo.url, twilioCall, `https://${target.host}/Recordings/RE1`);
    // Another provider's host is not this provider's: a Retell call does not get Twilio's
    // credentials sent with it.
    const retellOnTwilio = 'call_on_twilio';
    await postRetellCallEnded(demo.url, {
      callId: retellOnTwilio,
      line: lineOf('retell'),
      recordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1',
    });

    for (const callId of [retellCall, callerDeskCall, twilioCall, retellOnTwilio]) {
      await expect
        .poll(async () => (await demo.tracker.getCall('demo', callId))?.recordingUrl)
        .toBeDefined();
      const answer = await fetch(`${demo.url}/api/calls/${callId}/recording`);
      expect(answer.status, callId).toBe(403);
      const body = await answer.json();
      expect(body).toMatchObject({ error: { code: 'recording_host_not_allowed' } });
      expect(body.error.message).toMatch(/RECORDING_HOSTS/);
    }
    expect(target.connections()).toBe(0);
  });

  it('fetches from a host the operator adds (RECORDING_HOSTS), for self-hosted storage', async () => {
    const target = await startCountingServer();
    const demo = await startDemoApp({
      fetchRecording: createProviderRecordingFetcher(fetcherOptions, { hosts: [target.host] }),
    });
    await postRetellCallEnded(demo.url, {
      callId: 'call_self_hosted',
      line: lineOf('retell'),
      recordingUrl: `https://${target.host}/recording.wav`,
    });
    await expect
      .poll(async () => (await demo.tracker.getCall('demo', 'call_self_hosted'))?.recordingUrl)
      .toBeDefined();
    // Fetched (the counting server is no TLS server, so no audio comes back: 502).
    const answer = await fetch(`${demo.url}/api/calls/call_self_hosted/recording`);
    expect(answer.status).toBe(502);
    expect(target.connections()).toBe(1);
  });
});

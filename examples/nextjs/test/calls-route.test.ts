import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { getCallTrackServer } from '../server/calltrack-server';
import { serveRecording } from '../server/recording-handler';
import { isRecordingUrlAllowed, readRecordingHosts } from '../server/recording-hosts';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

/** Records a call of `provider` whose recording is at `recordingUrl`. */
async function callWithRecording(provider: string, callId: string, recordingUrl: string) {
  const at = new Date().toISOString();
  await getCallTrackServer().tracker.ingest({
    id: `${provider}:${callId}:recording`,
    type: 'call.recording',
    tenantId: 'demo',
    provider,
    callId,
    status: 'completed',
    occurredAt: at,
    receivedAt: at,
    data: { recordingUrl },
  });
}

describe('recordings through the app', () => {
  it('fetches only from the call provider’s hosts: a webhook’s URL elsewhere is refused 403 and never requested', async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    process.env.TWILIO_ACCOUNT_SID = 'AC00000000000000000000000000000000';
    try {
      const cases = [
        ['retell', 'call-r1', `https://127.0.0.1:${port}/a.wav`],
        ['callerdesk', 'call-c1', `https://localhost:${port}/a.wav`],
        // Twilio's host, but the call is Retell's: the account's credentials stay home.
        ['retell', 'call-r2', 'https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1'],
        ['twilio', 'CA1', `http://api.twilio.com:${port}/x`],
      ] as const;
      for (const [provider, callId, url] of cases) {
        await callWithRecording(provider, callId, url);
        const answer = await serveRecording('demo', callId);
        expect(answer.status, url).toBe(403);
        expect(((await answer.json()) as { error: { code: string } }).error.code).toBe(
          'recording_host_not_allowed',
        );
      }
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('reads the provider hosts and RECORDING_HOSTS', () => {
    const url = (text: string) => new URL(text);
    expect(isRecordingUrlAllowed('twilio', url('https://api.twilio.com/x'))).toBe(true);
    expect(isRecordingUrlAllowed('twilio', url('http://api.twilio.com/x'))).toBe(false);
    expect(isRecordingUrlAllowed('callerdesk', url('https://callrecords.callerdesk.io/a'))).toBe(
      true,
    );
    expect(isRecordingUrlAllowed('callerdesk', url('https://api.twilio.com/x'))).toBe(false);
    const extra = readRecordingHosts(' Storage.example:8443, ,cdn.example ');
    expect(extra).toEqual(['storage.example:8443', 'cdn.example']);
    expect(isRecordingUrlAllowed('retell', url('https://storage.example:8443/a'), extra)).toBe(
      true,
    );
    expect(isRecordingUrlAllowed('retell', url('https://storage.example/a'), extra)).toBe(false);
  });
});

describe('the calls route', () => {
  it('refuses a write from a page of another origin, and takes one from its own', async () => {
    const { POST } = await import('../app/api/calls/[[...path]]/route');
    const terminate = (origin?: string) =>
      POST(
        new Request('http://localhost:3000/api/calls/CA-none/terminate', {
          method: 'POST',
          headers: { host: 'localhost:3000', ...(origin === undefined ? {} : { origin }) },
        }),
      );
    const foreign = await terminate('https://evil.example');
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe(
      'origin_not_allowed',
    );
    // The app's own page, and a script without Origin, reach the tracker (an unknown call: 404).
    expect((await terminate('http://localhost:3000')).status).toBe(404);
    expect((await terminate()).status).toBe(404);
    // A no-cors fetch of another origin's page sends no Origin; its Sec-Fetch-Site says so.
    for (const site of ['same-site', 'cross-site']) {
      const unnamed = await POST(
        new Request('http://localhost:3000/api/calls/CA-none/terminate', {
          method: 'POST',
          headers: { host: 'localhost:3000', 'sec-fetch-site': site },
        }),
      );
      expect(unnamed.status, site).toBe(403);
    }
  });
});

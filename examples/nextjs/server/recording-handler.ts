import { synthesizeRecording } from '@calltrack/simulator';
import { getCallTrackServer } from './calltrack-server';
import { isRecordingUrlAllowed, readRecordingHosts } from './recording-hosts';

const audioTypes = /^audio\/[a-z0-9.+-]+$/i;
const json = (status: number, code: string, message: string) =>
  Response.json({ error: { code, message } }, { status });

/**
 * `GET /api/calls/:callId/recording`: the call's recording, through the app. The provider's URL
 * (Twilio's needs the account's Basic auth) stays on the server; the call is looked up in the
 * browser's own tenant (another tenant's is a 404, like an unknown one); only audio is passed on.
 * With the demo accounts the simulated calls' URLs hold nothing, so a stand-in is synthesized;
 * with `TWILIO_ACCOUNT_SID` set, recordings are fetched, only from their provider's hosts (https;
 * `RECORDING_HOSTS` adds hosts); a URL elsewhere is refused 403 without a request.
 */
export async function serveRecording(tenantId: string, callId: string): Promise<Response> {
  if (callId === '' || callId.length > 256) {
    return json(400, 'invalid_argument', 'The call id is missing or too long.');
  }
  const call = await getCallTrackServer().tracker.getCall(tenantId, callId);
  if (call === undefined) return json(404, 'not_found', 'No such call.');
  if (call.recordingUrl === undefined) {
    return json(404, 'not_found', 'This call has no recording (yet).');
  }
  const accountSid = process.env.TWILIO_ACCOUNT_SID;
  if (!accountSid) {
    return new Response(synthesizeRecording(call.recordingDurationMs ?? 15_000), {
      headers: { 'content-type': 'audio/wav', 'cache-control': 'private, max-age=300' },
    });
  }
  let url: URL;
  try {
    url = new URL(call.recordingUrl);
  } catch {
    return json(502, 'recording_unavailable', 'The recording URL is not a URL.');
  }
  if (!isRecordingUrlAllowed(call.provider, url, readRecordingHosts(process.env.RECORDING_HOSTS))) {
    return json(
      403,
      'recording_host_not_allowed',
      `The recording is on ${url.protocol}//${url.host}, not one of the ${call.provider} recording hosts (https only), so the app does not fetch it. RECORDING_HOSTS adds hosts.`,
    );
  }
  const headers = new Headers();
  // The account's credentials go to Twilio, for Twilio's calls only.
  if (call.provider === 'twilio' && url.host === 'api.twilio.com') {
    const token = process.env.TWILIO_AUTH_TOKEN ?? '';
    headers.set(
      'authorization',
      `Basic ${Buffer.from(`${accountSid}:${token}`).toString('base64')}`,
    );
    if (!/\.(mp3|wav)$/.test(url.pathname)) url.pathname += '.mp3';
  }
  try {
    const upstream = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
    const type = (upstream.headers.get('content-type') ?? '').split(';')[0]!.trim();
    if (!upstream.ok || !audioTypes.test(type) || upstream.body === null) {
      await upstream.body?.cancel();
      return json(502, 'recording_unavailable', 'The provider did not hand over the recording.');
    }
    return new Response(upstream.body, {
      headers: { 'content-type': type, 'cache-control': 'private, max-age=300' },
    });
  } catch {
    return json(502, 'recording_unavailable', 'The provider did not hand over the recording.');
  }
}

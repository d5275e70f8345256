/** Fetches a call's recording from its provider: a `Response` with the audio, or throws. */
export type FetchRecording = (
  recordingUrl: string,
  call: { provider: string; recordingDurationMs?: number },
) => Promise<Response>;

/** The provider accounts recordings are fetched with. */
export interface RecordingCredentials {
  /** Twilio's recordings need the account's Basic auth. */
  twilio?: { accountSid: string; authToken: string };
}

const twilioHost = 'api.twilio.com';

/**
 * Fetches recordings server-side, so the browser never sees a provider's URL or credentials:
 * Twilio's from `api.twilio.com` with the account's Basic auth (as MP3), other providers'
 * (Retell's signed storage URLs) as they are. Only `https:` URLs; a Twilio URL without Twilio
 * credentials is refused.
 */
export function createProviderRecordingFetcher(
  credentials: RecordingCredentials,
  timeoutMs = 15_000,
): FetchRecording {
  return async (recordingUrl) => {
    const url = new URL(recordingUrl);
    if (url.protocol !== 'https:') throw new Error('Only https recording URLs are fetched.');
    const headers = new Headers();
    if (url.hostname === twilioHost) {
      const twilio = credentials.twilio;
      if (twilio === undefined) throw new Error('Twilio recordings need TWILIO_ACCOUNT_SID.');
      headers.set(
        'authorization',
        `Basic ${Buffer.from(`${twilio.accountSid}:${twilio.authToken}`).toString('base64')}`,
      );
      if (!/\.(mp3|wav)$/.test(url.pathname)) url.pathname += '.mp3';
    }
    return fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  };
}

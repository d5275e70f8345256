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

/** Options of {@link createProviderRecordingFetcher}. */
export interface RecordingFetcherOptions {
  /**
   * More hosts (`host` or `host:port`) recordings may be fetched from, for every provider: storage
   * of your own, a provider's region. Default none: only {@link providerRecordingHosts}.
   */
  hosts?: readonly string[];
  /** Default 15 s. */
  timeoutMs?: number;
}

const twilioHost = 'api.twilio.com';

/**
 * Where each provider serves its recordings: Twilio from its API; Retell from its CloudFront
 * distribution (what its webhooks carry) and the S3 bucket of its API reference's examples;
 * CallerDesk from `callrecords.callerdesk.io`.
 */
export const providerRecordingHosts: Readonly<Record<string, readonly string[]>> = {
  twilio: [twilioHost],
  retell: ['dxc03zgurdly9.cloudfront.net', 'retellai.s3.us-west-2.amazonaws.com'],
  callerdesk: ['callrecords.callerdesk.io'],
};

/** A recording URL the app will not fetch: not `https:`, or not on one of its provider's hosts. */
export class RecordingHostNotAllowedError extends Error {
  override readonly name = 'RecordingHostNotAllowedError';
}

/**
 * Fetches recordings server-side, so the browser never sees a provider's URL or credentials:
 * Twilio's from `api.twilio.com` with the account's Basic auth (as MP3), other providers' (Retell's
 * signed storage URLs, CallerDesk's) as they are. The URL comes from a webhook, so only `https:`
 * URLs on the call's provider's hosts (or `options.hosts`) are fetched; anything else throws
 * {@link RecordingHostNotAllowedError} before any request is made. A Twilio URL without Twilio
 * credentials is refused.
 */
export function createProviderRecordingFetcher(
  credentials: RecordingCredentials,
  options: RecordingFetcherOptions = {},
): FetchRecording {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const extraHosts = (options.hosts ?? []).map((host) => host.toLowerCase());
  return async (recordingUrl, call) => {
    const url = new URL(recordingUrl);
    const hosts = [...(providerRecordingHosts[call.provider] ?? []), ...extraHosts];
    // `host` keeps a port other than 443: an allowed name on another port is another service.
    if (url.protocol !== 'https:' || !hosts.includes(url.host)) {
      throw new RecordingHostNotAllowedError(
        `The recording is at ${url.protocol}//${url.host}, not on ${call.provider}'s recording ` +
          'hosts (https only), so the app does not fetch it. RECORDING_HOSTS adds hosts.',
      );
    }
    const headers = new Headers();
    if (call.provider === 'twilio' && url.host === twilioHost) {
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

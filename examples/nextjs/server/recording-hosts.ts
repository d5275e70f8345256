/**
 * Where each provider serves its recordings: Twilio from its API; Retell from its CloudFront
 * distribution (what its webhooks carry) and the S3 bucket of its API reference's examples;
 * CallerDesk from `callrecords.callerdesk.io`. The URL comes from a webhook, so the app fetches
 * only from these (and the operator's `RECORDING_HOSTS`): anything else would be a request from
 * the server to wherever a payload says. The Express example keeps the same list.
 */
const providerRecordingHosts: Readonly<Record<string, readonly string[]>> = {
  twilio: ['api.twilio.com'],
  retell: ['dxc03zgurdly9.cloudfront.net', 'retellai.s3.us-west-2.amazonaws.com'],
  callerdesk: ['callrecords.callerdesk.io'],
};

/**
 * Whether a recording URL of a call of `provider` may be fetched: `https:`, on one of the
 * provider's hosts or one of `extraHosts` (`host` or `host:port`, as in `RECORDING_HOSTS`).
 */
export function isRecordingUrlAllowed(
  provider: string,
  url: URL,
  extraHosts: readonly string[] = [],
): boolean {
  if (url.protocol !== 'https:') return false;
  const hosts = [...(providerRecordingHosts[provider] ?? []), ...extraHosts];
  return hosts.some((host) => host.toLowerCase() === url.host);
}

/** `RECORDING_HOSTS`: a comma-separated list of `host` or `host:port`. */
export function readRecordingHosts(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '');
}

/**
 * The secrets the simulator signs with unless told otherwise. Configure the same values in the
 * app that receives the webhooks (the examples do), or pass your own with
 * `createSimulator({ credentials })` / the CLI's flags and environment variables. The last two
 * are what the provider API (`createProviderApi`) checks clients against.
 */
export const demoCredentials = Object.freeze({
  /** Twilio Auth Token: the key of `X-Twilio-Signature` (HMAC-SHA1). */
  twilioAuthToken: 'demo-twilio-auth-token',
  /** Retell API key: the key of `x-retell-signature` (HMAC-SHA256). */
  retellApiKey: 'demo-retell-api-key',
  /** CallerDesk webhook token, sent as `?token=` (CallerDesk signs nothing; at least 16 characters). */
  callerDeskToken: 'demo-callerdesk-token-0123',
  /** Twilio account SID the provider API (`createProviderApi`) expects, with `twilioAuthToken`. */
  twilioAccountSid: 'ACde000000000000000000000000000001',
  /** CallerDesk API `authcode` the provider API expects (the webhook token is another secret). */
  callerDeskAuthCode: 'demo-callerdesk-auth-code',
} as const);

/** The secrets of each provider, as in {@link demoCredentials}. */
export interface SimulatorCredentials {
  /** Twilio Auth Token. */
  twilioAuthToken: string;
  /** Retell API key (the one with the "webhook" badge). */
  retellApiKey: string;
  /** CallerDesk webhook token. */
  callerDeskToken: string;
}

import { createHmac } from 'node:crypto';
import { serializeTwilioParams } from './serialize-twilio-params';
import type { TwilioParams } from './twilio-params';

/** Options of {@link computeTwilioSignature}. */
export interface ComputeTwilioSignatureOptions {
  /** The Auth Token of the Twilio account (or subaccount) that sends the webhook. */
  authToken: string;
  /** The full URL Twilio requests, exactly as configured: scheme, host, port, path and query. */
  url: string;
  /**
   * The form-encoded body parameters. Leave out for GET requests and for JSON bodies (where the
   * URL carries `bodySHA256` and only the URL is signed).
   */
  params?: TwilioParams;
}

/**
 * Computes the `X-Twilio-Signature` Twilio sends with a webhook:
 * `base64(HMAC-SHA1(authToken, url + sorted name/value pairs))`. Useful to sign test and
 * simulator traffic; to check an incoming request use {@link verifyTwilioSignature}.
 *
 * @example
 * computeTwilioSignature({
 *   authToken: '12345',
 *   url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
 *   params: { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234',
 *             From: '+14158675309', To: '+18005551212' },
 * }); // 'RSOYDt4T1cUTdK1PDd93/VVr8B8='
 */
export function computeTwilioSignature({
  authToken,
  url,
  params,
}: ComputeTwilioSignatureOptions): string {
  return signTwilioData(authToken, url + serializeTwilioParams(params));
}

/** @internal HMAC-SHA1 of `data` keyed by `authToken`, base64. */
export function signTwilioData(authToken: string, data: string): string {
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

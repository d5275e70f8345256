import { InvalidArgumentError } from '@calltrack/core';
import { computeRetellDigest, type RetellWebhookBody } from './compute-retell-digest';

/** Options of {@link signRetellWebhook}. */
export interface SignRetellWebhookOptions {
  /** The Retell API key (the one with the "webhook" badge). */
  apiKey: string;
  /** The exact body that will be sent. */
  body: RetellWebhookBody;
  /** Signing time in milliseconds since the epoch; defaults to now. */
  timestamp?: number;
}

/**
 * Produces an `x-retell-signature` header value, `v=<timestamp ms>,d=<hex HMAC-SHA256>`, exactly
 * as Retell signs its webhooks. For tests, simulators and replaying captured traffic.
 *
 * @example
 * signRetellWebhook({ apiKey: 'test-api-key', body: '{"event":"call_ended"}', timestamp: 1700000000000 })
 * // 'v=1700000000000,d=07024cabe7dd8f6d1c6e4a8324ca92c812e6ad4a7ee506c04f7e462e3321823e'
 */
export function signRetellWebhook({
  apiKey,
  body,
  timestamp = Date.now(),
}: SignRetellWebhookOptions): string {
  if (typeof apiKey !== 'string' || apiKey === '') {
    throw new InvalidArgumentError({
      message: 'signRetellWebhook: apiKey must be a non-empty string.',
    });
  }
  if (!(typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer)) {
    throw new InvalidArgumentError({
      message: 'signRetellWebhook: body must be a string, a Uint8Array or an ArrayBuffer.',
    });
  }
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new InvalidArgumentError({
      message: 'signRetellWebhook: timestamp must be a non-negative integer (milliseconds).',
    });
  }
  return `v=${timestamp},d=${computeRetellDigest(apiKey, body, timestamp)}`;
}

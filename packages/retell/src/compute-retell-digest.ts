import { createHmac } from 'node:crypto';

/** A webhook body: the raw bytes, or their UTF-8 text. */
export type RetellWebhookBody = string | Uint8Array | ArrayBuffer;

/**
 * The hex HMAC-SHA256 Retell puts after `d=`: keyed with the API key, over the raw body bytes
 * followed by the decimal timestamp (no separator).
 * @internal
 */
export function computeRetellDigest(apiKey: string, body: RetellWebhookBody, timestamp: number) {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : new Uint8Array(body);
  return createHmac('sha256', apiKey).update(bytes).update(String(timestamp)).digest('hex');
}

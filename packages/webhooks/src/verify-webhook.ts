import { createHmac } from 'node:crypto';
import {
  InvalidPayloadError,
  InvalidSignatureError,
  MissingSignatureError,
  timingSafeEqual,
} from '@calltrack/core';
import { decodeWebhookSecret } from './webhook-secret';

/** The headers {@link verifyWebhook} reads: a `Headers`, or Node's `request.headers`. */
export type WebhookHeaders = Headers | Record<string, string | readonly string[] | undefined>;

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /** The endpoint's `whsec_` secret; several while you rotate it on your side. */
  secret: string | readonly string[];
  /** The request headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`). */
  headers: WebhookHeaders;
  /**
   * The raw body, exactly as received (before any JSON parsing): the bytes are best, as the
   * signature covers them as they are; a string is taken as its UTF-8 bytes.
   */
  body: string | Uint8Array;
  /**
   * How far `webhook-timestamp` may be from now, either way. Default 300 s (the spec's 5 minutes).
   * Anything but a number of 0 or more (NaN, a string) refuses every delivery.
   */
  toleranceSeconds?: number;
  /** Now, in milliseconds since the epoch. Default `Date.now()`. */
  now?: number;
}

// As the official library decodes a byte body for JSON.parse: a leading BOM dropped, invalid
// UTF-8 replaced. Only the parse reads it; the signature covers the bytes as they came.
const utf8 = new TextDecoder();

/**
 * Verifies a Standard Webhooks delivery, as a receiver of calltrack's webhooks (or any Standard
 * Webhooks sender) does, and returns the parsed JSON body. Checks the three headers are there, that
 * the timestamp is within the tolerance, and that one `v1` signature in the header matches one of
 * the secrets (constant-time). Dedupe on `webhook-id` yourself: it stays the same on every retry.
 *
 * Throws `MissingSignatureError` (401) for a missing header, `InvalidSignatureError` (403) for a bad
 * timestamp or signature (or a `toleranceSeconds` or `now` that is not a number: it fails closed),
 * `InvalidPayloadError` (400) when a correctly signed body is not JSON.
 */
export function verifyWebhook<T = unknown>(options: VerifyWebhookOptions): T {
  const id = readHeader(options.headers, 'webhook-id');
  const timestampText = readHeader(options.headers, 'webhook-timestamp');
  const signatureHeader = readHeader(options.headers, 'webhook-signature');
  if (!id || !timestampText || !signatureHeader) {
    throw new MissingSignatureError({
      message: 'Missing webhook-id, webhook-timestamp or webhook-signature header.',
    });
  }
  const timestamp = /^\d{1,15}$/.test(timestampText) ? Number(timestampText) : Number.NaN;
  if (!Number.isFinite(timestamp)) {
    throw new InvalidSignatureError({
      message: 'webhook-timestamp is not a Unix time in seconds.',
    });
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.now ?? Date.now();
  // Fails closed: with NaN every comparison below is false, and `now + '300'` is text, so a
  // mistyped or missing setting would let a captured delivery be replayed at any time.
  if (typeof tolerance !== 'number' || !(tolerance >= 0)) {
    throw new InvalidSignatureError({
      message: 'toleranceSeconds must be a number of seconds, 0 or more.',
    });
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw new InvalidSignatureError({ message: 'now must be a time in milliseconds.' });
  }
  const nowSeconds = Math.floor(now / 1000);
  if (timestamp < nowSeconds - tolerance) {
    throw new InvalidSignatureError({ message: 'The webhook timestamp is too old.' });
  }
  if (timestamp > nowSeconds + tolerance) {
    throw new InvalidSignatureError({ message: 'The webhook timestamp is too new.' });
  }
  const signedPrefix = `${id}.${timestampText}.`;
  const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret;
  const expected: string[] = [];
  for (const secret of secrets) {
    const key = decodeWebhookSecret(secret);
    if (key) {
      // The body's own bytes (a string as UTF-8): decoding first would drop a BOM and replace
      // invalid UTF-8, and the HMAC would no longer be the sender's.
      const hmac = createHmac('sha256', key).update(signedPrefix).update(options.body);
      expected.push(hmac.digest('base64'));
    }
  }
  if (expected.length === 0) {
    throw new InvalidSignatureError({ message: 'No usable secret to verify the webhook with.' });
  }
  let matched = false;
  for (const entry of signatureHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const signature = entry.slice(comma + 1);
    for (const candidate of expected) {
      if (timingSafeEqual(signature, candidate)) matched = true;
    }
  }
  if (!matched) {
    throw new InvalidSignatureError({ message: 'No webhook signature matches.' });
  }
  if (options.body.length === 0) return undefined as T;
  const body = typeof options.body === 'string' ? options.body : utf8.decode(options.body);
  try {
    return JSON.parse(body) as T;
  } catch (error) {
    throw new InvalidPayloadError({ message: 'The webhook body is not JSON.', cause: error });
  }
}

function readHeader(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') {
    return (headers as Headers).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | readonly string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    for (const key of Object.keys(record)) {
      if (key.toLowerCase() === name) {
        value = record[key];
        break;
      }
    }
  }
  return typeof value === 'string' ? value : value?.[0];
}

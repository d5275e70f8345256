import { timingSafeEqual } from 'node:crypto';
import { computeRetellDigest, type RetellWebhookBody } from './compute-retell-digest';

/** How far the signing time may be from now, either way: 5 minutes. */
const defaultToleranceMs = 5 * 60 * 1000;

const signaturePattern = /^v=(\d{1,16}),d=([0-9a-f]{64})$/i;

/** Options of {@link verifyRetellSignature}. */
export interface VerifyRetellSignatureOptions {
  /** The Retell API key with the "webhook" badge; other keys never verify. */
  apiKey: string;
  /**
   * The raw request body, byte for byte as received. A parsed and re-serialized body
   * (`JSON.stringify(req.body)`) does not verify: key order, spacing and non-ASCII escapes differ.
   */
  body: RetellWebhookBody;
  /** The `x-retell-signature` header value, `v=<timestamp ms>,d=<hex digest>`. */
  signature: string | null | undefined;
  /** The current time (milliseconds since the epoch, or a Date); defaults to `Date.now()`. */
  now?: number | Date;
  /** Largest accepted distance between `now` and the signing time, in ms; default 300000 (5 min). */
  toleranceMs?: number;
}

/**
 * Verifies Retell's `x-retell-signature` header: `v=<timestamp ms>,d=<hex>` where the hex is
 * HMAC-SHA256 keyed with the API key over the raw body bytes followed by the decimal timestamp.
 * The timestamp must be within 5 minutes of `now` in either direction, and the digest is compared
 * in constant time.
 *
 * Returns `false` for anything that does not verify, including a missing or malformed header, a
 * malformed key or body, or an expired timestamp; it never throws.
 */
export function verifyRetellSignature(options: VerifyRetellSignatureOptions): boolean {
  try {
    const { apiKey, body, signature } = options;
    if (typeof apiKey !== 'string' || apiKey === '' || typeof signature !== 'string') return false;
    if (!(typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer)) {
      return false;
    }
    const match = signaturePattern.exec(signature);
    if (match === null) return false;
    const timestamp = Number(match[1]);
    const now = options.now === undefined ? Date.now() : Number(options.now);
    const tolerance = options.toleranceMs ?? defaultToleranceMs;
    if (!Number.isFinite(now) || !(tolerance >= 0)) return false;
    if (Math.abs(now - timestamp) > tolerance) return false;
    const expected = Buffer.from(computeRetellDigest(apiKey, body, timestamp), 'hex');
    const provided = Buffer.from(match[2]!, 'hex');
    return provided.length === expected.length && timingSafeEqual(provided, expected);
  } catch {
    return false;
  }
}

import { createHash } from 'node:crypto';

/**
 * The lowercase hex SHA-256 of a raw request body: the value Twilio puts in the `bodySHA256`
 * query parameter when it sends a JSON body (the signature then covers only the URL).
 *
 * @example computeTwilioBodySha256('{}') // '44136fa3…caaff8a'
 */
export function computeTwilioBodySha256(body: string | Uint8Array): string {
  const hash = createHash('sha256');
  if (typeof body === 'string') hash.update(body, 'utf8');
  else hash.update(body);
  return hash.digest('hex');
}

import { timingSafeEqual } from '@calltrack/core';
import { computeTwilioBodySha256 } from './compute-twilio-body-sha256';
import { signTwilioData } from './compute-twilio-signature';
import { serializeTwilioParams } from './serialize-twilio-params';
import type { TwilioParams } from './twilio-params';
import { twilioUrlVariants } from './twilio-url-variants';

/** Options of {@link verifyTwilioSignature}. */
export interface VerifyTwilioSignatureOptions {
  /** The Auth Token of the Twilio account (or subaccount) that sent the webhook. */
  authToken: string;
  /**
   * The full URL Twilio requested (scheme, host, port, path, query), as received. Behind a proxy
   * this is the public URL, not the one your server sees. Port and query-encoding variants are
   * tried automatically.
   */
  url: string | URL;
  /** The value of the `X-Twilio-Signature` header. */
  signature: string | null | undefined;
  /**
   * The form parameters of the body, every value of a repeated key included. Takes precedence
   * over `body` for form requests.
   */
  params?: TwilioParams;
  /**
   * The raw request body. When the URL carries a `bodySHA256` query parameter (Twilio's JSON
   * variant) it is hashed and compared with it, and the signature covers only the URL. Otherwise,
   * without `params`, it is parsed as an `application/x-www-form-urlencoded` body.
   */
  body?: string | Uint8Array;
}

/**
 * Checks an `X-Twilio-Signature` header the way Twilio computes it: HMAC-SHA1 with the Auth
 * Token over the full URL followed by the sorted form parameters (twilio-node semantics, repeated
 * keys included), or, for JSON bodies, over the URL carrying `bodySHA256` plus a SHA-256 check of
 * the raw body. The URL is tried as received first, then with and without the default port and
 * with the query encodings Twilio is known to sign. Compares in constant time.
 *
 * Returns `false`, never throws, for any malformed input (missing or non-string signature, empty
 * token, unparsable URL, wrong body hash).
 *
 * @example
 * const valid = verifyTwilioSignature({
 *   authToken: process.env.TWILIO_AUTH_TOKEN!,
 *   url: 'https://example.com/webhooks/twilio',
 *   params: new URLSearchParams(rawBody),
 *   signature: request.headers.get('x-twilio-signature'),
 * });
 */
export function verifyTwilioSignature(options: VerifyTwilioSignatureOptions): boolean {
  try {
    return verify(options);
  } catch {
    return false;
  }
}

function verify(options: VerifyTwilioSignatureOptions): boolean {
  if (options == null || typeof options !== 'object') return false;
  const { authToken, signature, params, body } = options;
  if (typeof authToken !== 'string' || authToken === '') return false;
  if (typeof signature !== 'string' || signature === '' || signature.length > 256) return false;
  const url = typeof options.url === 'string' ? options.url : options.url?.href;
  if (typeof url !== 'string' || url === '') return false;

  const bodyHash = readBodySha256(url);
  let paramData: string;
  if (bodyHash !== undefined) {
    // JSON variant: the URL is the whole signed string; the body is bound by its hash.
    if (body === undefined || body === null) return false;
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) return false;
    if (!timingSafeEqual(computeTwilioBodySha256(body), bodyHash.toLowerCase())) return false;
    paramData = '';
  } else if (params != null) {
    paramData = serializeTwilioParams(params);
  } else if (typeof body === 'string') {
    paramData = serializeTwilioParams(new URLSearchParams(body));
  } else if (body instanceof Uint8Array) {
    paramData = serializeTwilioParams(new URLSearchParams(new TextDecoder().decode(body)));
  } else {
    paramData = '';
  }

  return twilioSignatureMatches(authToken, url, paramData, signature);
}

/**
 * True when `signature` is Twilio's for `url` (or one of the spellings Twilio may have signed,
 * see `twilioUrlVariants`) followed by `paramData`, the serialized parameters
 * (`serializeTwilioParams`): the check of {@link verifyTwilioSignature} once the parameters are
 * serialized, so a handler that tries several tokens or URLs serializes them once. Compares in
 * constant time per candidate.
 * @internal
 */
export function twilioSignatureMatches(
  authToken: string,
  url: string,
  paramData: string,
  signature: string,
): boolean {
  // The URL as received, the one Twilio signed nearly always, before making the other spellings.
  if (timingSafeEqual(signTwilioData(authToken, url + paramData), signature)) return true;
  let valid = false;
  let asReceived = true;
  for (const candidate of twilioUrlVariants(url)) {
    if (asReceived) {
      asReceived = false; // checked above
      continue;
    }
    // Keep comparing in constant time per candidate; stop at the first match.
    if (timingSafeEqual(signTwilioData(authToken, candidate + paramData), signature)) {
      valid = true;
      break;
    }
  }
  return valid;
}

/**
 * The `bodySHA256` query parameter of `url`, if it has one.
 * @internal
 */
export function readBodySha256(url: string): string | undefined {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return undefined;
  const hashStart = url.indexOf('#', queryStart);
  const query = url.slice(queryStart + 1, hashStart === -1 ? undefined : hashStart);
  if (!query.includes('bodySHA256')) return undefined;
  const value = new URLSearchParams(query).get('bodySHA256');
  return value ?? undefined;
}
